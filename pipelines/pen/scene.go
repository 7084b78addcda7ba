package pen

import (
	"fmt"
	"image"
	"math"
	"math/rand/v2"
)

// Scene is one simulated pen: its static floor, its pigs and the current frame.
// It is not safe for concurrent use.
type Scene struct {
	cfg       Config
	lay       layout
	interior  image.Rectangle
	interiorF rectF
	feederF   rectF
	ppm       float64
	dt        float64
	frame     uint64
	pigs      []pig
	rng       *rand.Rand // motion; layout and looks have their own streams

	floorRGB  []byte // static pen, packed RGB24
	floorI420 []byte // the same, converted once
	rgb       []byte // the current frame, packed RGB24
	labels    []uint8
	dirty     []image.Rectangle // areas of rgb and labels that differ from the floor
	composed  bool              // rgb, labels and the pigs' truth match frame
}

// Independent random streams, so that for example the floor does not change when the
// number of pigs does.
const (
	streamLayout = iota + 1
	streamFloor
	streamHerd
	streamMotion
)

func newRand(seed int64, stream uint64) *rand.Rand {
	return rand.New(rand.NewPCG(uint64(seed), stream*0x9E3779B97F4A7C15))
}

// New builds the pen described by cfg: it paints the floor once, sizes the pigs and places
// them without overlaps. It returns an error wrapping [ErrInvalidConfig] for a bad config.
func New(cfg Config) (*Scene, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	w, h := cfg.Width, cfg.Height
	s := &Scene{
		cfg:       cfg,
		lay:       newLayout(w, h, newRand(cfg.Seed, streamLayout)),
		ppm:       float64(min(w, h)) / PenShortSideMetres,
		dt:        1 / float64(cfg.FPS),
		rng:       newRand(cfg.Seed, streamMotion),
		floorRGB:  make([]byte, 3*w*h),
		floorI420: make([]byte, w*h*3/2),
		rgb:       make([]byte, 3*w*h),
		labels:    make([]uint8, w*h),
		dirty:     make([]image.Rectangle, 0, cfg.Pigs),
	}
	s.interior = s.lay.interior
	s.interiorF = toRectF(s.interior)
	s.feederF = toRectF(s.lay.feeder)
	paintFloor(s.floorRGB, s.lay, newRand(cfg.Seed, streamFloor).Uint64())
	rgbToI420(s.floorI420, s.floorRGB, w, h, 0, 0, w, h)
	copy(s.rgb, s.floorRGB)
	if err := s.addHerd(newRand(cfg.Seed, streamHerd)); err != nil {
		return nil, err
	}
	return s, nil
}

// addHerd sizes the pigs and places them one by one where they fit without touching.
func (s *Scene) addHerd(rng *rand.Rand) error {
	m := float64(min(s.cfg.Width, s.cfg.Height))
	s.pigs = make([]pig, 0, s.cfg.Pigs)
	in := s.interiorF
	for id := 1; id <= s.cfg.Pigs; id++ {
		// Snout-to-rump length from 11% to 22% of the shorter side: weaners to finishers.
		p := newPig(id, m*(0.11+0.11*rng.Float64()), rng)
		p.weightKg = WeightFromArea(int(math.Round(p.trueArea)), s.ppm)
		placed := false
		gap := 0.12 * p.length
		for range 400 {
			x := in.x0 + rng.Float64()*(in.x1-in.x0)
			y := in.y0 + rng.Float64()*(in.y1-in.y0)
			hd := rng.Float64() * 2 * math.Pi
			if s.fits(&p, x, y, hd) && s.crowding(&p, x, y, hd, gap) == 0 {
				p.motion.x, p.motion.y = x, y
				p.motion.setHeading(hd)
				placed = true
				break
			}
		}
		// A crowded pen: scan for the first free spot instead of guessing.
		for y := in.y0; !placed && y < in.y1; y += p.length / 6 {
			for x := in.x0; !placed && x < in.x1; x += p.length / 6 {
				for q := range 8 {
					hd := float64(q) * math.Pi / 4
					if s.fits(&p, x, y, hd) && s.crowding(&p, x, y, hd, 0) == 0 {
						p.motion.x, p.motion.y = x, y
						p.motion.setHeading(hd)
						placed = true
						break
					}
				}
			}
		}
		if !placed {
			return fmt.Errorf("%w: no room for pig %d of %d in a %dx%d pen", ErrInvalidConfig,
				id, s.cfg.Pigs, s.cfg.Width, s.cfg.Height)
		}
		s.pigs = append(s.pigs, p)
		s.initMotion(&s.pigs[len(s.pigs)-1], rng)
	}
	return nil
}

// initMotion starts a pig in the middle of something: some lie, most walk or stand.
func (s *Scene) initMotion(p *pig, rng *rand.Rand) {
	m := &p.motion
	switch x := rng.Float64(); {
	case x < 0.2:
		m.mode, m.left = modeLie, 5+35*rng.Float64()
	case x < 0.7:
		m.mode, m.left = modeWalk, 0.5+5*rng.Float64()
		m.wander = (2*rng.Float64() - 1) * maxWander
	default:
		m.mode, m.left = modePause, 0.5+3*rng.Float64()
	}
}

// Config returns the config the scene was built from.
func (s *Scene) Config() Config { return s.cfg }

// Frame is the index of the current frame, counting from 0 at New.
func (s *Scene) Frame() uint64 { return s.frame }

// PixelsPerMetre is the scale of the pen: the frame's shorter side spans
// [PenShortSideMetres] metres.
func (s *Scene) PixelsPerMetre() float64 { return s.ppm }

// PenBounds is the floor inside the walls, in pixels: every pig pixel lies inside it.
func (s *Scene) PenBounds() image.Rectangle { return s.interior }

// FeederBounds is the feeder trough, in pixels; pigs may put their heads over its rim.
func (s *Scene) FeederBounds() image.Rectangle { return s.lay.feeder }

// Step advances the simulation by one frame, 1/FPS seconds.
func (s *Scene) Step() {
	for i := range s.pigs {
		s.stepPig(&s.pigs[i], s.dt)
	}
	s.frame++
	s.composed = false
}
