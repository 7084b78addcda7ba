package main

import (
	"log/slog"
	"testing"
)

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

func TestParseCgroupMemoryMax(t *testing.T) {
	for _, c := range []struct {
		in    string
		bytes uint64
		ok    bool
	}{
		{"2147483648\n", 2 << 30, true},
		{"max\n", 0, false}, // no limit: the machine's memory counts
		{"", 0, false},
	} {
		if bytes, ok := parseCgroupMemoryMax(c.in); bytes != c.bytes || ok != c.ok {
			t.Errorf("%q: %d %v, want %d %v", c.in, bytes, ok, c.bytes, c.ok)
		}
	}
}

// machineMemory reads an amount a machine that runs the tests can have.
func TestMachineMemory(t *testing.T) {
	if got := machineMemory(slog.New(slog.DiscardHandler)); got < 64<<20 {
		t.Errorf("machine memory %d bytes", got)
	}
}
