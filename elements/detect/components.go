package detect

// Connected components by runs: a binary (or class-labelled) raster is fed row by row as
// horizontal runs of equal-class foreground pixels; each run is joined with the runs of the
// previous row that touch it, diagonals included (8-connectivity), in a union-find over run
// indices. A 640×480 mask of a few blobs is a few thousand runs, so this is far cheaper than
// labelling every pixel, and it needs no per-pixel label buffer.

// run is one horizontal stretch of foreground pixels of one class: columns [x0, x1) of row y.
type run struct {
	x0, x1, y int32
	cls       int32
	sum       float32 // sum of the pixels' probabilities
	comp      int32   // component index, set by finish
	next      int32   // next run of the same component in raster order, -1 at the end
}

// component is one connected set of runs.
type component struct {
	cls            int32
	count          int     // pixels
	sum            float64 // sum of probabilities
	x0, y0, x1, y1 int32   // bounding box [x0, x1) × [y0, y1), in raster cells
	first, last    int32   // the component's runs, a list through run.next; first is its top-left pixel
}

// labeller finds the 8-connected components of a raster fed as runs, one row at a time,
// rows in increasing order. Its buffers are reused from one raster to the next.
type labeller struct {
	runs   []run
	parent []int32 // union-find; a root is its set's smallest run index
	comps  []component

	started            bool
	y                  int32 // current row
	curStart           int   // the current row's first run
	prevStart, prevEnd int   // the previous row's runs, when it is y-1
	cursor             int   // first previous-row run that may touch the next run of this row
}

func (l *labeller) reset() {
	l.runs = l.runs[:0]
	l.parent = l.parent[:0]
	l.comps = l.comps[:0]
	l.started = false
	l.curStart, l.prevStart, l.prevEnd, l.cursor = 0, 0, 0, 0
}

// beginRow starts row y. Rows come in increasing order; the runs of the row fed just before
// are joined with this row's when that row is y-1.
func (l *labeller) beginRow(y int) {
	if l.started && int32(y) == l.y+1 {
		l.prevStart, l.prevEnd = l.curStart, len(l.runs)
	} else {
		l.prevStart, l.prevEnd = 0, 0
	}
	l.started = true
	l.y = int32(y)
	l.curStart = len(l.runs)
	l.cursor = l.prevStart
}

// addRun adds columns [x0, x1) of the current row, left to right, and joins it with the
// touching runs of the same class in the previous row.
func (l *labeller) addRun(x0, x1 int, cls int32, sum float32) {
	i := int32(len(l.runs))
	a0, a1 := int32(x0), int32(x1)
	l.runs = append(l.runs, run{x0: a0, x1: a1, y: l.y, cls: cls, sum: sum, next: -1})
	l.parent = append(l.parent, i)
	// A previous-row run [b0, b1) touches [a0, a1), diagonally or more, when b1 >= a0 and
	// b0 <= a1 (the ends are exclusive).
	for l.cursor < l.prevEnd && l.runs[l.cursor].x1 < a0 {
		l.cursor++
	}
	for k := l.cursor; k < l.prevEnd && l.runs[k].x0 <= a1; k++ {
		if l.runs[k].cls == cls {
			l.union(int32(k), i)
		}
	}
}

func (l *labeller) find(i int32) int32 {
	p := l.parent
	for p[i] != i {
		p[i] = p[p[i]] // path halving
		i = p[i]
	}
	return i
}

func (l *labeller) union(a, b int32) {
	ra, rb := l.find(a), l.find(b)
	switch {
	case ra < rb:
		l.parent[rb] = ra
	case rb < ra:
		l.parent[ra] = rb
	}
}

// finish gathers the components: their class, pixel count, probability sum, bounding box and
// run list. Component order is the raster order of their top-left pixels.
func (l *labeller) finish() []component {
	p := l.parent
	for i := range l.runs {
		r := &l.runs[i]
		// Every non-root points at a smaller index, whose entry is already its root.
		root := p[p[i]]
		p[i] = root
		if root == int32(i) {
			r.comp = int32(len(l.comps))
			l.comps = append(l.comps, component{
				cls: r.cls, count: int(r.x1 - r.x0), sum: float64(r.sum),
				x0: r.x0, y0: r.y, x1: r.x1, y1: r.y + 1,
				first: int32(i), last: int32(i),
			})
			continue
		}
		r.comp = l.runs[root].comp
		c := &l.comps[r.comp]
		c.count += int(r.x1 - r.x0)
		c.sum += float64(r.sum)
		c.x0, c.x1 = min(c.x0, r.x0), max(c.x1, r.x1)
		c.y1 = r.y + 1
		l.runs[c.last].next = int32(i)
		c.last = int32(i)
	}
	return l.comps
}
