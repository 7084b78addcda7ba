package pen_test

import (
	"math"
	"testing"

	"github.com/pigweight/pigweight/pipelines/pen"
)

func TestPigsMoveAndStayInThePen(t *testing.T) {
	tests := []pen.Config{
		{Width: 640, Height: 480, Pigs: 12, FPS: 15, Seed: 1},
		{Width: 640, Height: 480, Pigs: 6, FPS: 15, Seed: 2},
		{Width: 320, Height: 240, Pigs: 10, FPS: 30, Seed: 3},
		{Width: 1280, Height: 720, Pigs: 8, FPS: 10, Seed: 4},
	}
	for _, cfg := range tests {
		t.Run("", func(t *testing.T) {
			s := mustNew(t, cfg)
			dt := 1 / float64(cfg.FPS)
			start := s.Truth()
			prev := start
			var covered, body int
			pathLen := make([]float64, cfg.Pigs)
			for range 10 * cfg.FPS {
				s.Step()
				cur := s.Truth()
				for i, p := range cur.Pigs {
					q := prev.Pigs[i]
					if !p.Box.In(s.PenBounds()) {
						t.Fatalf("frame %d: pig %d box %v leaves the pen %v", cur.Frame, p.ID, p.Box, s.PenBounds())
					}
					// Centers are rounded, so allow a pixel of rounding on top of the top speed.
					step := math.Hypot(float64(p.Center.X-q.Center.X), float64(p.Center.Y-q.Center.Y))
					if limit := 0.3*p.LengthPx*dt + 1.5; step > limit {
						t.Errorf("frame %d: pig %d moved %.1f px, more than 0.3 lengths/s (%.1f px)",
							cur.Frame, p.ID, step, limit)
					}
					turn := math.Abs(math.Remainder(p.HeadingDeg-q.HeadingDeg, 360))
					if turn > 70*dt+1e-6 {
						t.Errorf("frame %d: pig %d turned %.1f°, more than 70°/s", cur.Frame, p.ID, turn)
					}
					pathLen[i] += step
					covered += p.BodyArea - p.Area
					body += p.BodyArea
				}
				prev = cur
			}
			moved := 0
			for i, p := range prev.Pigs {
				if pathLen[i] > 0.2*p.LengthPx || math.Abs(p.HeadingDeg-start.Pigs[i].HeadingDeg) > 20 {
					moved++
				}
			}
			if moved < cfg.Pigs/2 {
				t.Errorf("only %d of %d pigs walked or turned in 10 s", moved, cfg.Pigs)
			}
			// Pigs may touch and overlap a little, but mostly keep out of each other.
			if frac := float64(covered) / float64(body); frac > 0.02 {
				t.Errorf("%.1f%% of pig pixels covered by other pigs, want at most 2%%", 100*frac)
			}
			t.Logf("%d of %d pigs moved; %.2f%% of pig pixels covered", moved, cfg.Pigs, 100*float64(covered)/float64(body))
		})
	}
}

func TestSomePigsLieStill(t *testing.T) {
	lying, total := 0, 0
	for seed := range int64(10) {
		s := mustNew(t, pen.Config{Width: 320, Height: 240, Pigs: 12, FPS: 5, Seed: seed})
		for range 60 * 5 {
			s.Step()
			for _, p := range s.Truth().Pigs {
				total++
				if p.Lying {
					lying++
				}
			}
		}
	}
	if frac := float64(lying) / float64(total); frac < 0.05 || frac > 0.6 {
		t.Errorf("pigs lie %.0f%% of the time, want between 5%% and 60%%", 100*frac)
	}
}

func TestFrameCounts(t *testing.T) {
	s := mustNew(t, pen.Config{Width: 320, Height: 240, Pigs: 4, FPS: 15, Seed: 1})
	for want := range uint64(20) {
		if got := s.Frame(); got != want {
			t.Fatalf("Frame() = %d, want %d", got, want)
		}
		if got := s.Truth().Frame; got != want {
			t.Fatalf("Truth().Frame = %d, want %d", got, want)
		}
		s.Step()
	}
}
