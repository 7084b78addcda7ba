// Package index reads a video file's own tables once and lists every picture it shows, so that
// the server can return exactly frame N of a farmer's recording without decoding from the start.
//
// # Numbering
//
// Frame N is the N-th picture (0-based) in presentation order of the first video track, after
// the container's edit list: the numbering of
//
//	ffmpeg -i FILE -map 0:v:0 -fps_mode passthrough -f framemd5 -
//
// [Index.Frames] lists those pictures; [Index.Samples] lists every coded sample the decoder is
// fed, in decode order, including the ones the edit list hides. To produce frame N, feed
// Samples[Frames[N].Start] up to and including Samples[Frames[N].Decode] to a decoder, drain it,
// and keep the output picture whose timestamp is Frames[N].PTS ([Index.DecodeRange]).
//
// What the numbering copies from ffmpeg (libavformat and libavcodec 5.1, checked by the tests
// against the ffmpeg and ffprobe binaries):
//
//   - MP4 edit lists are applied the way mov.c's mov_fix_index does: decoding starts at the
//     sync sample at or before the edit's media time, pictures whose presentation time falls
//     outside the edit are decoded but not shown, empty edits delay the track, and when the
//     earliest shown picture would not start at zero (or at the empty edits' length) every
//     timestamp is shifted so that it does. An edit list that plays samples twice makes them
//     appear twice in Samples. Fragmented MP4 files get no edit list treatment (ffmpeg applies
//     it before any fragment is read), only the edit's time offset.
//   - Pictures decoded before the first sync sample are not shown: ffmpeg's decoders drop what
//     they cannot reconstruct. Nor are the RASL pictures of an HEVC stream that starts with a
//     CRA or BLA picture.
//   - PTS and DTS are the demuxer's (what ffprobe -show_packets prints). ffmpeg's command line
//     subtracts the file's start time before writing framemd5, so framemd5 starts at zero
//     where Frames[0].PTS may not (MPEG-TS, MP4 without an edit list and with B-frames).
//
// # Containers
//
// MP4/MOV (progressive and fragmented), Matroska/WebM and MPEG-TS (188-byte packets, and the
// 192-byte packets of M2TS/AVCHD) carrying H.264 or H.265. The container is recognised by its
// content, never by the file name. MP4 and Matroska samples are one contiguous, NAL-length
// prefixed byte range; an MPEG-TS sample is the span of transport packets that carry one PES
// packet, which the consumer must demultiplex again (Annex B byte stream, NALLengthSize 0).
//
// # Hostile input
//
// Build never panics, never loops without bound and never allocates from a count it has not
// checked against the file's size; at most [MaxSamples] samples are indexed. Files that are not
// a video container it can index give an error matching [ErrUnsupported]; tables that contradict
// each other or the file (offsets past the end, counts that do not add up, a truncated file)
// give one matching [ErrCorrupt].
//
// # Sidecars
//
// [Open] keys an index by the SHA-256 of the file's content ([Hash]) and keeps it as a sidecar
// file in a data directory ([Index.Save], [Load]); a sidecar that is corrupt, of another
// version, or made for other content is rebuilt, never trusted.
package index
