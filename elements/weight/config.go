package weight

import (
	"encoding/json"
	"fmt"
	"math"
	"strconv"
	"strings"
)

// Defaults for the zero values of Config and Camera.
const (
	DefaultHeightM           = 3.0
	DefaultFOVDeg            = 90.0
	DefaultMinGoodFrames     = 5
	DefaultMinScore          = 0.5
	DefaultEdgeMarginPx      = 2.0
	DefaultTrackMemoryFrames = 15
)

// Camera says how the pen camera sees the floor. It looks straight down with its optical axis
// through the frame's centre. Give HeightM and FOVDeg (the full geometry: perspective and the
// pig's back height are corrected for), or PixelsPerMetre alone when the geometry is unknown
// (no correction at all), or PixelsPerMetre and HeightM (the scale and the height together
// fix the focal length, so corrections apply again).
type Camera struct {
	// HeightM is the lens's height above the floor in metres. Zero selects DefaultHeightM
	// unless PixelsPerMetre is set.
	HeightM float64 `yaml:"height_m" json:"height_m,omitempty"`
	// FOVDeg is the angle the frame's width spans, in degrees. Zero selects DefaultFOVDeg
	// unless PixelsPerMetre is set; it may not be given together with PixelsPerMetre.
	FOVDeg float64 `yaml:"fov_deg" json:"fov_deg,omitempty"`
	// PixelsPerMetre is the floor plane's scale in frame pixels per metre.
	PixelsPerMetre float64 `yaml:"pixels_per_metre" json:"pixels_per_metre,omitempty"`
}

// ROI is the part of the frame that belongs to the pen, in frame pixels: top-left corner,
// width and height; the zero ROI is the whole frame. Pigs whose centre lies outside it are not
// weighed, and neither are those cut by its edge. In YAML and JSON it is written [x, y, w, h]; the yaml tags also let a
// reflective decoder read the mapping form {x:, y:, w:, h:}.
type ROI struct {
	X float64 `yaml:"x" json:"x"`
	Y float64 `yaml:"y" json:"y"`
	W float64 `yaml:"w" json:"w"`
	H float64 `yaml:"h" json:"h"`
}

// Config is one pen's weighing settings, as a pipeline's weight section. Zero values select
// the defaults (WithDefaults).
type Config struct {
	// Pen names the pen in visits and check-weighs.
	Pen string `yaml:"pen" json:"pen"`
	// Camera is the camera's geometry.
	Camera Camera `yaml:"camera" json:"camera"`
	// ROI limits weighing to part of the frame; the zero ROI weighs the whole frame.
	ROI ROI `yaml:"roi" json:"roi,omitzero"`
	// MinGoodFrames is how many good frames a visit needs for a weight.
	MinGoodFrames int `yaml:"min_good_frames" json:"min_good_frames,omitempty"`
	// MinScore is the detection score below which a mask is refused (gate "score"), and the
	// score a detection needs to start a track. Zero selects DefaultMinScore.
	MinScore float64 `yaml:"min_score" json:"min_score,omitempty"`
	// EdgeMarginPx is how close (pixels) a box may come to the frame's or the ROI's edge
	// before the pig counts as cut (gate "edge"). Zero selects DefaultEdgeMarginPx.
	EdgeMarginPx float64 `yaml:"edge_margin_px" json:"edge_margin_px,omitempty"`
	// TrackMemoryFrames is how many frames in a row a track may go unseen (occluded, missed
	// by the detector) before it ends, and its visit with it. Zero selects
	// DefaultTrackMemoryFrames, about a second at 15 fps.
	TrackMemoryFrames int `yaml:"track_memory_frames" json:"track_memory_frames,omitempty"`
}

// WithDefaults returns c with every zero field set to its default. Negative or otherwise bad
// values are kept for Validate to report.
func (c Config) WithDefaults() Config {
	if c.Camera.PixelsPerMetre == 0 {
		if c.Camera.HeightM == 0 {
			c.Camera.HeightM = DefaultHeightM
		}
		if c.Camera.FOVDeg == 0 {
			c.Camera.FOVDeg = DefaultFOVDeg
		}
	}
	if c.MinGoodFrames == 0 {
		c.MinGoodFrames = DefaultMinGoodFrames
	}
	if c.MinScore == 0 {
		c.MinScore = DefaultMinScore
	}
	if c.EdgeMarginPx == 0 {
		c.EdgeMarginPx = DefaultEdgeMarginPx
	}
	if c.TrackMemoryFrames == 0 {
		c.TrackMemoryFrames = DefaultTrackMemoryFrames
	}
	return c
}

// FieldError is one problem in a Config: the field's path relative to the section
// ("camera.fov_deg") and what is wrong with it. It matches ErrInvalidConfig.
type FieldError struct {
	Field   string
	Message string
}

// Error formats the problem as "field: message".
func (e *FieldError) Error() string { return e.Field + ": " + e.Message }

// Unwrap makes every FieldError match ErrInvalidConfig.
func (e *FieldError) Unwrap() error { return ErrInvalidConfig }

// ConfigErrors is every problem Validate found, in field order.
type ConfigErrors []*FieldError

// Error lists the problems separated by "; ".
func (es ConfigErrors) Error() string {
	parts := make([]string, len(es))
	for i, e := range es {
		parts[i] = e.Error()
	}
	return strings.Join(parts, "; ")
}

// Unwrap gives the individual problems to errors.Is and errors.As.
func (es ConfigErrors) Unwrap() []error {
	out := make([]error, len(es))
	for i, e := range es {
		out[i] = e
	}
	return out
}

// Validate reports every problem in c, zero fields standing for their defaults, as a
// ConfigErrors (nil when there is none). Field paths are relative to the section, so a caller
// embedding Config prefixes its own path.
func (c Config) Validate() error {
	d := c.WithDefaults()
	var errs ConfigErrors
	bad := func(field, format string, args ...any) {
		errs = append(errs, &FieldError{Field: field, Message: fmt.Sprintf(format, args...)})
	}
	cam := d.Camera
	if cam.HeightM != 0 && !(cam.HeightM > 0 && cam.HeightM <= 20) {
		bad("camera.height_m", "%s outside (0, 20]", num(cam.HeightM))
	}
	switch {
	case cam.PixelsPerMetre != 0 && !(cam.PixelsPerMetre > 0 && cam.PixelsPerMetre <= 1e5):
		bad("camera.pixels_per_metre", "%s outside (0, 100000]", num(cam.PixelsPerMetre))
	case cam.PixelsPerMetre != 0 && cam.FOVDeg != 0:
		bad("camera.fov_deg", "given together with pixels_per_metre; give one of them")
	case cam.PixelsPerMetre == 0 && !(cam.FOVDeg > 0 && cam.FOVDeg < 170):
		bad("camera.fov_deg", "%s outside (0, 170)", num(cam.FOVDeg))
	}
	if r := d.ROI; !r.IsZero() {
		if !finite(r.X) || !finite(r.Y) || !(r.X >= 0) || !(r.Y >= 0) {
			bad("roi", "corner (%s, %s) must be finite and not negative", num(r.X), num(r.Y))
		}
		if !(r.W > 0) || !(r.H > 0) || !finite(r.W) || !finite(r.H) {
			bad("roi", "size %s×%s must be positive", num(r.W), num(r.H))
		}
	}
	if d.MinGoodFrames < 1 || d.MinGoodFrames > 100000 {
		bad("min_good_frames", "%d outside [1, 100000]", d.MinGoodFrames)
	}
	if !(d.MinScore > 0 && d.MinScore <= 1) {
		bad("min_score", "%s outside (0, 1]", num(d.MinScore))
	}
	if !(d.EdgeMarginPx >= 0 && d.EdgeMarginPx <= 1000) {
		bad("edge_margin_px", "%s outside [0, 1000]", num(d.EdgeMarginPx))
	}
	if d.TrackMemoryFrames < 1 || d.TrackMemoryFrames > 100000 {
		bad("track_memory_frames", "%d outside [1, 100000]", d.TrackMemoryFrames)
	}
	if len(errs) == 0 {
		return nil
	}
	return errs
}

// IsZero reports whether r is the zero ROI: no ROI, the whole frame.
func (r ROI) IsZero() bool { return r == ROI{} }

// MarshalJSON writes the ROI as [x, y, w, h].
func (r ROI) MarshalJSON() ([]byte, error) {
	return json.Marshal([4]float64{r.X, r.Y, r.W, r.H})
}

// UnmarshalJSON reads [x, y, w, h]: exactly four numbers.
func (r *ROI) UnmarshalJSON(data []byte) error {
	var a []float64
	if err := json.Unmarshal(data, &a); err != nil {
		return fmt.Errorf("want [x, y, w, h]: %w", err)
	}
	return r.set(a)
}

// MarshalYAML writes the ROI as the flow sequence [x, y, w, h].
func (r ROI) MarshalYAML() (any, error) { return []float64{r.X, r.Y, r.W, r.H}, nil }

// UnmarshalYAML reads [x, y, w, h]. It has the callback form that gopkg.in/yaml.v2 and v3 both
// honour, so this package needs no YAML import.
func (r *ROI) UnmarshalYAML(unmarshal func(any) error) error {
	var a []float64
	if err := unmarshal(&a); err != nil {
		return fmt.Errorf("want [x, y, w, h]: %w", err)
	}
	return r.set(a)
}

func (r *ROI) set(a []float64) error {
	if len(a) != 4 {
		return fmt.Errorf("want [x, y, w, h], got %d numbers", len(a))
	}
	*r = ROI{X: a[0], Y: a[1], W: a[2], H: a[3]}
	return nil
}

// num formats a float for an error message the way a user wrote it: 200, not 2e+02.
func num(v float64) string { return strconv.FormatFloat(v, 'g', -1, 64) }

func finite(v float64) bool { return !math.IsNaN(v) && !math.IsInf(v, 0) }
