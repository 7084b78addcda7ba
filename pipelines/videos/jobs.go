package videos

import (
	"cmp"
	"context"
	"crypto/rand"
	"encoding/csv"
	"encoding/hex"
	"fmt"
	"io"
	"slices"
	"strconv"
	"time"

	"github.com/pigweight/pigweight/elements/detect"
)

// Job limits.
const (
	// MaxJobFrames is the most frames one job analyses.
	MaxJobFrames = 100_000
	// MaxPendingJobs is the most jobs queued or running at once; StartJob refuses more with
	// ErrTooManyJobs.
	MaxPendingJobs = 64
	// KeepJobs is how many finished jobs, with their results, are kept in memory, and
	// KeepJobFrames how many frames of results they may hold together (a frame's result is a
	// few hundred bytes): the oldest are forgotten, files and all, when another finishes; the
	// newest is always kept.
	KeepJobs      = 100
	KeepJobFrames = 1_000_000
)

// LastFrame as JobRequest.To means the video's last frame.
const LastFrame = -1

// JobRequest asks for inference over frames From, From+Step, ... up to To (inclusive).
type JobRequest struct {
	// Model names the model; empty means Config.DefaultModel.
	Model string `json:"model,omitempty"`
	From  int    `json:"from"`
	// To is the last frame (inclusive); LastFrame means the video's last.
	To int `json:"to"`
	// Step is the distance between analysed frames; 0 means 1.
	Step int `json:"step"`
}

// JobState is where a job is in its life.
type JobState string

// Job states: queued → running → done, failed or cancelled.
const (
	JobQueued    JobState = "queued"
	JobRunning   JobState = "running"
	JobDone      JobState = "done"
	JobFailed    JobState = "failed"
	JobCancelled JobState = "cancelled"
)

// FrameResult is what the model found in one frame.
type FrameResult struct {
	Frame int `json:"frame"`
	// PTSS is the frame's presentation time from the start of the video, in seconds.
	PTSS       float64            `json:"pts_s"`
	Detections []detect.Detection `json:"detections"`
}

// Job is a snapshot of a batch inference job.
type Job struct {
	ID    string   `json:"id"`
	Video string   `json:"video"`
	Model string   `json:"model"`
	From  int      `json:"from"`
	To    int      `json:"to"` // inclusive
	Step  int      `json:"step"`
	State JobState `json:"state"`
	// Done of Total frames are analysed; Progress is Done/Total.
	Done     int        `json:"done"`
	Total    int        `json:"total"`
	Progress float64    `json:"progress"`
	Created  time.Time  `json:"created"`
	Started  *time.Time `json:"started,omitempty"`
	Finished *time.Time `json:"finished,omitempty"`
	// Error says why a job failed or was cancelled.
	Error string `json:"error,omitempty"`
	// Results holds one entry per analysed frame, in frame order. Jobs leaves it out; Job
	// fills it as far as the job has got.
	Results []FrameResult `json:"results,omitempty"`
}

// job is a job's state. Fields after cancel are guarded by Library.mu.
type job struct {
	id, video, model string
	from, to, step   int
	total            int
	created          time.Time
	v                *video // the job holds one count of v.users until it finishes
	an               Analyser
	ctx              context.Context
	cancel           context.CancelFunc

	state             JobState
	started, finished time.Time
	err               string
	results           []FrameResult
	// shutdown: Close stopped the job, which resumes at the next start. unsaved: the job
	// could not be kept on disk and lives in memory only (see saveJobLocked).
	shutdown, unsaved bool
}

// snapshot copies j; the caller holds Library.mu. Results are shared with the job, which only
// appends: the snapshot's slice is capped at its length, so later appends never touch it.
func (j *job) snapshot(withResults bool) Job {
	out := Job{
		ID: j.id, Video: j.video, Model: j.model, From: j.from, To: j.to, Step: j.step,
		State: j.state, Done: len(j.results), Total: j.total, Created: j.created, Error: j.err,
	}
	if j.total > 0 {
		out.Progress = float64(out.Done) / float64(j.total)
	}
	if !j.started.IsZero() {
		t := j.started
		out.Started = &t
	}
	if !j.finished.IsZero() {
		t := j.finished
		out.Finished = &t
	}
	if withResults {
		out.Results = j.results[:len(j.results):len(j.results)]
	}
	return out
}

// StartJob queues a job that analyses frames of video id with a model, and returns it in
// state queued. Errors match ErrNotFound, ErrBusy (still uploading), ErrInvalidJob,
// ErrModel, ErrTooManyJobs or ErrClosed. The job runs until it is done, CancelJob, Delete of
// its video or Close.
func (l *Library) StartJob(id string, req JobRequest) (Job, error) {
	v, err := l.acquire(id)
	if err != nil {
		return Job{}, err
	}
	frames := v.meta.Frames
	v.users.Done()
	if req.To == LastFrame {
		req.To = frames - 1
	}
	if req.Step == 0 {
		req.Step = 1
	}
	switch {
	case req.From < 0 || req.From >= frames:
		return Job{}, fmt.Errorf("%w: from %d is not a frame of video %s (0 to %d)", ErrInvalidJob, req.From, id, frames-1)
	case req.To < req.From || req.To >= frames:
		return Job{}, fmt.Errorf("%w: to %d must be from %d to %d, the last frame of video %s", ErrInvalidJob, req.To, req.From, frames-1, id)
	case req.Step < 1:
		return Job{}, fmt.Errorf("%w: step %d must be at least 1", ErrInvalidJob, req.Step)
	}
	total := (req.To-req.From)/req.Step + 1
	if total > MaxJobFrames {
		return Job{}, fmt.Errorf("%w: %d frames, more than the %d one job may analyse: narrow the range or raise the step",
			ErrInvalidJob, total, MaxJobFrames)
	}
	model := cmp.Or(req.Model, l.cfg.DefaultModel)
	if model == "" {
		return Job{}, fmt.Errorf("%w: the request names no model and the server has no default", ErrModel)
	}
	// Outside the lock: getting an analyser may load a model.
	an, err := l.analysers(model)
	if err != nil {
		return Job{}, fmt.Errorf("%w: %q: %w", ErrModel, model, err)
	}

	// The video may have gone while the model loaded: look it up again.
	v, err = l.acquire(id)
	if err != nil {
		return Job{}, err
	}
	ctx, cancel := context.WithCancel(l.ctx)
	j := &job{
		id: newJobID(), video: id, model: model, from: req.From, to: req.To, step: req.Step, total: total,
		created: time.Now().UTC(), v: v, an: an, ctx: ctx, cancel: cancel, state: JobQueued,
	}
	l.mu.Lock()
	pending := l.running + len(l.queue)
	var refused error
	switch {
	case l.closed:
		refused = ErrClosed
	case l.videos[id] != v:
		// Delete took the video out of the library after acquire: it cancels only the jobs
		// it can see, so this one must not start.
		refused = fmt.Errorf("%w: %q", ErrNotFound, id)
	case pending >= MaxPendingJobs:
		refused = fmt.Errorf("%w: %d; wait for some to finish", ErrTooManyJobs, pending)
	}
	if refused != nil {
		l.mu.Unlock()
		cancel()
		v.users.Done()
		return Job{}, refused
	}
	l.jobs[j.id] = j
	l.queue = append(l.queue, j)
	l.saveJobLocked(j)
	snap := j.snapshot(false)
	l.log.Info("job queued", "job", j.id, "video", id, "model", model, "from", j.from, "to", j.to, "step", j.step,
		"frames", total, "ahead", pending)
	l.dispatchLocked()
	l.mu.Unlock()
	return snap, nil
}

func newJobID() string {
	var b [8]byte
	_, _ = rand.Read(b[:]) // never fails (crypto/rand documents it)
	return hex.EncodeToString(b[:])
}

// dispatchLocked starts queued jobs, oldest first, while fewer than Config.JobWorkers run.
// The caller holds l.mu.
func (l *Library) dispatchLocked() {
	for l.running < l.cfg.JobWorkers && len(l.queue) > 0 {
		j := l.queue[0]
		l.queue[0] = nil
		l.queue = l.queue[1:]
		j.state, j.started = JobRunning, time.Now().UTC()
		l.running++
		l.wg.Add(1)
		go l.runJob(j)
	}
}

// cancelJobLocked asks j to stop. A queued job never started, so it is finished here; a
// running one finishes on its goroutine. The caller holds l.mu.
func (l *Library) cancelJobLocked(j *job) {
	if j.ctx.Err() == nil {
		j.shutdown = l.closed
	}
	j.cancel()
	if j.state != JobQueued {
		return
	}
	if i := slices.Index(l.queue, j); i >= 0 {
		l.queue = slices.Delete(l.queue, i, i+1)
	}
	l.finishLocked(j, j.ctx.Err())
}

// runJob is a running job's goroutine.
func (l *Library) runJob(j *job) {
	defer l.wg.Done()
	err := l.work(j)
	l.mu.Lock()
	l.running--
	l.finishLocked(j, err)
	l.dispatchLocked()
	l.mu.Unlock()
}

// finishLocked records how j ended, releases its video and keeps the finished jobs within
// KeepJobs and KeepJobFrames. The caller holds l.mu.
func (l *Library) finishLocked(j *job, err error) {
	now := time.Now().UTC()
	switch {
	case err == nil:
		j.state = JobDone
	case j.ctx.Err() != nil:
		j.state, j.err = JobCancelled, "cancelled"
		if l.closed {
			j.err = "cancelled: the server is shutting down"
		}
	default:
		j.state, j.err = JobFailed, err.Error()
	}
	j.finished = now
	j.cancel() // release the context's resources
	if j.v != nil {
		j.v.users.Done()
	}
	j.v, j.an = nil, nil
	if !j.shutdown {
		l.saveJobLocked(j)
	}
	l.finished = append(l.finished, j)
	l.forgetOldJobsLocked(KeepJobs, KeepJobFrames)
	if j.state == JobFailed {
		l.log.Warn("job failed", "job", j.id, "video", j.video, "frames_done", len(j.results), "err", err)
	} else if j.shutdown && !j.unsaved {
		l.log.Info("job stopped; it resumes at the next start", "job", j.id, "video", j.video, "frames_done", len(j.results))
	} else {
		l.log.Info("job finished", "job", j.id, "video", j.video, "state", j.state, "frames_done", len(j.results),
			"took", now.Sub(j.created).Round(time.Millisecond))
	}
}

// forgetOldJobsLocked forgets the oldest finished jobs until at most maxJobs remain holding at
// most maxFrames results together; the newest stays whatever its size. The caller holds l.mu.
func (l *Library) forgetOldJobsLocked(maxJobs, maxFrames int) {
	frames := 0
	for _, j := range l.finished {
		frames += len(j.results)
	}
	for len(l.finished) > 1 && (len(l.finished) > maxJobs || frames > maxFrames) {
		oldest := l.finished[0]
		frames -= len(oldest.results)
		delete(l.jobs, oldest.id)
		l.removeJobFiles(oldest.id)
		l.finished[0] = nil
		l.finished = l.finished[1:]
	}
}

// work analyses the job's frames in order, after those a resumed job has already done. It
// only reads fields that do not change while the job runs (results only grow, and only here).
func (l *Library) work(j *job) error {
	v, ctx, an := j.v, j.ctx, j.an
	ix, err := l.indexOf(v)
	if err != nil {
		return err
	}
	if an == nil { // resumed after a restart
		if an, err = l.analysers(j.model); err != nil {
			return fmt.Errorf("%w: %q: %w", ErrModel, j.model, err)
		}
	}
	saved := l.openResultLog(j)
	defer saved.close()
	for n := j.from + len(j.results)*j.step; n <= j.to; n += j.step {
		if err := ctx.Err(); err != nil {
			return err
		}
		pic, err := l.jobSrc.Frame(ctx, v.meta.ID, v.path, ix, n)
		if err != nil {
			return fmt.Errorf("frame %d: %w", n, err)
		}
		dets, err := an.Analyse(ctx, pic)
		if err != nil {
			return fmt.Errorf("frame %d: %w", n, err)
		}
		if dets == nil {
			dets = []detect.Detection{} // [] in JSON: the frame was analysed and has nothing
		}
		res := FrameResult{Frame: n, PTSS: pic.PTS.Seconds(), Detections: dets}
		saved.add(res)
		l.mu.Lock()
		j.results = append(j.results, res)
		l.mu.Unlock()
	}
	return nil
}

// Job returns a job with its results so far; ErrJobNotFound when there is none of that id.
func (l *Library) Job(id string) (Job, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	j, ok := l.jobs[id]
	if !ok {
		return Job{}, fmt.Errorf("%w: %q", ErrJobNotFound, id)
	}
	return j.snapshot(true), nil
}

// Jobs returns every job the library remembers, newest first, without results.
func (l *Library) Jobs() []Job {
	l.mu.Lock()
	out := make([]Job, 0, len(l.jobs))
	for _, j := range l.jobs {
		out = append(out, j.snapshot(false))
	}
	l.mu.Unlock()
	slices.SortFunc(out, func(a, b Job) int {
		if c := b.Created.Compare(a.Created); c != 0 {
			return c
		}
		return cmp.Compare(a.ID, b.ID)
	})
	return out
}

// CancelJob stops a job and returns it without results: a queued job is cancelled at once, a
// running one reaches state cancelled as soon as the frame in progress is abandoned.
// Cancelling a finished job changes nothing. ErrJobNotFound when there is no such job.
func (l *Library) CancelJob(id string) (Job, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	j, ok := l.jobs[id]
	if !ok {
		return Job{}, fmt.Errorf("%w: %q", ErrJobNotFound, id)
	}
	l.cancelJobLocked(j)
	return j.snapshot(false), nil
}

// CSVHeader is the first row WriteCSV writes.
var CSVHeader = []string{"frame", "pts_s", "class", "score", "x", "y", "w", "h", "area"}

// WriteCSV writes a job's results as CSV: CSVHeader, then one row per detection (a frame
// without detections has no row). Coordinates are frame pixels, x and y the box's top-left
// corner.
func WriteCSV(w io.Writer, j Job) error {
	cw := csv.NewWriter(w)
	if err := cw.Write(CSVHeader); err != nil {
		return err
	}
	f32 := func(v float32) string { return strconv.FormatFloat(float64(v), 'f', -1, 32) }
	for _, r := range j.Results {
		frame, pts := strconv.Itoa(r.Frame), strconv.FormatFloat(r.PTSS, 'f', -1, 64)
		for _, d := range r.Detections {
			row := []string{frame, pts, d.Class, f32(d.Score), f32(d.Box.X), f32(d.Box.Y), f32(d.Box.W), f32(d.Box.H), strconv.Itoa(d.Area)}
			if err := cw.Write(row); err != nil {
				return err
			}
		}
	}
	cw.Flush()
	if err := cw.Error(); err != nil {
		return fmt.Errorf("videos: write CSV: %w", err)
	}
	return nil
}
