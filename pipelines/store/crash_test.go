package store

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/pigweight/pigweight/elements/weight"
)

// crashEnv names the database TestCrashChild writes to; it is set only in the child.
const crashEnv = "PIGWEIGHT_STORE_CRASH_DB"

// TestCrash runs TestCrashChild in a child process, reads the ids it acknowledges, kills it
// with SIGKILL in the middle of its writes and checks that every acknowledged visit survived:
// what WAL with synchronous=NORMAL promises for a process crash.
func TestCrash(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a child process")
	}
	const want = 300
	path := filepath.Join(t.TempDir(), "pigweight.db")
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, os.Args[0], "-test.run=^TestCrashChild$", "-test.count=1")
	cmd.Env = append(os.Environ(), crashEnv+"="+path)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}

	var acked []int64
	lines := bufio.NewScanner(stdout)
	for len(acked) < want && lines.Scan() {
		line, ok := strings.CutPrefix(lines.Text(), "ack ")
		if !ok {
			continue // the test framework's own output
		}
		id, err := strconv.ParseInt(line, 10, 64)
		if err != nil {
			t.Fatalf("child printed %q", lines.Text())
		}
		acked = append(acked, id)
	}
	if err := cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	err = cmd.Wait()
	if len(acked) < want {
		t.Fatalf("child acknowledged only %d visits before it stopped (%v):\n%s", len(acked), err, stderr.Bytes())
	}
	var exit *exec.ExitError
	if !errors.As(err, &exit) || exit.Success() || exit.ExitCode() != -1 {
		t.Fatalf("child did not die of the kill: %v\n%s", err, stderr.Bytes())
	}
	// The kill left the log behind, so the reopen below recovers from it rather than reading a
	// checkpointed file.
	if _, err := os.Stat(path + "-wal"); err != nil {
		t.Errorf("no WAL after the kill: %v", err)
	}

	s := openAt(t, path)
	var check string
	if err := s.reader.QueryRowContext(ctx, `PRAGMA integrity_check`).Scan(&check); err != nil || check != "ok" {
		t.Fatalf("integrity_check: %q, %v", check, err)
	}
	vs, err := s.Visits(ctx, "crash", time.Time{}, time.Time{}, 0)
	if err != nil {
		t.Fatal(err)
	}
	stored := map[int64]bool{}
	for _, v := range vs {
		stored[v.ID] = true
	}
	for _, id := range acked {
		if !stored[id] {
			t.Errorf("acknowledged visit %d was lost", id)
		}
	}
	t.Logf("%d visits acknowledged before the kill, %d stored", len(acked), len(vs))
}

// TestCrashChild is the child of TestCrash: it adds visits until it is killed, printing each
// id once AddVisit has returned it.
func TestCrashChild(t *testing.T) {
	path := os.Getenv(crashEnv)
	if path == "" {
		t.Skip("run by TestCrash")
	}
	ctx := context.Background()
	s, err := Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	// Bounded, in case the parent dies without killing it.
	deadline := time.Now().Add(time.Minute)
	for i := 0; time.Now().Before(deadline); i++ {
		v := weight.Visit{Pen: "crash", Track: int64(i), Start: t0.Add(time.Duration(i) * time.Second),
			End: t0.Add(time.Duration(i)*time.Second + time.Millisecond), WeightKg: 90, Frames: 10}
		id, err := s.AddVisit(ctx, "crash", v)
		if err != nil {
			t.Fatal(err)
		}
		// os.Stdout is unbuffered: the parent has the line once Write returns.
		if _, err := fmt.Fprintf(os.Stdout, "ack %d\n", id); err != nil {
			t.Fatal(err)
		}
	}
	t.Fatal("not killed within a minute")
}
