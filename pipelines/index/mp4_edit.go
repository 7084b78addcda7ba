package index

import (
	"math"
	"math/bits"
)

// Edit lists, applied the way ffmpeg's libavformat/mov.c mov_fix_index does, because frame
// numbers must be ffmpeg's. For each edit: find the sync sample shown at or before the edit's
// media time, list samples from there with decode times on the presentation's clock, and mark
// those shown outside the edit as discarded (decoded, never output). An edit ends at the
// first sync sample past its end, or the second with composition offsets (B-frames after an
// I-frame may still belong to the edit). Empty edits before the first real one delay the
// track; finally, if the earliest shown picture is late, every time moves back so that it
// starts at zero (or at the empty edits' length).

// rescale is ffmpeg's av_rescale(a, b, c): a*b/c rounded to the nearest, halves away from
// zero; ok is false when the result does not fit.
func rescale(a, b, c int64) (int64, bool) {
	if c <= 0 || b < 0 {
		return 0, false
	}
	neg := a < 0
	if neg {
		if a == math.MinInt64 {
			return 0, false
		}
		a = -a
	}
	hi, lo := bits.Mul64(uint64(a), uint64(b))
	lo, carry := bits.Add64(lo, uint64(c/2), 0)
	hi += carry
	if hi >= uint64(c) {
		return 0, false
	}
	q, _ := bits.Div64(hi, lo, uint64(c))
	if q > math.MaxInt64 {
		return 0, false
	}
	if neg {
		return -int64(q), true
	}
	return int64(q), true
}

// firstEditOffset is ffmpeg's sc->time_offset: the media time of the first non-empty edit
// less the duration of a leading empty edit. Fragment decode times are shifted by it.
func firstEditOffset(edits []mp4Edit, movieScale, mediaScale uint32) int64 {
	start, empty, startIdx := int64(0), int64(0), 0
	for i, e := range edits {
		if i == 0 && e.time == -1 {
			empty = e.duration
			startIdx = 1
		} else if i == startIdx && e.time >= 0 {
			start = e.time
		}
	}
	if (empty == 0 && start == 0) || movieScale == 0 {
		return 0
	}
	if empty != 0 {
		var ok bool
		if empty, ok = rescale(empty, int64(mediaScale), int64(movieScale)); !ok {
			return 0
		}
	}
	return start - empty
}

// searchTimestamp is ffmpeg's ff_index_search_timestamp with AVSEEK_FLAG_BACKWARD over the
// track's original index (no discarded entries there): the last entry at or before wanted, a
// sync sample unless any; -1 for none.
func searchTimestamp(dts []int64, key []bool, wanted int64, any bool, budget *int) int {
	a, b := -1, len(dts)
	if b > 0 && dts[b-1] < wanted {
		a = b - 1
	}
	for b-a > 1 {
		m := (a + b) >> 1
		if dts[m] >= wanted {
			b = m
		}
		if dts[m] <= wanted {
			a = m
		}
	}
	m := a
	if !any {
		for m >= 0 && !key[m] && *budget > 0 {
			*budget--
			m--
		}
	}
	return m
}

// prevClosest is ffmpeg's find_prev_closest_index: the sample to start an edit at media time
// pts from; with composition offsets, a sync sample shown at or before pts. Its backward walks
// are charged to *budget, so that a hostile list of many edits cannot take quadratic time.
func (tab *mp4Table) prevClosest(pts int64, any bool, budget *int) int {
	if tab.shift > 0 {
		pts -= tab.shift
	}
	i := searchTimestamp(tab.dts, tab.key, pts, any, budget)
	if i < 0 {
		return -1
	}
	for j := i; j > 0 && tab.dts[j] == tab.dts[j-1] && *budget > 0; j-- {
		*budget--
		if any || tab.key[j-1] {
			i = j - 1
		}
	}
	if tab.ctts != nil {
		for i >= 0 && !(tab.dts[i]+int64(tab.ctts[i]) <= pts && tab.key[i]) && *budget > 0 {
			*budget--
			i--
		}
	}
	return i
}

// fixIndex rebuilds the sample list from the edit list (see the top of this file).
func fixIndex(tab *mp4Table, edits []mp4Edit, movieScale, mediaScale uint32) ([]mp4Entry, error) {
	n := len(tab.dts)
	if len(edits) == 0 || n == 0 {
		return nil, nil
	}
	if movieScale == 0 {
		// ffmpeg asks for a sample of such a file and stops reading edits: nothing plays.
		return nil, corruptf("an edit list in a movie of timescale 0")
	}
	// Edits may play samples more than once; bound what a hostile list can make us allocate.
	limit := min(4*n+1024, MaxSamples)
	budget := 8*n + 1<<20 // steps for the backward searches of all edits together
	out := make([]mp4Entry, 0, n)
	var (
		entryEnd     = -tab.shift
		emptySum     int64
		minCorrected int64 = -1
		foundEdit    bool
		discarded    []int64 // durations of the discarded entries before an edit's first shown one
	)
	for ei, e := range edits {
		duration, ok := rescale(e.duration, int64(mediaScale), int64(movieScale))
		if !ok {
			return nil, corruptf("edit %d lasts %d movie ticks, which overflows", ei, e.duration)
		}
		if e.time > 0 && duration+e.time < duration {
			duration = 0
		}
		counter := entryEnd
		if entryEnd > math.MaxInt64-duration {
			return nil, corruptf("edit %d ends past the end of time", ei)
		}
		entryEnd += duration
		if !foundEdit && e.time == -1 {
			emptySum += duration
			continue
		}
		foundEdit = true
		i := tab.prevClosest(e.time, false, &budget)
		if i < 0 {
			if i = tab.prevClosest(e.time, true, &budget); i < 0 {
				i = 0
			}
		}
		if budget <= 0 {
			return nil, unsupportedf("an edit list of %d edits too costly to apply to %d samples", len(edits), n)
		}
		started, keyAfter := false, false
		discarded = discarded[:0]
		first := len(out)
		for ; i < n; i++ {
			frameDur := duration
			if i+1 < n {
				frameDur = tab.dts[i+1] - tab.dts[i]
			}
			cts := tab.dts[i] + tab.shift
			var ctts int64
			if tab.ctts != nil {
				ctts = int64(tab.ctts[i])
				cts += ctts
			}
			discard := false
			if cts < e.time || cts >= duration+e.time {
				discard = true
				if !started {
					discarded = append(discarded, frameDur)
				}
			} else {
				pts := counter + ctts + tab.shift
				if minCorrected < 0 {
					minCorrected = pts
				} else {
					minCorrected = min(minCorrected, pts)
				}
				if !started {
					started = true
					// Rewrite the discarded entries' times to count back from this one, so
					// that decode times rise (fix_index_entry_timestamps).
					t := counter
					for k := len(discarded) - 1; k >= 0; k-- {
						t -= discarded[k]
						out[first+k].dts = t
					}
				}
			}
			if len(out) >= limit {
				return nil, unsupportedf("the edit list plays the track's %d samples more than %d times over", n, limit/n)
			}
			out = append(out, mp4Entry{src: int32(i), dts: counter, discard: discard})
			if started {
				counter += frameDur
			}
			if cts+frameDur >= duration+e.time && tab.key[i] {
				if tab.ctts != nil && !keyAfter {
					keyAfter = true
					continue
				}
				break
			}
		}
	}
	minCorrected -= emptySum
	if minCorrected > 0 {
		for i := range out {
			out[i].dts -= minCorrected
		}
	}
	if len(out) == 0 {
		return nil, corruptf("the edit list leaves no samples to decode")
	}
	return out, nil
}
