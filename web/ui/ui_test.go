package ui

import (
	"io/fs"
	"strings"
	"testing"
)

func TestFS(t *testing.T) {
	tests := []struct {
		file string
		// want are strings the file must contain: the asset paths web/api serves, and the
		// API routes the page calls.
		want []string
	}{
		{file: "index.html", want: []string{`href="/ui/style.css"`, `src="/ui/app.js"`, `href="/docs"`,
			// The videos section: upload form, table, frame viewer; app.js finds them by id.
			`<th class="num" title="browsers and WHEP players receiving the stream now">Viewers</th>`,
			`id="upload"`, `id="upload-file" name="file" type="file"`, `<progress id="upload-progress"`, `id="upload-result"`,
			`id="videos-notice"`, `id="video-rows"`, `id="videos-empty"`,
			`id="viewer"`, `id="viewer-title"`, `id="viewer-close"`, `id="frame-stage"`, `<img id="frame"`,
			`id="frame-slider" type="range"`, `id="frame-number" type="number"`, `id="frame-prev"`, `id="frame-next"`, `id="frame-info"`, `id="frame-error"`}},
		{file: "app.js", want: []string{"/api/v1", "/pipelines", "/system", "'/view/'", "localStorage", "Authorization", "Bearer ",
			"// --- videos", "'/videos'", "'/frames/'", "'/infer'", "'/jobs'", "'/results.csv'",
			// Upload progress needs XMLHttpRequest; fetch reports no bytes sent.
			"new XMLHttpRequest()", "xhr.upload.addEventListener('progress'", "indexing…",
			"'ArrowLeft'", "'ArrowRight'", "confirm(", "p.viewers"}},
		{file: "style.css", want: []string{".badge.playing", ".badge.failed", ".badge.ready", ".badge.indexing", ".frame-stage"}},
		{file: "view.html", want: []string{`href="/ui/view.css"`, `src="/ui/view.js"`, "<video", "autoplay", "muted", "playsinline", "<canvas", `id="stat-viewers"`}},
		{file: "view.js", want: []string{"'/ws'", "'join'", "'answer'", "'candidate'", "requestVideoFrameCallback", "rtpTimestamp", "'detections'", "getStats", "textContent", "'/api/v1/pipelines/'", "'stat-viewers'", "p.viewers"}},
		{file: "view.css", want: []string{".stage"}},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			data, err := fs.ReadFile(FS(), tt.file)
			if err != nil {
				t.Fatal(err)
			}
			for _, w := range tt.want {
				if !strings.Contains(string(data), w) {
					t.Errorf("%s lacks %q", tt.file, w)
				}
			}
			// The machines serving the page have no internet, and data must reach the DOM
			// as text only.
			// The pages' CSP (default-src 'self'; img-src 'self' data:) refuses blob: URLs.
			for _, bad := range []string{"http://", "https://", "//cdn", "@import", "innerHTML", "outerHTML", "insertAdjacentHTML", "document.write", "eval(", "createObjectURL", "blob:"} {
				if strings.Contains(string(data), bad) {
					t.Errorf("%s contains %q", tt.file, bad)
				}
			}
		})
	}
}

func TestFSHasOnlyThePage(t *testing.T) {
	var files []string
	err := fs.WalkDir(FS(), ".", func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.IsDir() {
			files = append(files, path)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(files, ","); got != "app.js,index.html,style.css,view.css,view.html,view.js" {
		t.Errorf("files = %s", got)
	}
}
