package pen

import "testing"

// TestColourMargins checks the margins IsPigPink's doc promises: pig pixels keep red at
// least 32 above green, background pixels at most 16, so encoding losses of a few levels
// cannot make one look like the other.
func TestColourMargins(t *testing.T) {
	tests := []Config{
		{Width: 640, Height: 480, Pigs: 12, FPS: 15, Seed: 1},
		{Width: 1280, Height: 720, Pigs: 12, FPS: 15, Seed: 2},
		{Width: 160, Height: 120, Pigs: 8, FPS: 15, Seed: 3},
	}
	for _, cfg := range tests {
		t.Run("", func(t *testing.T) {
			s, err := New(cfg)
			if err != nil {
				t.Fatal(err)
			}
			pigMin, floorMax := 255, -255
			for range 10 {
				for range 3 * cfg.FPS {
					s.Step()
				}
				s.compose()
				for i, id := range s.labels {
					d := int(s.rgb[3*i]) - int(s.rgb[3*i+1])
					if id == 0 {
						floorMax = max(floorMax, d)
					} else {
						pigMin = min(pigMin, d)
					}
				}
			}
			if pigMin < 32 {
				t.Errorf("a pig pixel has red only %d above green, want at least 32", pigMin)
			}
			if floorMax > 16 {
				t.Errorf("a background pixel has red %d above green, want at most 16", floorMax)
			}
			t.Logf("pig R-G >= %d, background R-G <= %d", pigMin, floorMax)
		})
	}
}

// TestProfileIsClosed checks the silhouette's outline: zero width at both ends, positive
// in between, so every pig is one solid blob.
func TestProfileIsClosed(t *testing.T) {
	tests := []struct {
		u       float64
		wantPos bool
	}{
		{-0.5001, false}, {-0.499, true}, {-0.3, true}, {0, true}, {0.2, true},
		{0.4, true}, {0.499, true}, {0.5001, false},
	}
	for _, tt := range tests {
		w, part := profile(tt.u)
		if (w > 0) != tt.wantPos || (part != partNone) != tt.wantPos {
			t.Errorf("profile(%g) = %g, part %d; want positive: %v", tt.u, w, part, tt.wantPos)
		}
	}
}
