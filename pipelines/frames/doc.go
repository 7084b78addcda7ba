// Package frames returns exactly the frame asked for from a stored video.
//
// Frame n is the n-th picture in presentation order of the first video track after the
// container's edit list, the numbering of pipelines/index (and of ffmpeg's framemd5). To get
// it, a decoder is fed exactly the samples it needs, in decode order, starting at the
// keyframe the index names for n: no seeking by time, no guessing from the frame rate.
//
// Each open video keeps a warm decoder owned by one goroutine, so scrubbing forward
// continues where the last request stopped instead of starting over at a keyframe. The
// videos with a warm decoder are capped (Config.WarmDecoders, ~26 MB each at 1080p): past the
// cap the least recently used one no request waits on is closed first. The frame asked for
// and the ten pictures before it go into a byte-bounded LRU cache (stepping back is then a
// hit), and while nobody asks for anything the decoder runs a few frames ahead (prefetch),
// into the cache too. Work for the cache yields to requests: the pictures before the frame
// are held as decoder buffers and copied out only once the frame is answered, and that
// copying and prefetch go one picture or one sample at a time, checking for a request
// between each.
//
// The decoder is driven synchronously: samples are chained straight into the parser's sink
// pad from the owning goroutine and decoded pictures are taken by a probe in the same call,
// so no thread hand-off and no timeout decides when a picture is "done".
package frames
