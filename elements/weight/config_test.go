package weight

import (
	"encoding/json"
	"errors"
	"math"
	"reflect"
	"strings"
	"testing"
)

func TestWithDefaults(t *testing.T) {
	tests := []struct {
		name string
		in   Config
		want Config
	}{
		{"zero", Config{}, Config{
			Camera:        Camera{HeightM: DefaultHeightM, FOVDeg: DefaultFOVDeg},
			MinGoodFrames: DefaultMinGoodFrames, MinScore: DefaultMinScore,
			EdgeMarginPx: DefaultEdgeMarginPx, TrackMemoryFrames: DefaultTrackMemoryFrames,
		}},
		{"scale given: no height, no fov", Config{Camera: Camera{PixelsPerMetre: 180}}, Config{
			Camera:        Camera{PixelsPerMetre: 180},
			MinGoodFrames: DefaultMinGoodFrames, MinScore: DefaultMinScore,
			EdgeMarginPx: DefaultEdgeMarginPx, TrackMemoryFrames: DefaultTrackMemoryFrames,
		}},
		{"set values kept", Config{Pen: "p1", Camera: Camera{HeightM: 2.5, FOVDeg: 70}, MinGoodFrames: 9, MinScore: 0.3, EdgeMarginPx: 4, TrackMemoryFrames: 30}, Config{
			Pen: "p1", Camera: Camera{HeightM: 2.5, FOVDeg: 70}, MinGoodFrames: 9, MinScore: 0.3, EdgeMarginPx: 4, TrackMemoryFrames: 30,
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.in.WithDefaults(); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("WithDefaults() = %+v, want %+v", got, tt.want)
			}
		})
	}
}

func TestValidate(t *testing.T) {
	tests := []struct {
		name string
		cfg  Config
		want []string // one substring per expected problem, in order; none for valid
	}{
		{"zero is valid", Config{}, nil},
		{"full geometry", Config{Camera: Camera{HeightM: 2.8, FOVDeg: 110}, ROI: ROI{10, 10, 600, 400}}, nil},
		{"scale alone", Config{Camera: Camera{PixelsPerMetre: 210}}, nil},
		{"scale and height", Config{Camera: Camera{PixelsPerMetre: 210, HeightM: 3}}, nil},
		{"fov too wide", Config{Camera: Camera{FOVDeg: 200}}, []string{"camera.fov_deg: 200 outside (0, 170)"}},
		{"fov negative", Config{Camera: Camera{FOVDeg: -5}}, []string{"camera.fov_deg: -5 outside (0, 170)"}},
		{"fov NaN", Config{Camera: Camera{FOVDeg: math.NaN()}}, []string{"camera.fov_deg: NaN"}},
		{"height negative", Config{Camera: Camera{HeightM: -1}}, []string{"camera.height_m: -1 outside (0, 20]"}},
		{"scale with fov", Config{Camera: Camera{PixelsPerMetre: 200, FOVDeg: 90}}, []string{"camera.fov_deg: given together with pixels_per_metre"}},
		{"scale negative", Config{Camera: Camera{PixelsPerMetre: -3}}, []string{"camera.pixels_per_metre: -3 outside"}},
		{"roi empty", Config{ROI: ROI{0, 0, 0, 10}}, []string{"roi: size 0×10 must be positive"}},
		{"roi negative corner", Config{ROI: ROI{-1, 0, 10, 10}}, []string{"roi: corner (-1, 0)"}},
		{"min_good_frames", Config{MinGoodFrames: -2}, []string{"min_good_frames: -2 outside [1, 100000]"}},
		{"min_score", Config{MinScore: 1.5}, []string{"min_score: 1.5 outside (0, 1]"}},
		{"edge_margin_px", Config{EdgeMarginPx: -1}, []string{"edge_margin_px: -1 outside [0, 1000]"}},
		{"track_memory_frames", Config{TrackMemoryFrames: -1}, []string{"track_memory_frames: -1 outside [1, 100000]"}},
		{"several", Config{Camera: Camera{HeightM: 30, FOVDeg: 180}, MinScore: -1}, []string{"camera.height_m", "camera.fov_deg", "min_score"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.cfg.Validate()
			if len(tt.want) == 0 {
				if err != nil {
					t.Fatalf("Validate() = %v, want nil", err)
				}
				return
			}
			if !errors.Is(err, ErrInvalidConfig) {
				t.Fatalf("Validate() = %v, want ErrInvalidConfig", err)
			}
			var ces ConfigErrors
			if !errors.As(err, &ces) || len(ces) != len(tt.want) {
				t.Fatalf("Validate() = %v, want %d problems", err, len(tt.want))
			}
			for i, w := range tt.want {
				if !strings.Contains(ces[i].Error(), w) {
					t.Errorf("problem %d = %q, want it to contain %q", i, ces[i], w)
				}
			}
			var fe *FieldError
			if !errors.As(err, &fe) || !strings.HasPrefix(tt.want[0], fe.Field) {
				t.Errorf("errors.As FieldError = %v, want field of %q", fe, tt.want[0])
			}
		})
	}
}

func TestROIEncoding(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		want    ROI
		wantErr bool
	}{
		{"four numbers", `[10, 20.5, 300, 200]`, ROI{10, 20.5, 300, 200}, false},
		{"three numbers", `[10, 20, 300]`, ROI{}, true},
		{"five numbers", `[1, 2, 3, 4, 5]`, ROI{}, true},
		{"mapping", `{"x": 1}`, ROI{}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var r ROI
			err := json.Unmarshal([]byte(tt.in), &r)
			if (err != nil) != tt.wantErr {
				t.Fatalf("UnmarshalJSON(%s) error = %v, want error %v", tt.in, err, tt.wantErr)
			}
			if err != nil {
				return
			}
			if r != tt.want {
				t.Errorf("UnmarshalJSON = %+v, want %+v", r, tt.want)
			}
			out, _ := json.Marshal(r)
			var back ROI
			if err := json.Unmarshal(out, &back); err != nil || back != r {
				t.Errorf("round trip %s → %+v, %v", out, back, err)
			}
			// The YAML callback form, fed as a YAML decoder would feed it.
			var y ROI
			if err := y.UnmarshalYAML(func(v any) error { return json.Unmarshal([]byte(tt.in), v) }); err != nil || y != tt.want {
				t.Errorf("UnmarshalYAML = %+v, %v", y, err)
			}
			if m, _ := r.MarshalYAML(); !reflect.DeepEqual(m, []float64{r.X, r.Y, r.W, r.H}) {
				t.Errorf("MarshalYAML = %v", m)
			}
		})
	}
}

func TestConfigJSONNames(t *testing.T) {
	b, err := json.Marshal(Config{Pen: "a", Camera: Camera{HeightM: 3, FOVDeg: 90}, ROI: ROI{1, 2, 3, 4}, MinGoodFrames: 5})
	if err != nil {
		t.Fatal(err)
	}
	want := `{"pen":"a","camera":{"height_m":3,"fov_deg":90},"roi":[1,2,3,4],"min_good_frames":5}`
	if string(b) != want {
		t.Errorf("json = %s, want %s", b, want)
	}
}
