package frames

// #cgo pkg-config: gstreamer-1.0 gstreamer-video-1.0
// #include <gst/video/video.h>
//
// // pw_layout fills the plane layout of raw video caps in GStreamer's default arrangement
// // (what a decoder writes when downstream asked for no custom layout). It returns FALSE for
// // caps that are not raw video, or for formats whose planes are not rows of whole samples
// // (tiled, packed 4:2:2, palettes, multiple fields).
// static gboolean pw_layout(GstCaps *caps, int *width, int *height, int *planes,
//                           int stride[4], int offset[4], int row_bytes[4], int rows[4],
//                           const char **format) {
//     GstVideoInfo info;
//     if (!gst_video_info_from_caps(&info, caps))
//         return FALSE;
//     const GstVideoFormatInfo *f = info.finfo;
//     if (GST_VIDEO_FORMAT_INFO_IS_TILED(f) || GST_VIDEO_FORMAT_INFO_HAS_PALETTE(f) ||
//         GST_VIDEO_INFO_IS_INTERLACED(&info))
//         return FALSE;
//     *width = GST_VIDEO_INFO_WIDTH(&info);
//     *height = GST_VIDEO_INFO_HEIGHT(&info);
//     *planes = GST_VIDEO_INFO_N_PLANES(&info);
//     *format = gst_video_format_to_string(GST_VIDEO_INFO_FORMAT(&info));
//     for (int p = 0; p < *planes; p++) {
//         stride[p] = GST_VIDEO_INFO_PLANE_STRIDE(&info, p);
//         offset[p] = (int)GST_VIDEO_INFO_PLANE_OFFSET(&info, p);
//         row_bytes[p] = 0;
//         rows[p] = 0;
//     }
//     // A plane's row holds every component stored in it: sum their widths times pixel strides
//     // where they share the plane as separate samples (NV12's interleaved U and V have one
//     // pixel stride of 2 covering both, so take the widest, not the sum).
//     for (int c = 0; c < GST_VIDEO_INFO_N_COMPONENTS(&info); c++) {
//         int p = GST_VIDEO_INFO_COMP_PLANE(&info, c);
//         int bytes = GST_VIDEO_INFO_COMP_WIDTH(&info, c) * GST_VIDEO_INFO_COMP_PSTRIDE(&info, c);
//         if (bytes > row_bytes[p])
//             row_bytes[p] = bytes;
//         if (GST_VIDEO_INFO_COMP_HEIGHT(&info, c) > rows[p])
//             rows[p] = GST_VIDEO_INFO_COMP_HEIGHT(&info, c);
//     }
//     return TRUE;
// }
import "C"

import (
	"fmt"
	"unsafe"

	"github.com/go-gst/go-gst/gst"
)

// planeLayout says where a raw picture's planes lie in a decoder's buffer and how many bytes
// of each row are samples rather than padding.
type planeLayout struct {
	format        string
	width, height int
	planes        int
	stride        [4]int
	offset        [4]int
	rowBytes      [4]int
	rows          [4]int
}

// layoutOf reads the default layout of raw video caps.
func layoutOf(caps *gst.Caps) (planeLayout, error) {
	var l planeLayout
	var w, h, n C.int
	var stride, offset, rowBytes, rows [4]C.int
	var format *C.char
	if C.pw_layout((*C.GstCaps)(caps.Unsafe()), &w, &h, &n, &stride[0], &offset[0], &rowBytes[0], &rows[0], &format) == 0 {
		return l, fmt.Errorf("decoded video in a layout pigweight cannot read: %s", caps.String())
	}
	l.format, l.width, l.height, l.planes = C.GoString(format), int(w), int(h), int(n)
	for p := range l.planes {
		l.stride[p], l.offset[p], l.rowBytes[p], l.rows[p] = int(stride[p]), int(offset[p]), int(rowBytes[p]), int(rows[p])
	}
	return l, nil
}

// size is the smallest buffer that holds the layout's planes.
func (l planeLayout) size() int {
	end := 0
	for p := range l.planes {
		end = max(end, l.offset[p]+l.stride[p]*(l.rows[p]-1)+l.rowBytes[p])
	}
	return end
}

// pack copies a picture out of data (a mapped decoder buffer) into one allocation, plane
// after plane, each row only its samples: the layout ffmpeg's rawvideo writes.
func (l planeLayout) pack(data []byte) ([][]byte, error) {
	if len(data) < l.size() {
		return nil, fmt.Errorf("decoded %s %dx%d picture has %d bytes, its layout needs %d", l.format, l.width, l.height, len(data), l.size())
	}
	total := 0
	for p := range l.planes {
		total += l.rowBytes[p] * l.rows[p]
	}
	out := make([]byte, total)
	planes := make([][]byte, l.planes)
	at := 0
	for p := range l.planes {
		rb := l.rowBytes[p]
		plane := out[at : at+rb*l.rows[p]]
		if l.stride[p] == rb {
			copy(plane, data[l.offset[p]:])
		} else {
			for y := range l.rows[p] {
				src := l.offset[p] + y*l.stride[p]
				copy(plane[y*rb:(y+1)*rb], data[src:src+rb])
			}
		}
		planes[p] = plane
		at += len(plane)
	}
	return planes, nil
}

// mapped returns the bytes of a buffer mapped for reading; call unmap when done.
func mapped(buf *gst.Buffer) (data []byte, unmap func()) {
	mi := buf.Map(gst.MapRead)
	if mi == nil {
		return nil, func() {}
	}
	return unsafe.Slice((*byte)(mi.Data()), int(mi.Size())), buf.Unmap
}
