package store

import (
	"context"
	"path/filepath"
	"testing"
	"time"
)

// BenchmarkAddVisit is the cost of one durable visit: a transaction of its own. FULL shows
// what an fsync per commit (surviving power loss, not just a crash) would cost.
func BenchmarkAddVisit(b *testing.B) {
	for _, sync := range []string{"NORMAL", "FULL"} {
		b.Run("synchronous="+sync, func(b *testing.B) {
			s, err := open(context.Background(), filepath.Join(b.TempDir(), "pigweight.db"), sync)
			if err != nil {
				b.Fatal(err)
			}
			defer s.Close()
			ctx := context.Background()
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				if _, err := s.AddVisit(ctx, "cam", visit("pen-1", int64(i), t0.Add(time.Duration(i)*time.Second))); err != nil {
					b.Fatal(err)
				}
				i++
			}
		})
	}
	b.Run("synchronous=NORMAL/parallel", func(b *testing.B) {
		s := openTest(b)
		ctx := context.Background()
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				if _, err := s.AddVisit(ctx, "cam", visit("pen-1", 1, t0)); err != nil {
					b.Error(err)
					return
				}
			}
		})
	})
}

// BenchmarkVisits is a day's page of visits of one pen among a week of them.
func BenchmarkVisits(b *testing.B) {
	s := openTest(b)
	ctx := context.Background()
	// A week at 3 visits a minute.
	for i := range 7 * 24 * 60 * 3 {
		if _, err := s.AddVisit(ctx, "cam", visit("pen-1", int64(i), t0.Add(time.Duration(i)*20*time.Second))); err != nil {
			b.Fatal(err)
		}
	}
	from := t0.Add(72 * time.Hour)
	b.ReportAllocs()
	for b.Loop() {
		vs, err := s.Visits(ctx, "pen-1", from, from.Add(24*time.Hour), 100)
		if err != nil || len(vs) != 100 {
			b.Fatal(len(vs), err)
		}
	}
}
