// Package videos is the library of recordings farmers upload: it stores each file under the
// data directory, indexes it once (package index) so that any exact frame can be fetched, and
// runs batch inference jobs over frame ranges.
//
// # Storage
//
// Under Config.Dir:
//
//	videos/<id>.<ext>   the file as uploaded (ext from the container: mp4, mkv, ts)
//	videos/<id>.json    its metadata (Video as JSON); its presence commits the upload
//	index/<sha256>.pwidx its index sidecar (index.Save), a cache rebuilt when missing
//	jobs/<job>.json     a job's record (Job without results), written when queued and ended
//	jobs/<job>.results  its results, a FrameResult (JSON) per line, appended as they come
//
// The id is the first 16 hex digits of the file's SHA-256, so the same recording uploaded
// twice is stored once. The client's file name is kept for display only and never becomes a
// path.
//
// # Uploads
//
// Upload streams the body to a temporary file (never into memory), hashing and counting as it
// writes, refuses what is clearly not a video container from its first bytes, then builds the
// index and saves the sidecar; only then is the file renamed into place and its metadata
// written. Any failure removes the temporary file, and New removes those an interrupted
// process left behind, so a partial file never shows up as a video. While it runs, an upload
// is listed under a provisional id ("upload-…") with its state and progress.
//
// # Frames and jobs
//
// Decoding is not done here: Library asks a FrameSource (package frames, GStreamer) for frame
// n and an Analyser for its detections. Jobs run on goroutines the Library owns, at most
// Config.JobWorkers at a time; Close stops them and waits. A job stopped by Close or a crash
// keeps the record of a queued job, and New resumes it after its last saved result.
package videos
