package main

import "testing"

func TestGoMemoryLimit(t *testing.T) {
	for _, c := range []struct {
		cache int64
		env   string
		limit int64
		ok    bool
	}{
		{512 << 20, "", 1 << 30, true},
		{0, "", 0, false},             // no cache: Go's defaults suit the rest
		{512 << 20, "2GiB", 0, false}, // the operator's GOMEMLIMIT rules
	} {
		if limit, ok := goMemoryLimit(c.cache, c.env); limit != c.limit || ok != c.ok {
			t.Errorf("cache %d, GOMEMLIMIT %q: %d %v, want %d %v", c.cache, c.env, limit, ok, c.limit, c.ok)
		}
	}
}
