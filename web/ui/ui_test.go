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
		{file: "index.html", want: []string{`href="/ui/style.css"`, `src="/ui/app.js"`, `href="/docs"`}},
		{file: "app.js", want: []string{"/api/v1", "/pipelines", "/system", "'/view/'", "localStorage", "Authorization", "Bearer "}},
		{file: "style.css", want: []string{".badge.playing", ".badge.failed"}},
		{file: "view.html", want: []string{`href="/ui/view.css"`, `src="/ui/view.js"`, "<video", "autoplay", "muted", "playsinline", "<canvas"}},
		{file: "view.js", want: []string{"'/ws'", "'join'", "'answer'", "'candidate'", "requestVideoFrameCallback", "rtpTimestamp", "'detections'", "getStats", "textContent"}},
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
			for _, bad := range []string{"http://", "https://", "//cdn", "@import", "innerHTML", "outerHTML", "insertAdjacentHTML", "document.write", "eval("} {
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
