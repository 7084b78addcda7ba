package batch

// queue holds the waiting items in one FIFO per priority, oldest first. It is small (bounded by
// Config.QueueLimit), so plain slices that shift down on removal beat a ring: no allocation after
// warm-up, and removing a cancelled item from the middle is a copy of a few pointers.
//
// queue does no locking; Batcher guards it with its mutex.
type queue[T comparable] struct {
	levels [numPriorities][]T
	n      int
}

func newQueue[T comparable](limit int) *queue[T] {
	q := &queue[T]{}
	for i := range q.levels {
		q.levels[i] = make([]T, 0, limit)
	}
	return q
}

// len returns the number of queued items over all priorities.
func (q *queue[T]) len() int { return q.n }

// push appends x at the back of priority p.
func (q *queue[T]) push(p Priority, x T) {
	q.levels[p] = append(q.levels[p], x)
	q.n++
}

// head returns the oldest item of priority p.
func (q *queue[T]) head(p Priority) (T, bool) {
	var zero T
	if len(q.levels[p]) == 0 {
		return zero, false
	}
	return q.levels[p][0], true
}

// lowest returns the lowest priority that has queued items.
func (q *queue[T]) lowest() (Priority, bool) {
	for p := range q.levels {
		if len(q.levels[p]) > 0 {
			return Priority(p), true
		}
	}
	return 0, false
}

// popOldest removes and returns the oldest item of priority p; p must not be empty.
func (q *queue[T]) popOldest(p Priority) T {
	x := q.levels[p][0]
	q.levels[p] = shift(q.levels[p], 0, 1)
	q.n--
	return x
}

// remove deletes x from priority p and reports whether it was there.
func (q *queue[T]) remove(p Priority, x T) bool {
	for i, y := range q.levels[p] {
		if y == x {
			q.levels[p] = shift(q.levels[p], i, 1)
			q.n--
			return true
		}
	}
	return false
}

// take moves up to n items into dst, highest priority first and oldest first within a
// priority, and returns dst.
func (q *queue[T]) take(dst []T, n int) []T {
	for p := numPriorities - 1; p >= 0 && n > 0; p-- {
		k := min(n, len(q.levels[p]))
		dst = append(dst, q.levels[p][:k]...)
		q.levels[p] = shift(q.levels[p], 0, k)
		q.n -= k
		n -= k
	}
	return dst
}

// drain removes every item, calling f on each.
func (q *queue[T]) drain(f func(T)) {
	for p := range q.levels {
		for _, x := range q.levels[p] {
			f(x)
		}
		clear(q.levels[p])
		q.levels[p] = q.levels[p][:0]
	}
	q.n = 0
}

// shift removes s[i:i+k] in place and zeroes the freed tail so the queue keeps no references.
func shift[T any](s []T, i, k int) []T {
	n := copy(s[i:], s[i+k:])
	clear(s[i+n:])
	return s[:i+n]
}
