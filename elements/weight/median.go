package weight

import "slices"

// runningMedian keeps the exact median of a growing series in O(log n) per value: the lower
// half in a max-heap, the upper half in a min-heap, the lower never shorter. Hand-written
// heaps on []float64, because container/heap boxes every value it pushes.
type runningMedian struct {
	lo []float64 // max-heap
	hi []float64 // min-heap
}

func (m *runningMedian) len() int { return len(m.lo) + len(m.hi) }

func (m *runningMedian) push(v float64) {
	if len(m.lo) == 0 || v <= m.lo[0] {
		m.lo = heapPush(m.lo, v, greater)
	} else {
		m.hi = heapPush(m.hi, v, less)
	}
	switch {
	case len(m.lo) > len(m.hi)+1:
		var top float64
		m.lo, top = heapPop(m.lo, greater)
		m.hi = heapPush(m.hi, top, less)
	case len(m.hi) > len(m.lo):
		var top float64
		m.hi, top = heapPop(m.hi, less)
		m.lo = heapPush(m.lo, top, greater)
	}
}

// median returns the median, the mean of the middle two for an even count; 0 when empty.
func (m *runningMedian) median() float64 {
	switch {
	case len(m.lo) == 0:
		return 0
	case len(m.lo) > len(m.hi):
		return m.lo[0]
	}
	return (m.lo[0] + m.hi[0]) / 2
}

func less(a, b float64) bool    { return a < b }
func greater(a, b float64) bool { return a > b }

// heapPush adds v to the heap h ordered by before (before(parent, child) or equal).
func heapPush(h []float64, v float64, before func(a, b float64) bool) []float64 {
	h = append(h, v)
	i := len(h) - 1
	for i > 0 {
		p := (i - 1) / 2
		if !before(h[i], h[p]) {
			break
		}
		h[i], h[p] = h[p], h[i]
		i = p
	}
	return h
}

// heapPop removes and returns the heap's top.
func heapPop(h []float64, before func(a, b float64) bool) ([]float64, float64) {
	top := h[0]
	n := len(h) - 1
	h[0] = h[n]
	h = h[:n]
	i := 0
	for {
		l, r, best := 2*i+1, 2*i+2, i
		if l < n && before(h[l], h[best]) {
			best = l
		}
		if r < n && before(h[r], h[best]) {
			best = r
		}
		if best == i {
			return h, top
		}
		h[i], h[best] = h[best], h[i]
		i = best
	}
}

// medianOf returns the median of v, reordering v; 0 when empty.
func medianOf(v []float64) float64 {
	n := len(v)
	if n == 0 {
		return 0
	}
	slices.Sort(v)
	if n%2 == 1 {
		return v[n/2]
	}
	return (v[n/2-1] + v[n/2]) / 2
}

// quantileSorted returns the q-quantile (0 ≤ q ≤ 1) of sorted v by linear interpolation
// between order statistics (Hyndman–Fan type 7, what most statistics packages call the
// default).
func quantileSorted(v []float64, q float64) float64 {
	n := len(v)
	if n == 0 {
		return 0
	}
	pos := q * float64(n-1)
	i := int(pos)
	if i >= n-1 {
		return v[n-1]
	}
	f := pos - float64(i)
	return v[i]*(1-f) + v[i+1]*f
}
