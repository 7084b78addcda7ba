package onnx

import (
	"testing"

	"github.com/pigweight/pigweight/pipelines/pen"
)

// Touching pigs: the consumer of the demo mask counts its 8-connected components as pigs,
// so pigs whose masks touch merge into one detection. These helpers measure how often.

// touchPen is the pen the touching statistics are taken on.
var touchPen = pen.Config{Width: 640, Height: 480, Pigs: 8, FPS: 15, Seed: 1}

// touchFrames is how many consecutive frames of touchPen are looked at.
func touchFrames() int {
	if testing.Short() {
		return 60
	}
	return 300
}

// components labels the 8-connected components of on, 1.., 0 where off.
func components(on []bool, w, h int) []int32 {
	comp := make([]int32, w*h)
	var next int32
	var stack []int
	for i := range comp {
		if !on[i] || comp[i] != 0 {
			continue
		}
		next++
		comp[i] = next
		stack = append(stack[:0], i)
		for len(stack) > 0 {
			j := stack[len(stack)-1]
			stack = stack[:len(stack)-1]
			x, y := j%w, j/w
			for dy := -1; dy <= 1; dy++ {
				for dx := -1; dx <= 1; dx++ {
					xx, yy := x+dx, y+dy
					if xx < 0 || yy < 0 || xx >= w || yy >= h {
						continue
					}
					if k := yy*w + xx; on[k] && comp[k] == 0 {
						comp[k] = next
						stack = append(stack, k)
					}
				}
			}
		}
	}
	return comp
}

// mergedPigs counts the pigs that share their component with another pig; a pig's
// component is the one holding most of its pixels. Those pigs cannot be told apart by
// connected components.
func mergedPigs(comp []int32, labels []uint8) int {
	votes := map[uint8]map[int32]int{}
	for i, id := range labels {
		if id == 0 || comp[i] == 0 {
			continue
		}
		if votes[id] == nil {
			votes[id] = map[int32]int{}
		}
		votes[id][comp[i]]++
	}
	owners := map[int32]int{}
	home := map[uint8]int32{}
	for id, v := range votes {
		best := 0
		for c, n := range v {
			if n > best || (n == best && c < home[id]) {
				home[id], best = c, n
			}
		}
		owners[home[id]]++
	}
	merged := 0
	for _, c := range home {
		if owners[c] > 1 {
			merged++
		}
	}
	return merged
}

// closePairs returns the pairs of pigs (smaller ID first) with pixels within d pixels of
// each other (Chebyshev distance; 1 is touching).
func closePairs(labels []uint8, w, h, d int) map[[2]uint8]bool {
	pairs := map[[2]uint8]bool{}
	for y := range h {
		for x := range w {
			a := labels[y*w+x]
			if a == 0 {
				continue
			}
			for yy := max(0, y-d); yy <= min(h-1, y+d); yy++ {
				for xx := max(0, x-d); xx <= min(w-1, x+d); xx++ {
					if b := labels[yy*w+xx]; b > a {
						pairs[[2]uint8{a, b}] = true
					}
				}
			}
		}
	}
	return pairs
}

// TestTouchingPigsCeiling reports how often pigs of touchPen come within 2 px of each
// other in the truth itself: no mask can split what the label map already joins, so this
// bounds the recall of connected components over the demo mask.
func TestTouchingPigsCeiling(t *testing.T) {
	cfg := touchPen
	s, err := pen.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	w, h := cfg.Width, cfg.Height
	n := touchFrames()
	labels := make([]uint8, w*h)
	on := make([]bool, w*h)
	var framesTouch, framesNear, pairFramesNear, overlapped, merged int
	for range n {
		if err := s.LabelsInto(labels); err != nil {
			t.Fatal(err)
		}
		if len(closePairs(labels, w, h, 1)) > 0 {
			framesTouch++
		}
		near := closePairs(labels, w, h, 2)
		if len(near) > 0 {
			framesNear++
		}
		pairFramesNear += len(near)
		for _, p := range s.Truth().Pigs {
			if p.Area < p.BodyArea {
				overlapped++
			}
		}
		for i, id := range labels {
			on[i] = id != 0
		}
		merged += mergedPigs(components(on, w, h), labels)
		s.Step()
	}
	t.Logf("%d frames of %v: %d frames with two pigs within 2 px (%d touching), %d pig pairs × frames within 2 px; "+
		"%d of %d pig-frames partly hidden under another pig; %d of %d pig-frames share a connected component of the truth",
		n, cfg, framesNear, framesTouch, pairFramesNear, overlapped, n*cfg.Pigs, merged, n*cfg.Pigs)
}
