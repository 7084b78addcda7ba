package main

import (
	"log/slog"
	"os"
	"runtime/debug"
	"strconv"
	"strings"
	"syscall"
)

// goHeapBeyondCache is the Go memory allowed besides the decoded-frame cache before the
// garbage collector works harder: the server's own live heap is ~120 MB with a camera and an
// open video here, so this leaves it room to grow four times.
const goHeapBeyondCache = 512 << 20

// limitGoMemory keeps the Go heap near what the frame cache is configured to hold. The cache
// is long-lived data, and Go lets a heap grow to twice its live data between collections: with
// the default 512 MiB cache full, the process reached 1.7 GB of RSS instead of 1.3 (a soft
// limit; frame latency unchanged). GOMEMLIMIT, when set, is left to rule.
func limitGoMemory(frameCacheBytes int64, log *slog.Logger) {
	limit, ok := goMemoryLimit(frameCacheBytes, os.Getenv("GOMEMLIMIT"))
	if !ok {
		return
	}
	debug.SetMemoryLimit(limit)
	log.Debug("Go memory limit", "bytes", limit)
}

func goMemoryLimit(frameCacheBytes int64, env string) (int64, bool) {
	if env != "" || frameCacheBytes <= 0 {
		return 0, false
	}
	return frameCacheBytes + goHeapBeyondCache, true
}

// cgroupMemoryMax is where cgroup v2 says how much memory this process's group may use
// ("max" for no limit): a container's share of the machine.
const cgroupMemoryMax = "/sys/fs/cgroup/memory.max"

// machineMemory is the memory this process can have, in bytes: the machine's (sysinfo's
// total RAM), or its cgroup's limit where that is lower, since a container's MemTotal is the
// host's. It is what the number of warm decoders is derived from; 0 when unknown (then the
// fewest are kept warm).
func machineMemory(log *slog.Logger) uint64 {
	var info syscall.Sysinfo_t
	if err := syscall.Sysinfo(&info); err != nil {
		log.Warn("cannot read the machine's memory; few uploaded videos keep a warm decoder; set server.warm_decoders", "err", err)
		return 0
	}
	total := info.Totalram * uint64(info.Unit)
	if data, err := os.ReadFile(cgroupMemoryMax); err == nil {
		if limit, ok := parseCgroupMemoryMax(string(data)); ok {
			total = min(total, limit)
		}
	}
	return total
}

// parseCgroupMemoryMax reads memory.max: a number of bytes, or "max" (ok false: no limit).
func parseCgroupMemoryMax(s string) (uint64, bool) {
	n, err := strconv.ParseUint(strings.TrimSpace(s), 10, 64)
	return n, err == nil
}
