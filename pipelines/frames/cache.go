package frames

import (
	"container/list"
	"sync"

	"github.com/pigweight/pigweight/pipelines/media"
)

// cacheKey names one decoded picture.
type cacheKey struct {
	video string
	frame int
}

// FrameCache holds decoded pictures of every open video, least recently used out first,
// within a byte budget. It is safe for concurrent use.
type FrameCache struct {
	mu     sync.Mutex
	budget int64
	bytes  int64
	order  *list.List // front: most recently used; values are *cacheEntry
	items  map[cacheKey]*list.Element

	hits, misses, evictions uint64
}

type cacheEntry struct {
	key cacheKey
	pic media.Picture
}

// NewFrameCache makes a cache that keeps at most budget bytes of pictures; 0 or less keeps
// none.
func NewFrameCache(budget int64) *FrameCache {
	return &FrameCache{budget: budget, order: list.New(), items: map[cacheKey]*list.Element{}}
}

// Get returns a cached picture, marked Cached, and counts a hit or a miss.
func (c *FrameCache) Get(video string, frame int) (media.Picture, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.items[cacheKey{video, frame}]
	if !ok {
		c.misses++
		return media.Picture{}, false
	}
	c.hits++
	c.order.MoveToFront(e)
	pic := e.Value.(*cacheEntry).pic
	pic.Cached = true
	return pic, true
}

// has reports whether a picture is cached without counting or reordering.
func (c *FrameCache) has(video string, frame int) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	_, ok := c.items[cacheKey{video, frame}]
	return ok
}

// Put adds a picture, evicting the least recently used ones until the budget holds. A
// picture larger than the whole budget is not kept.
func (c *FrameCache) Put(video string, pic media.Picture) {
	size := int64(pic.Bytes())
	c.mu.Lock()
	defer c.mu.Unlock()
	if size > c.budget {
		return
	}
	key := cacheKey{video, pic.Frame}
	if e, ok := c.items[key]; ok {
		c.order.MoveToFront(e)
		return
	}
	pic.Cached = false
	c.items[key] = c.order.PushFront(&cacheEntry{key: key, pic: pic})
	c.bytes += size
	for c.bytes > c.budget {
		c.remove(c.order.Back())
		c.evictions++
	}
}

// Forget drops every picture of a video.
func (c *FrameCache) Forget(video string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for e := c.order.Front(); e != nil; {
		next := e.Next()
		if e.Value.(*cacheEntry).key.video == video {
			c.remove(e)
		}
		e = next
	}
}

func (c *FrameCache) remove(e *list.Element) {
	entry := c.order.Remove(e).(*cacheEntry)
	delete(c.items, entry.key)
	c.bytes -= int64(entry.pic.Bytes())
}

// CacheStats is a snapshot of the cache's counters.
type CacheStats struct {
	Pictures    int    `json:"pictures"`
	Bytes       int64  `json:"bytes"`
	BudgetBytes int64  `json:"budget_bytes"`
	Hits        uint64 `json:"hits"`
	Misses      uint64 `json:"misses"`
	Evictions   uint64 `json:"evictions"`
}

// Stats returns the cache's counters.
func (c *FrameCache) Stats() CacheStats {
	c.mu.Lock()
	defer c.mu.Unlock()
	return CacheStats{Pictures: len(c.items), Bytes: c.bytes, BudgetBytes: c.budget, Hits: c.hits, Misses: c.misses, Evictions: c.evictions}
}
