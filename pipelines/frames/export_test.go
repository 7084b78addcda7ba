package frames

import "slices"

// WarmVideos returns the ids of the videos with a warm decoder, sorted, for tests.
func (r *Reader) WarmVideos() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	var ids []string
	for id := range r.videos {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	return ids
}
