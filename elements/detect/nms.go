package detect

import (
	"cmp"
	"slices"
)

// IoU is the intersection over union of two boxes: 0 when they do not overlap or either is
// empty, 1 when they are equal.
func IoU(a, b Box) float32 {
	iw := min(a.X+a.W, b.X+b.W) - max(a.X, b.X)
	ih := min(a.Y+a.H, b.Y+b.H) - max(a.Y, b.Y)
	if !(iw > 0 && ih > 0) {
		return 0
	}
	inter := iw * ih
	union := a.W*a.H + b.W*b.H - inter
	if !(union > 0) {
		return 0
	}
	return inter / union
}

// NMS is class-aware greedy non-maximum suppression: going from the best score down, a
// detection is dropped when its IoU with an already kept detection of the same ClassID is
// greater than iou. It sorts dets in place (see the package's order) and returns the kept
// detections, a prefix of dets; the rest of dets is zeroed.
func NMS(dets []Detection, iou float32) []Detection {
	slices.SortFunc(dets, compareDetections)
	kept := suppress(dets, iou, len(dets), func(d *Detection) (Box, int) { return d.Box, d.ClassID })
	clear(dets[len(kept):])
	return kept
}

// suppress runs greedy NMS over items already sorted best first, keeping at most limit. The
// kept items are compacted to the front of items and returned. Each candidate is compared
// with the kept ones only, so the cost is O(len(items) × limit).
func suppress[T any](items []T, iou float32, limit int, key func(*T) (Box, int)) []T {
	kept := items[:0]
	for i := range items {
		if len(kept) >= limit {
			break
		}
		b, c := key(&items[i])
		ok := true
		for j := range kept {
			kb, kc := key(&kept[j])
			if kc == c && IoU(kb, b) > iou {
				ok = false
				break
			}
		}
		if ok {
			kept = append(kept, items[i])
		}
	}
	return kept
}

// compareDetections orders by score, best first, then top to bottom, left to right, then
// size and class, so that results do not depend on the order candidates were found in.
func compareDetections(a, b Detection) int {
	return compareRank(a.Score, b.Score, &a.Box, &b.Box, a.ClassID, b.ClassID)
}

func compareRank(sa, sb float32, a, b *Box, ca, cb int) int {
	if c := cmp.Compare(sb, sa); c != 0 {
		return c
	}
	if c := cmp.Compare(a.Y, b.Y); c != 0 {
		return c
	}
	if c := cmp.Compare(a.X, b.X); c != 0 {
		return c
	}
	if c := cmp.Compare(a.H, b.H); c != 0 {
		return c
	}
	if c := cmp.Compare(a.W, b.W); c != 0 {
		return c
	}
	return cmp.Compare(ca, cb)
}
