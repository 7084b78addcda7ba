package pen

import "testing"

// mergedPigFrames counts, over frames of a pen, the pigs whose visible pixels are 8-connected
// to another pig's: a detector that splits instances by connected components cannot tell such
// pigs apart, so this bounds its recall.
func mergedPigFrames(t *testing.T, cfg Config, frames int) (merged, total int) {
	t.Helper()
	s, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	w, h := cfg.Width, cfg.Height
	for range frames {
		labels := s.Labels()
		touching := map[uint8]bool{}
		for y := range h {
			for x := range w {
				a := labels[y*w+x]
				if a == 0 {
					continue
				}
				for _, d := range [][2]int{{1, 0}, {0, 1}, {1, 1}, {-1, 1}} {
					nx, ny := x+d[0], y+d[1]
					if nx < 0 || nx >= w || ny >= h {
						continue
					}
					if b := labels[ny*w+nx]; b != 0 && b != a {
						touching[a], touching[b] = true, true
					}
				}
			}
		}
		merged += len(touching)
		total += len(s.Truth().Pigs)
		s.Step()
	}
	return merged, total
}

// Pigs keep some personal space: they touch sometimes (a few pushy ones), not all the time,
// so that the demo's detections can be held to ≥ 95 % recall.
func TestPigsTouchOnlySometimes(t *testing.T) {
	var touched int
	for _, seed := range []int64{1, 2, 3} {
		merged, total := mergedPigFrames(t, Config{Width: 640, Height: 480, Pigs: 8, FPS: 15, Seed: seed}, 300)
		touched += merged
		frac := float64(merged) / float64(total)
		t.Logf("seed %d: %d of %d pig-frames touch another pig (%.1f%%)", seed, merged, total, 100*frac)
		if frac > 0.03 {
			t.Errorf("seed %d: %.1f%% of pig-frames touch another pig, want ≤ 3%%", seed, 100*frac)
		}
	}
	if touched == 0 {
		t.Error("no pig touched another in 3 × 300 frames; pen mates do, sometimes")
	}
}
