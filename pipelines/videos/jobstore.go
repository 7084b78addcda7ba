package videos

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/pigweight/pigweight/elements/detect"
	"github.com/pigweight/pigweight/pipelines/atomicfile"
)

// Jobs are kept under Dir/jobs, so that a restart loses neither their results nor their work:
//
//	ID.json     the job's record (a Job without results), written when it is queued and
//	            when it ends
//	ID.results  its results, one FrameResult (JSON) per line, appended as frames are analysed
//
// At start the library lists the finished jobs again and resumes those a shutdown or a crash
// interrupted (their record still says queued), from the frame after their last saved result.
const (
	jobRecordExt   = ".json"
	jobResultsExt  = ".results"
	jobTempPattern = ".job-*.tmp" // a record being written
)

func (l *Library) jobPath(id, ext string) string { return filepath.Join(l.jobDir, id+ext) }

// saveJobLocked writes j's record. A job whose results could not be saved is not recorded at
// all: its record would promise results that are not there. The caller holds l.mu.
func (l *Library) saveJobLocked(j *job) {
	if j.unsaved {
		return
	}
	data, err := json.MarshalIndent(j.snapshot(false), "", "  ")
	if err == nil {
		err = atomicfile.Write(l.jobPath(j.id, jobRecordExt), jobTempPattern, append(data, '\n'))
	}
	if err != nil {
		l.unsaveLocked(j, err)
	}
}

// unsaveLocked gives up keeping j on disk: its files go, and it lives in memory only, as
// every job did before jobs were kept. The caller holds l.mu.
func (l *Library) unsaveLocked(j *job, err error) {
	if !j.unsaved {
		l.log.Error("cannot keep a job on disk; its results will not survive a restart", "job", j.id, "err", err)
	}
	j.unsaved = true
	l.removeJobFiles(j.id)
}

func (l *Library) removeJobFiles(id string) {
	for _, ext := range []string{jobRecordExt, jobResultsExt} {
		if err := os.Remove(l.jobPath(id, ext)); err != nil && !errors.Is(err, os.ErrNotExist) {
			l.log.Warn("cannot remove a job's file", "file", l.jobPath(id, ext), "err", err)
		}
	}
}

// resultLog appends a running job's results to its file. Only the job's goroutine uses it.
type resultLog struct {
	l *Library
	j *job
	f *os.File // nil once saving failed
}

func (l *Library) openResultLog(j *job) *resultLog {
	r := &resultLog{l: l, j: j}
	l.mu.Lock()
	unsaved := j.unsaved
	l.mu.Unlock()
	if unsaved {
		return r
	}
	f, err := os.OpenFile(l.jobPath(j.id, jobResultsExt), os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o600)
	if err != nil {
		r.fail(err)
		return r
	}
	r.f = f
	return r
}

// add saves one result. A failed write ends saving for the job, which carries on in memory.
func (r *resultLog) add(res FrameResult) {
	if r.f == nil {
		return
	}
	line, err := json.Marshal(res)
	if err == nil {
		_, err = r.f.Write(append(line, '\n'))
	}
	if err != nil {
		r.f.Close()
		r.f = nil
		r.fail(err)
	}
}

func (r *resultLog) fail(err error) {
	r.l.mu.Lock()
	r.l.unsaveLocked(r.j, fmt.Errorf("results: %w", err))
	r.l.mu.Unlock()
}

// close makes the saved results durable before the job's final record says they are there.
func (r *resultLog) close() {
	if r.f == nil {
		return
	}
	err := r.f.Sync()
	if cerr := r.f.Close(); err == nil {
		err = cerr
	}
	r.f = nil
	if err != nil {
		r.fail(err)
	}
}

// loadJobs reads the kept jobs: finished ones are listed again, interrupted ones queued to
// resume. Files that cannot be used are left where they are, with a warning. The caller
// holds l.mu; l.ctx is set.
func (l *Library) loadJobs() error {
	entries, err := os.ReadDir(l.jobDir)
	if err != nil {
		return fmt.Errorf("videos: %w", err)
	}
	var resumed []*job
	for _, e := range entries {
		name := e.Name()
		if m, _ := filepath.Match(jobTempPattern, name); m {
			l.removeLeftover(filepath.Join(l.jobDir, name), "temporary job record of an interrupted write")
			continue
		}
		id, ok := strings.CutSuffix(name, jobRecordExt)
		if !ok || !validID(id) || !e.Type().IsRegular() {
			continue
		}
		j, err := l.readJob(id)
		if err != nil {
			l.log.Warn("skipping a kept job that cannot be read; remove its files", "file", l.jobPath(id, jobRecordExt), "err", err)
			continue
		}
		l.jobs[id] = j
		j.ctx, j.cancel = context.WithCancel(l.ctx)
		if !j.finished.IsZero() {
			j.cancel()
			l.finished = append(l.finished, j)
			continue
		}
		v, ok := l.videos[j.video]
		if !ok {
			// Finished now, so that its record says why it will never resume.
			l.finishLocked(j, fmt.Errorf("%w: video %s is no longer stored", ErrNotFound, j.video))
			continue
		}
		v.users.Add(1)
		j.v = v
		resumed = append(resumed, j)
	}
	slices.SortFunc(l.finished, func(a, b *job) int { return a.finished.Compare(b.finished) })
	l.forgetOldJobsLocked(KeepJobs, KeepJobFrames)
	slices.SortFunc(resumed, func(a, b *job) int { return a.created.Compare(b.created) })
	for _, j := range resumed {
		l.log.Info("job resumes after a restart", "job", j.id, "video", j.video, "model", j.model,
			"frames_done", len(j.results), "frames", j.total)
	}
	l.queue = append(l.queue, resumed...)
	return nil
}

// readJob reads a kept job's record and as many of its results as are whole and in order.
func (l *Library) readJob(id string) (*job, error) {
	var rec Job
	if err := readJSON(l.jobPath(id, jobRecordExt), &rec); err != nil {
		return nil, err
	}
	switch {
	case rec.ID != id:
		return nil, fmt.Errorf("the record names job %q", rec.ID)
	case rec.Step < 1 || rec.From < 0 || rec.To < rec.From || rec.Total != (rec.To-rec.From)/rec.Step+1 || rec.Total > MaxJobFrames:
		return nil, fmt.Errorf("frames %d to %d in steps of %d (%d in all) do not add up", rec.From, rec.To, rec.Step, rec.Total)
	}
	j := &job{
		id: id, video: rec.Video, model: rec.Model, from: rec.From, to: rec.To, step: rec.Step, total: rec.Total,
		created: rec.Created, state: JobQueued, err: rec.Error,
	}
	switch rec.State {
	case JobQueued, JobRunning:
	case JobDone, JobFailed, JobCancelled:
		j.state = rec.State
		j.finished = rec.Created
		if rec.Finished != nil {
			j.finished = *rec.Finished
		}
		if rec.Started != nil {
			j.started = *rec.Started
		}
	default:
		return nil, fmt.Errorf("unknown state %q", rec.State)
	}
	results, err := l.readResults(j)
	if err != nil {
		return nil, err
	}
	j.results = results
	if j.state == JobDone && len(j.results) != j.total {
		return nil, fmt.Errorf("done, yet %d of its %d results are saved", len(j.results), j.total)
	}
	return j, nil
}

// readResults reads j's saved results up to the first line that is not whole or not the
// next frame. For a job that resumes, what follows (a crash in the middle of a line) is cut
// off the file, so that it appends after its last good result.
func (l *Library) readResults(j *job) ([]FrameResult, error) {
	path := l.jobPath(j.id, jobResultsExt)
	data, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var out []FrameResult
	good := 0 // bytes of whole, expected lines
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(nil, len(data)+1)
	for sc.Scan() && len(out) < j.total {
		var r FrameResult
		whole := good+len(sc.Bytes()) < len(data) // not the last line, or it has its newline
		if !whole || json.Unmarshal(sc.Bytes(), &r) != nil || r.Frame != j.from+len(out)*j.step {
			break
		}
		if r.Detections == nil {
			r.Detections = []detect.Detection{}
		}
		out = append(out, r)
		good += len(sc.Bytes()) + 1
	}
	if good < len(data) && j.finished.IsZero() {
		l.log.Warn("cutting off a job's unfinished results", "job", j.id, "kept", len(out), "bytes_dropped", len(data)-good)
		if err := os.Truncate(path, int64(good)); err != nil {
			return nil, err
		}
	}
	return out, nil
}
