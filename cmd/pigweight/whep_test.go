package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/pigweight/pigweight/signaling/fanout/fanouttest"
)

// A Go (Pion) WHEP client pulls the demo pen from a running server and receives frames,
// starting with a keyframe at once (the hub's cached one).
func TestWHEPClientReceivesTheDemoPen(t *testing.T) {
	srv := startServer(t, "--config", defaultConfigWithModel(t))
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	client, offer, location := whepConnect(ctx, t, srv, "demo-pen")
	answered := time.Now()
	var first time.Duration
	for i := 0; i < 30; i++ {
		select {
		case f := <-client.Frames():
			if i == 0 {
				first = time.Since(answered)
				if !f.Keyframe {
					t.Error("the first frame is not a keyframe")
				}
			}
		case <-ctx.Done():
			t.Fatalf("only %d frames over WHEP", i)
		}
	}
	t.Logf("first frame %v after the answer", first.Round(time.Millisecond))

	req, _ := http.NewRequest("DELETE", srv.base+location, nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil || resp.StatusCode != http.StatusNoContent {
		t.Fatalf("DELETE %s: %v %v", location, resp, err)
	}
	resp.Body.Close()
	resp, err = http.Post(srv.base+"/whep/no-such-pen", "application/sdp", strings.NewReader(offer))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNotFound {
		t.Fatalf("unknown stream: %d", resp.StatusCode)
	}
	srv.stop(t)
}

// overlay: burn: the demo pen is encoded once with its detections drawn in, and a WHEP
// player receives that H.264 stream starting at a keyframe.
func TestWHEPBurnedOverlayStream(t *testing.T) {
	cfg := fmt.Sprintf("models:\n  - name: demo\n    path: %s\n    format: mask\n    classes: [pig]\npipelines:\n  - name: burned\n    source: {type: synthetic}\n    inference: {enabled: true, model: demo}\n    outputs: [{type: webrtc, overlay: burn}]\n", writeDemoModel(t))
	srv := startServerWithConfig(t, cfg)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	client, _, _ := whepConnect(ctx, t, srv, "burned")
	for i := range 20 {
		select {
		case f := <-client.Frames():
			if i == 0 && !f.Keyframe {
				t.Error("the first frame is not a keyframe")
			}
		case <-ctx.Done():
			t.Fatalf("only %d frames of the burned stream\n%s", i, srv.logs.String())
		}
	}
	srv.stop(t)
}

// whepConnect pulls stream from srv with a Go WHEP client (closed when the test ends), waiting
// for the pipeline's first keyframe, and returns the client, its offer and the session URL.
func whepConnect(ctx context.Context, t *testing.T, srv *server, stream string) (client *fanouttest.Client, offer, location string) {
	t.Helper()
	api, err := fanouttest.NewAPI()
	if err != nil {
		t.Fatal(err)
	}
	client, err = fanouttest.NewClient(api)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { client.Close() })
	if offer, err = client.Offer(ctx); err != nil {
		t.Fatal(err)
	}
	// The pipeline needs a moment to produce its first keyframe after start-up.
	for {
		resp, err := http.Post(srv.base+"/whep/"+stream, "application/sdp", strings.NewReader(offer))
		if err != nil {
			t.Fatal(err)
		}
		answer, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode == http.StatusCreated {
			if err := client.SetAnswer(string(answer)); err != nil {
				t.Fatal(err)
			}
			return client, offer, resp.Header.Get("Location")
		}
		if ctx.Err() != nil {
			t.Fatalf("WHEP POST: %d %s\n%s", resp.StatusCode, answer, srv.logs.String())
		}
		time.Sleep(200 * time.Millisecond)
	}
}
