package pipelines_test

import (
	"net"
	"strings"
	"testing"
	"time"

	"github.com/pigweight/pigweight/pipelines"
	"github.com/pigweight/pigweight/pipelines/pen"
	"github.com/pigweight/pigweight/pipelines/simcam"
	"github.com/pigweight/pigweight/pipelines/spec"
)

// Backoff bounds for the camera tests: short, so that recovery is quick to observe.
const (
	backoffMin = 200 * time.Millisecond
	backoffMax = time.Second
)

// startCamera serves a small synthetic pen over RTSP on addr; it is closed at the end of the test.
func startCamera(t *testing.T, addr string) *simcam.Camera {
	t.Helper()
	cam, err := simcam.Start(simcam.Config{
		Addr: addr, User: "viewer", Pass: "s3cret",
		Pen: pen.Config{Width: 160, Height: 120, FPS: 30, Pigs: 4, Seed: 1},
	})
	if err != nil {
		t.Fatalf("simcam: %v", err)
	}
	t.Cleanup(func() { cam.Close() })
	return cam
}

// cameraPipeline reads the camera at url with the test's credentials.
func cameraPipeline(t *testing.T, name, url string, watchdog time.Duration) spec.Pipeline {
	t.Helper()
	p := spec.DefaultPipeline()
	p.Name = name
	p.Source.Type = spec.SourceRTSP
	p.Source.URI = strings.Replace(url, "rtsp://", "rtsp://viewer:s3cret@", 1)
	p.Source.Transport = spec.TransportTCP
	p.Source.Latency = spec.Duration(100 * time.Millisecond)
	p.Source.Watchdog = spec.Duration(watchdog)
	p.Restart = spec.Restart{BackoffMin: spec.Duration(backoffMin), BackoffMax: spec.Duration(backoffMax)}
	if err := p.Validate(nil); err != nil {
		t.Fatal(err)
	}
	return p
}

// freeAddr returns a loopback address with a port nobody listens on (yet).
func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}

func inState(state pipelines.State) func(pipelines.Status) bool {
	return func(st pipelines.Status) bool { return st.State == state }
}

// A camera that goes away is retried without disturbing a second pipeline, and plays again
// within backoff_max + 2 s of coming back.
func TestCameraDropsAndComesBack(t *testing.T) {
	addr := freeAddr(t)
	cam := startCamera(t, addr)
	m := newManager(t)
	if err := m.Add(synthetic(t, "steady")); err != nil {
		t.Fatal(err)
	}
	if err := m.Add(cameraPipeline(t, "cam", cam.URL(), 10*time.Second)); err != nil {
		t.Fatal(err)
	}
	waitStatus(t, m, "cam", "playing", playingWith(30))
	waitStatus(t, m, "steady", "playing", playingWith(1))

	cam.Close()
	st := waitStatus(t, m, "cam", "retrying", inState(pipelines.StateRetrying))
	if strings.Contains(st.LastError, "s3cret") || strings.Contains(st.Spec.Source.URI, "s3cret") {
		t.Errorf("status shows the password: %+v", st)
	}
	before := status(t, m, "steady")
	time.Sleep(2 * time.Second)
	after := status(t, m, "steady")
	if after.State != pipelines.StatePlaying || after.Frames-before.Frames < 45 {
		t.Errorf("the other pipeline was disturbed: %d frames in 2 s at 30 fps", after.Frames-before.Frames)
	}

	back := time.Now()
	startCamera(t, addr)
	waitStatus(t, m, "cam", "playing again", func(st pipelines.Status) bool {
		return st.State == pipelines.StatePlaying && st.Since.After(back)
	})
	if took := time.Since(back); took > backoffMax+2*time.Second {
		t.Errorf("took %v to recover, want ≤ backoff max + 2 s = %v", took, backoffMax+2*time.Second)
	}
}

// A camera on a lossy link, which drops its connection every few seconds, comes back after
// backoff_min each time: the backoff grows only while attempts show no video. (It used to
// double at every drop that came within 10 s of the last: the sixth wait was 6.4 s.)
func TestFlappingCameraComesBackEachTime(t *testing.T) {
	cam := startCamera(t, freeAddr(t))
	m := newManager(t)
	p := cameraPipeline(t, "flapping", cam.URL(), 10*time.Second)
	p.Restart.BackoffMax = spec.Duration(10 * time.Second)
	if err := m.Add(p); err != nil {
		t.Fatal(err)
	}
	for drop := 1; drop <= 6; drop++ {
		st := waitStatus(t, m, "flapping", "playing", playingWith(1))
		time.Sleep(time.Until(st.Since.Add(1200 * time.Millisecond)))
		dropped := time.Now()
		cam.Drop()
		waitStatus(t, m, "flapping", "playing again", func(st pipelines.Status) bool {
			return st.State == pipelines.StatePlaying && st.Since.After(dropped)
		})
		if took := time.Since(dropped); took > 3500*time.Millisecond {
			t.Fatalf("drop %d: back after %v, want about backoff min (%v) plus reconnecting", drop, took.Round(time.Millisecond), backoffMin)
		}
	}
}

// A camera that is down when the server starts is picked up once it comes up.
func TestCameraDownAtStartup(t *testing.T) {
	addr := freeAddr(t)
	m := newManager(t)
	if err := m.Add(cameraPipeline(t, "late", "rtsp://"+addr+"/pen", 10*time.Second)); err != nil {
		t.Fatal(err)
	}
	waitStatus(t, m, "late", "two failed attempts", func(st pipelines.Status) bool { return st.Restarts >= 2 })
	up := time.Now()
	startCamera(t, addr)
	waitStatus(t, m, "late", "playing", playingWith(1))
	if took := time.Since(up); took > backoffMax+2*time.Second {
		t.Errorf("took %v after the camera came up, want ≤ %v", took, backoffMax+2*time.Second)
	}
}

// Video that stops while the RTSP session stays open trips the watchdog, which restarts the
// source; when video resumes, so does the pipeline.
func TestStalledVideoTripsTheWatchdog(t *testing.T) {
	cam := startCamera(t, freeAddr(t))
	m := newManager(t)
	if err := m.Add(cameraPipeline(t, "stall", cam.URL(), 2*time.Second)); err != nil {
		t.Fatal(err)
	}
	waitStatus(t, m, "stall", "playing", playingWith(30))
	cam.Stall(true)
	st := waitStatus(t, m, "stall", "watchdog restart", func(st pipelines.Status) bool { return st.Restarts >= 1 })
	if !strings.Contains(st.LastError, "no video") {
		t.Errorf("last error %q, want the watchdog's", st.LastError)
	}
	cam.Stall(false)
	resumed := st.Frames
	waitStatus(t, m, "stall", "playing after the stall", playingWith(resumed+30))
}

// Wrong credentials are a failure to retry, reported without the password.
func TestWrongPasswordIsRetriedAndRedacted(t *testing.T) {
	cam := startCamera(t, freeAddr(t))
	m := newManager(t)
	p := cameraPipeline(t, "denied", cam.URL(), 10*time.Second)
	p.Source.URI = strings.Replace(p.Source.URI, "s3cret", "wrong-pw", 1)
	if err := m.Add(p); err != nil {
		t.Fatal(err)
	}
	st := waitStatus(t, m, "denied", "a failure", func(st pipelines.Status) bool { return st.Restarts >= 1 })
	if st.LastError == "" || strings.Contains(st.LastError, "wrong-pw") || strings.Contains(st.Spec.Source.URI, "wrong-pw") {
		t.Errorf("status %+v: want an error without the password", st)
	}
}
