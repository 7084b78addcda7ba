package index

import (
	"bufio"
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// The tests make their clips with the ffmpeg and ffprobe binaries and take ffmpeg's word for
// what the frames are.

func needFFmpeg(t testing.TB) {
	t.Helper()
	for _, bin := range []string{"ffmpeg", "ffprobe"} {
		if _, err := exec.LookPath(bin); err != nil {
			t.Skipf("%s is not installed", bin)
		}
	}
}

// run runs a command and returns its standard output; a failure ends the test.
func run(t testing.TB, name string, args ...string) []byte {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, stderr.String())
	}
	return stdout.Bytes()
}

// makeClip runs ffmpeg with args and the output path dir/name, and returns the path.
func makeClip(t testing.TB, dir, name string, args ...string) string {
	t.Helper()
	out := filepath.Join(dir, name)
	all := append([]string{"-hide_banner", "-loglevel", "error", "-nostdin", "-y"}, args...)
	run(t, "ffmpeg", append(all, out)...)
	return out
}

// testSource is a few seconds of ffmpeg's test pattern, which changes every frame.
func testSource(size string, rate, seconds int) []string {
	return []string{"-f", "lavfi", "-i", fmt.Sprintf("testsrc=size=%s:rate=%d:duration=%d", size, rate, seconds)}
}

// md5Frame is one line of ffmpeg's framemd5 output.
type md5Frame struct {
	pts  int64
	hash string
}

// frameMD5 returns what ffmpeg decodes from path, in the numbering the index copies, and the
// time base of the pts column ("1/12800"). With exact set, the encoder keeps the demuxer's
// time base (-enc_time_base -1) so that timestamps compare exactly; without, the command is
// the one the package documentation names.
func frameMD5(t testing.TB, path string, exact bool) ([]md5Frame, string) {
	t.Helper()
	args := []string{"-hide_banner", "-loglevel", "error", "-nostdin", "-i", path, "-map", "0:v:0", "-fps_mode", "passthrough"}
	if exact {
		args = append(args, "-enc_time_base", "-1")
	}
	out := run(t, "ffmpeg", append(args, "-f", "framemd5", "-")...)
	return parseFrameMD5(t, out)
}

func parseFrameMD5(t testing.TB, out []byte) ([]md5Frame, string) {
	t.Helper()
	var frames []md5Frame
	tb := ""
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		line := sc.Text()
		if rest, ok := strings.CutPrefix(line, "#tb 0: "); ok {
			tb = strings.TrimSpace(rest)
		}
		if line == "" || line[0] == '#' {
			continue
		}
		f := strings.Split(line, ",")
		if len(f) < 6 {
			t.Fatalf("framemd5 line %q", line)
		}
		pts, err := strconv.ParseInt(strings.TrimSpace(f[2]), 10, 64)
		if err != nil {
			t.Fatalf("framemd5 line %q: %v", line, err)
		}
		frames = append(frames, md5Frame{pts: pts, hash: strings.TrimSpace(f[5])})
	}
	return frames, tb
}

// probePacket is one packet of the first video stream as ffprobe shows it.
type probePacket struct {
	pts, dts  int64
	hasDTS    bool
	pos, size int64
	key, disc bool
}

// probePackets returns ffprobe's packets of the first video stream, in demuxing order.
func probePackets(t testing.TB, path string) []probePacket {
	t.Helper()
	out := run(t, "ffprobe", "-v", "error", "-select_streams", "v:0", "-show_packets",
		"-show_entries", "packet=pts,dts,flags,pos,size", "-of", "compact=p=0", path)
	var pkts []probePacket
	for _, line := range strings.Split(string(out), "\n") {
		if !strings.Contains(line, "pts=") {
			continue
		}
		var p probePacket
		for _, kv := range strings.Split(line, "|") {
			k, v, _ := strings.Cut(kv, "=")
			n, err := strconv.ParseInt(v, 10, 64)
			switch k {
			case "pts":
				p.pts = n
			case "dts":
				p.dts, p.hasDTS = n, err == nil
			case "pos":
				p.pos = n
			case "size":
				p.size = n
			case "flags":
				p.key, p.disc = strings.Contains(v, "K"), strings.Contains(v, "D")
			}
		}
		pkts = append(pkts, p)
	}
	return pkts
}

// probeStream returns the first video stream's start_pts, time_base, width and height.
func probeStream(t testing.TB, path string) (startPTS int64, tb string, w, h int) {
	t.Helper()
	out := run(t, "ffprobe", "-v", "error", "-select_streams", "v:0", "-show_entries",
		"stream=start_pts,time_base,width,height", "-of", "compact=p=0", path)
	for _, kv := range strings.Split(strings.TrimSpace(string(out)), "|") {
		k, v, _ := strings.Cut(kv, "=")
		n, _ := strconv.ParseInt(v, 10, 64)
		switch k {
		case "start_pts":
			startPTS = n
		case "time_base":
			tb = v
		case "width":
			w = int(n)
		case "height":
			h = int(n)
		}
	}
	return startPTS, tb, w, h
}

// annexB writes the samples Samples[start:end] of an MP4 or Matroska index as an Annex B
// stream, parameter sets first, as a decoder that is fed from a sync sample would get them.
func annexB(t testing.TB, path string, ix *Index, start, end int) []byte {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	sc := []byte{0, 0, 0, 1}
	cfg := ix.CodecConfig
	u16 := func(b []byte) int { return int(binary.BigEndian.Uint16(b)) }
	if ix.Codec == CodecH264 {
		p := 5
		for _, mask := range []byte{0x1f, 0xff} {
			n := int(cfg[p] & mask)
			p++
			for i := 0; i < n; i++ {
				l := u16(cfg[p:])
				out.Write(sc)
				out.Write(cfg[p+2 : p+2+l])
				p += 2 + l
			}
		}
	} else {
		p := 22
		arrays := int(cfg[p])
		p++
		for a := 0; a < arrays; a++ {
			n := u16(cfg[p+1:])
			p += 3
			for i := 0; i < n; i++ {
				l := u16(cfg[p:])
				out.Write(sc)
				out.Write(cfg[p+2 : p+2+l])
				p += 2 + l
			}
		}
	}
	ls := ix.NALLengthSize
	for _, s := range ix.Samples[start:end] {
		b := data[s.Offset : s.Offset+int64(s.Size)]
		for len(b) >= ls {
			var l int
			for _, c := range b[:ls] {
				l = l<<8 | int(c)
			}
			b = b[ls:]
			if l > len(b) {
				t.Fatalf("sample at %d: NAL of %d bytes, %d left", s.Offset, l, len(b))
			}
			out.Write(sc)
			out.Write(b[:l])
			b = b[l:]
		}
	}
	return out.Bytes()
}

// decodeAnnexB decodes an Annex B stream with ffmpeg and returns the frames' MD5s.
func decodeAnnexB(t testing.TB, dir, codec string, stream []byte) []string {
	t.Helper()
	in, err := os.CreateTemp(dir, "annexb-*."+codec)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := in.Write(stream); err != nil {
		t.Fatal(err)
	}
	in.Close()
	demux := "h264"
	if codec == CodecH265 {
		demux = "hevc"
	}
	out := run(t, "ffmpeg", "-hide_banner", "-loglevel", "quiet", "-nostdin", "-f", demux, "-i", in.Name(),
		"-fps_mode", "passthrough", "-f", "framemd5", "-")
	frames, _ := parseFrameMD5(t, out)
	hashes := make([]string, len(frames))
	for i, f := range frames {
		hashes[i] = f.hash
	}
	return hashes
}
