package api

import (
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"image"
	"image/jpeg"
	"image/png"
	"io"
	"log/slog"
	"mime"
	"mime/multipart"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/pigweight/pigweight/pipelines/media"
	"github.com/pigweight/pigweight/pipelines/videos"
)

// Videos is what the API needs of the video library (videos.Library).
type Videos interface {
	// List returns stored videos and uploads in flight, newest first.
	List() []videos.Video
	// Get returns one video; videos.ErrNotFound when unknown.
	Get(id string) (videos.Video, error)
	// Delete removes a video; videos.ErrNotFound, videos.ErrBusy.
	Delete(id string) error
	// Frame decodes frame n; videos.ErrNotFound, videos.ErrFrameRange, videos.ErrBusy.
	Frame(ctx context.Context, id string, n int) (media.Picture, error)
	// Encode compresses a decoded frame as "jpeg" (quality 1-100) or "png" (with GStreamer:
	// several times faster than image/jpeg and image/png); on any error the handler encodes
	// with Go's encoders instead.
	Encode(p media.Picture, format string, quality int) ([]byte, error)
	// Upload stores the video body yields; created is false when it was stored before.
	Upload(ctx context.Context, name string, body io.Reader, declaredSize int64) (v videos.Video, created bool, err error)
	// MaxUploadBytes is the largest file Upload accepts.
	MaxUploadBytes() int64
	// StartJob queues a batch inference job on a video.
	StartJob(id string, req videos.JobRequest) (videos.Job, error)
	// Job returns a job with its results; videos.ErrJobNotFound when unknown.
	Job(id string) (videos.Job, error)
	// Jobs returns every job, newest first, without results.
	Jobs() []videos.Job
	// CancelJob stops a job; videos.ErrJobNotFound when unknown.
	CancelJob(id string) (videos.Job, error)
}

// errNoVideos is what closedVideos answers: the server was started without a video library.
var errNoVideos = errors.New("this server has no video library")

// closedVideos stands in when New is given no library: it lists nothing and refuses the rest
// with 503, rather than letting a nil interface panic.
type closedVideos struct{}

func (closedVideos) List() []videos.Video                 { return nil }
func (closedVideos) Get(string) (videos.Video, error)     { return videos.Video{}, errNoVideos }
func (closedVideos) Delete(string) error                  { return errNoVideos }
func (closedVideos) MaxUploadBytes() int64                { return 0 }
func (closedVideos) Jobs() []videos.Job                   { return nil }
func (closedVideos) Job(string) (videos.Job, error)       { return videos.Job{}, errNoVideos }
func (closedVideos) CancelJob(string) (videos.Job, error) { return videos.Job{}, errNoVideos }
func (closedVideos) Frame(context.Context, string, int) (media.Picture, error) {
	return media.Picture{}, errNoVideos
}
func (closedVideos) Encode(media.Picture, string, int) ([]byte, error) { return nil, errNoVideos }
func (closedVideos) StartJob(string, videos.JobRequest) (videos.Job, error) {
	return videos.Job{}, errNoVideos
}
func (closedVideos) Upload(context.Context, string, io.Reader, int64) (videos.Video, bool, error) {
	return videos.Video{}, false, errNoVideos
}

// Status codes of the video routes, chosen once here (and documented in the OpenAPI document):
//
//   - an upload over the limit: 413, before any of it is read when Content-Length says so;
//   - content that is not a video we can index (a picture, text, audio, another codec): 415;
//   - an empty upload, or one that looks like a video but is corrupt or truncated: 422;
//   - an upload cut short by the client: 400;
//   - a frame number (or quality) that is not plain decimal digits: 400 ("+5" is not frame 5,
//     so that one frame has one URL); one past the video's end: 404
//     (frame N of a video with fewer frames does not exist, like an unknown video);
//   - a frame whose pixel format cannot be encoded as JPEG or PNG: 422 (raw still works);
//   - a video still uploading, asked for frames, jobs or deletion: 409;
//   - too many jobs queued: 429.
const (
	// multipartOverhead is what a multipart body may carry besides the file: boundaries, part
	// headers, a few small fields.
	multipartOverhead = 64 << 10
	// frameTimeout bounds the decoding of one frame for GET .../frames/{n}.
	frameTimeout = 30 * time.Second
)

// videoError maps an error of the video library to a status and a message the client may see;
// ok is false for errors that are the server's (500, message hidden).
func videoError(err error, maxUpload int64) (status int, msg string, ok bool) {
	var tooBig *http.MaxBytesError
	switch {
	case errors.As(err, &tooBig):
		return http.StatusRequestEntityTooLarge, fmt.Sprintf("upload is larger than the limit of %d bytes", maxUpload), true
	case errors.Is(err, videos.ErrTooLarge):
		return http.StatusRequestEntityTooLarge, err.Error(), true
	case errors.Is(err, videos.ErrUnsupported):
		return http.StatusUnsupportedMediaType, err.Error(), true
	case errors.Is(err, videos.ErrCorrupt), errors.Is(err, videos.ErrEmpty):
		return http.StatusUnprocessableEntity, err.Error(), true
	case errors.Is(err, videos.ErrInterrupted):
		return http.StatusBadRequest, err.Error(), true
	case errors.Is(err, videos.ErrNotFound), errors.Is(err, videos.ErrJobNotFound), errors.Is(err, videos.ErrFrameRange):
		return http.StatusNotFound, err.Error(), true
	case errors.Is(err, videos.ErrBusy):
		return http.StatusConflict, err.Error(), true
	case errors.Is(err, videos.ErrInvalidJob), errors.Is(err, videos.ErrModel):
		return http.StatusBadRequest, err.Error(), true
	case errors.Is(err, videos.ErrTooManyJobs):
		return http.StatusTooManyRequests, err.Error(), true
	case errors.Is(err, videos.ErrClosed):
		return http.StatusServiceUnavailable, "pigweight is shutting down; try again later", true
	case errors.Is(err, errNoVideos):
		return http.StatusServiceUnavailable, errNoVideos.Error(), true
	case errors.Is(err, context.DeadlineExceeded):
		return http.StatusGatewayTimeout, "the frame took too long to decode; try again", true
	}
	return http.StatusInternalServerError, "internal server error; the server log has the details", false
}

// fiberVideoError is videoError for the Fiber handlers: known errors become requestErrors,
// the rest pass through to handleError as 500s.
func (s *server) fiberVideoError(err error) error {
	status, msg, ok := videoError(err, s.videos.MaxUploadBytes())
	if !ok {
		return err
	}
	return &requestError{status: status, msg: msg}
}

// UploadHandler returns the net/http handler of POST /api/v1/videos. It must be served by
// net/http directly (web.Route{Pattern: "POST /api/v1/videos"}), not through the Fiber app:
// Fiber's net/http adaptor reads a whole body into memory and package web caps those at
// MaxBodyBytes, while this handler streams the file to disk.
//
// The body is multipart/form-data with the file in a field named "file" (the file name comes
// from the part), or the raw file as application/octet-stream, video/* or with no
// Content-Type (the name from ?name=). When token is not empty, "Authorization: Bearer
// <token>" is required, as on every mutating route of the API. A nil v answers 503.
func UploadHandler(v Videos, token string, log *slog.Logger) http.Handler {
	return newUploadHandler(v, token, log, true)
}

// UploadBodyTypes are the media types UploadHandler takes (a body without a Content-Type
// too), for the listener's check of request bodies (web.Route.BodyTypes); "video/*" stands
// for every video type.
func UploadBodyTypes() []string {
	return []string{"multipart/form-data", "application/octet-stream", "video/*"}
}

// uploadHandler is the upload route's handler; the Fiber app serves one too (standalone
// false: the app has checked the token and set the common headers), for small uploads made
// where UploadHandler is not mounted, such as tests of the app alone.
type uploadHandler struct {
	videos     Videos
	token      [sha256.Size]byte
	hasToken   bool
	standalone bool
	log        *slog.Logger
}

func newUploadHandler(v Videos, token string, log *slog.Logger, standalone bool) *uploadHandler {
	if v == nil {
		v = closedVideos{}
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &uploadHandler{
		videos: v, token: sha256.Sum256([]byte(token)), hasToken: token != "", standalone: standalone,
		log: log.With("component", "api"),
	}
}

func (h *uploadHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if h.standalone {
		w.Header().Set("X-Content-Type-Options", "nosniff")
		if r.Method != http.MethodPost {
			w.Header().Set("Allow", http.MethodPost)
			h.fail(w, r, http.StatusMethodNotAllowed, "method not allowed on this path", nil)
			return
		}
		if h.hasToken {
			if err := h.checkToken(r); err != nil {
				challenge := `Bearer realm="pigweight"`
				if errors.Is(err, errTokenInvalid) {
					challenge = `Bearer realm="pigweight", error="invalid_token"`
				}
				w.Header().Set("WWW-Authenticate", challenge)
				h.fail(w, r, http.StatusUnauthorized, err.Error(), nil)
				return
			}
		}
	}
	if enc := strings.TrimSpace(r.Header.Get("Content-Encoding")); enc != "" && !strings.EqualFold(enc, "identity") {
		h.fail(w, r, http.StatusUnsupportedMediaType, "compressed uploads are not accepted: send the file as it is", nil)
		return
	}
	limit := h.videos.MaxUploadBytes()
	ct := r.Header.Get("Content-Type")
	mt := ""
	if strings.TrimSpace(ct) != "" {
		var err error
		if mt, _, err = mime.ParseMediaType(ct); err != nil {
			mt = "invalid"
		}
	}
	var (
		body     io.Reader
		name     = r.URL.Query().Get("name")
		declared = r.ContentLength // -1 when unknown
	)
	switch {
	case mt == "multipart/form-data":
		if limit > 0 && r.ContentLength > limit+multipartOverhead {
			h.fail(w, r, http.StatusRequestEntityTooLarge, fmt.Sprintf("upload is larger than the limit of %d bytes", limit), nil)
			return
		}
		if limit > 0 {
			r.Body = http.MaxBytesReader(w, r.Body, limit+multipartOverhead)
			// The declared size counts the multipart framing too; the library only uses it for
			// progress, and refuses sizes over the limit.
			declared = min(declared, limit)
		}
		part, err := filePart(r)
		if err != nil {
			status, msg, _ := videoError(err, limit)
			if status == http.StatusInternalServerError {
				status, msg = http.StatusBadRequest, err.Error()
			}
			h.fail(w, r, status, msg, nil)
			return
		}
		defer part.Close()
		body = part
		if fn := part.FileName(); fn != "" {
			name = fn
		}
	case mt == "" || mt == "application/octet-stream" || strings.HasPrefix(mt, "video/"):
		if limit > 0 && r.ContentLength > limit {
			h.fail(w, r, http.StatusRequestEntityTooLarge, fmt.Sprintf("upload of %d bytes is larger than the limit of %d bytes", r.ContentLength, limit), nil)
			return
		}
		body = r.Body
	default:
		h.fail(w, r, http.StatusUnsupportedMediaType,
			fmt.Sprintf("Content-Type %q is not accepted: send multipart/form-data with a \"file\" field, or the file itself as application/octet-stream", ct), nil)
		return
	}

	v, created, err := h.videos.Upload(r.Context(), name, body, declared)
	if err != nil {
		status, msg, ok := videoError(err, limit)
		if !ok {
			h.fail(w, r, status, msg, err)
			return
		}
		h.fail(w, r, status, msg, nil)
		return
	}
	w.Header().Set("Location", "/api/v1/videos/"+url.PathEscape(v.ID))
	status := http.StatusOK
	if created {
		status = http.StatusCreated
	}
	writeJSON(w, status, v)
}

// checkToken applies requireToken's rule to a net/http request.
func (h *uploadHandler) checkToken(r *http.Request) error {
	got, ok := bearerToken(r.Header.Get("Authorization"))
	if !ok {
		return errTokenMissing
	}
	have := sha256.Sum256([]byte(got))
	if subtle.ConstantTimeCompare(have[:], h.token[:]) != 1 {
		return errTokenInvalid
	}
	return nil
}

// filePart returns the multipart part of the field "file", skipping the fields before it.
// The body is read as a stream: nothing is buffered in memory or spilled to temporary files
// (as ParseMultipartForm would).
func filePart(r *http.Request) (*multipart.Part, error) {
	mr, err := r.MultipartReader()
	if err != nil {
		return nil, fmt.Errorf("invalid multipart body: %w", err)
	}
	for {
		p, err := mr.NextRawPart()
		if errors.Is(err, io.EOF) {
			return nil, errors.New(`the multipart body has no "file" field: send the video in a field named "file"`)
		}
		if err != nil {
			var tooBig *http.MaxBytesError
			if errors.As(err, &tooBig) {
				return nil, err
			}
			return nil, fmt.Errorf("invalid multipart body: %w", err)
		}
		if p.FormName() == "file" {
			return p, nil
		}
	}
}

// fail answers an error as JSON. cause, when set, is an internal error: logged, not shown.
func (h *uploadHandler) fail(w http.ResponseWriter, r *http.Request, status int, msg string, cause error) {
	if cause != nil {
		h.log.Error("request failed", "method", r.Method, "path", r.URL.Path, "status", status, "err", cause)
	} else {
		h.log.Debug("request refused", "method", r.Method, "path", r.URL.Path, "status", status, "err", msg)
	}
	writeJSON(w, status, ErrorResponse{Error: msg})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	data, err := json.Marshal(v)
	if err != nil {
		status, data = http.StatusInternalServerError, []byte(`{"error":"internal server error; the server log has the details"}`)
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_, _ = w.Write(append(data, '\n'))
}

// --- Fiber routes ----------------------------------------------------------------------------

// pathParam returns a percent-decoded path parameter as a string of its own (Fiber's point
// into a buffer reused after the handler returns). IDs are only ever map keys.
func pathParam(c *fiber.Ctx, name, what string) (string, error) {
	v, err := url.PathUnescape(c.Params(name))
	if err != nil || v == "" {
		return "", &requestError{status: fiber.StatusBadRequest, msg: "invalid " + what + " in the URL"}
	}
	return strings.Clone(v), nil
}

func (s *server) listVideos(c *fiber.Ctx) error {
	list := s.videos.List()
	if list == nil {
		list = []videos.Video{}
	}
	return c.Status(fiber.StatusOK).JSON(list)
}

func (s *server) getVideo(c *fiber.Ctx) error {
	id, err := pathParam(c, "id", "video id")
	if err != nil {
		return err
	}
	v, err := s.videos.Get(id)
	if err != nil {
		return s.fiberVideoError(err)
	}
	return c.Status(fiber.StatusOK).JSON(v)
}

func (s *server) deleteVideo(c *fiber.Ctx) error {
	id, err := pathParam(c, "id", "video id")
	if err != nil {
		return err
	}
	if err := s.videos.Delete(id); err != nil {
		return s.fiberVideoError(err)
	}
	return c.SendStatus(fiber.StatusNoContent)
}

// Frame formats of GET /api/v1/videos/{id}/frames/{n}.
const (
	frameJPEG = "jpeg"
	framePNG  = "png"
	frameRaw  = "raw"
)

// decimalParam parses a number of the URL (a path segment or a query parameter) that must be
// written as plain decimal digits. strconv.Atoi alone also takes a sign: "+5" would be read as
// frame 5, so two URLs would name one frame and a typo would pass for a number. what names the
// parameter in the 400's message.
func decimalParam(what, s string) (int, error) {
	bad := func(why string) error {
		return &requestError{status: fiber.StatusBadRequest, msg: fmt.Sprintf("%s %q is not a non-negative integer: %s", what, s, why)}
	}
	if s == "" {
		return 0, bad("it is empty")
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return 0, bad("write it in decimal digits only, without a sign, spaces or a decimal point")
		}
	}
	n, err := strconv.Atoi(s)
	if err != nil {
		return 0, bad("it is too large")
	}
	return n, nil
}

// videoFrame answers one decoded frame as JPEG, PNG or the decoder's raw planes.
func (s *server) videoFrame(c *fiber.Ctx) error {
	id, err := pathParam(c, "id", "video id")
	if err != nil {
		return err
	}
	n, err := decimalParam("frame number", c.Params("n"))
	if err != nil {
		return err
	}
	format := strings.ToLower(c.Query("format", frameJPEG))
	if format == "jpg" {
		format = frameJPEG
	}
	if format != frameJPEG && format != framePNG && format != frameRaw {
		return &requestError{status: fiber.StatusBadRequest, msg: fmt.Sprintf("format %q is not one of jpeg, png, raw", format)}
	}
	quality := 90
	if q := c.Query("quality"); q != "" {
		if quality, err = decimalParam("quality", q); err != nil {
			return err
		}
		if quality < 1 || quality > 100 {
			return &requestError{status: fiber.StatusBadRequest, msg: fmt.Sprintf("quality %q is not an integer from 1 to 100", q)}
		}
	}

	ctx, cancel := context.WithTimeout(c.UserContext(), frameTimeout)
	defer cancel()
	pic, err := s.videos.Frame(ctx, id, n)
	if err != nil {
		return s.fiberVideoError(err)
	}

	var body []byte
	switch format {
	case frameRaw:
		body = make([]byte, 0, pic.Bytes())
		for _, p := range pic.Planes {
			body = append(body, p...)
		}
		c.Set(fiber.HeaderContentType, "application/octet-stream")
	default:
		c.Set(fiber.HeaderContentType, "image/"+format)
		if body, err = s.videos.Encode(pic, format, quality); err == nil {
			break
		}
		// No encoder of the server's own, or not for this picture: Go's, slower.
		img, err := pictureImage(pic)
		if err != nil {
			return &requestError{status: fiber.StatusUnprocessableEntity, msg: err.Error() + "; ask for format=raw"}
		}
		var buf bytes.Buffer
		if format == frameJPEG {
			err = jpeg.Encode(&buf, img, &jpeg.Options{Quality: quality})
		} else {
			err = (&png.Encoder{CompressionLevel: png.BestSpeed}).Encode(&buf, img)
		}
		if err != nil {
			return fmt.Errorf("encode frame %d of %s as %s: %w", n, id, format, err)
		}
		body = buf.Bytes()
	}
	cache := "miss"
	if pic.Cached {
		cache = "hit"
	}
	c.Set("X-Frame-Number", strconv.Itoa(pic.Frame))
	c.Set("X-Frame-PTS", strconv.FormatFloat(pic.PTS.Seconds(), 'f', -1, 64))
	c.Set("X-Frame-Width", strconv.Itoa(pic.Width))
	c.Set("X-Frame-Height", strconv.Itoa(pic.Height))
	c.Set("X-Pixel-Format", pic.Format)
	c.Set("X-Frame-Cache", cache)
	// A video is addressed by its content, so its frame n never changes.
	c.Set(fiber.HeaderCacheControl, "private, max-age=3600")
	return c.Status(fiber.StatusOK).Send(body)
}

// pictureImage wraps a decoded picture's planes as an image, without copying them except
// NV12's chroma. 8-bit YUV (4:2:0 planar and NV12, 4:2:2, 4:4:4) and grey are supported.
func pictureImage(p media.Picture) (image.Image, error) {
	w, h := p.Width, p.Height
	if w <= 0 || h <= 0 {
		return nil, fmt.Errorf("frame has size %dx%d", w, h)
	}
	if p.Format == "GRAY8" {
		if len(p.Planes) != 1 || len(p.Planes[0]) != w*h {
			return nil, fmt.Errorf("GRAY8 frame of %dx%d has planes of the wrong size", w, h)
		}
		return &image.Gray{Pix: p.Planes[0], Stride: w, Rect: image.Rect(0, 0, w, h)}, nil
	}
	p, err := media.Planar(p) // NVDEC's NV12
	if err != nil {
		return nil, err
	}
	var (
		ratio  image.YCbCrSubsampleRatio
		cw, ch int
		u, v   = 1, 2 // plane of Cb and Cr
	)
	switch p.Format {
	case "I420":
		ratio, cw, ch = image.YCbCrSubsampleRatio420, (w+1)/2, (h+1)/2
	case "YV12":
		ratio, cw, ch, u, v = image.YCbCrSubsampleRatio420, (w+1)/2, (h+1)/2, 2, 1
	case "Y42B":
		ratio, cw, ch = image.YCbCrSubsampleRatio422, (w+1)/2, h
	case "Y444":
		ratio, cw, ch = image.YCbCrSubsampleRatio444, w, h
	default:
		return nil, fmt.Errorf("frames in pixel format %q cannot be encoded as an image here", p.Format)
	}
	if len(p.Planes) != 3 || len(p.Planes[0]) != w*h || len(p.Planes[u]) != cw*ch || len(p.Planes[v]) != cw*ch {
		return nil, fmt.Errorf("%s frame of %dx%d has planes of the wrong size", p.Format, w, h)
	}
	return &image.YCbCr{
		Y: p.Planes[0], Cb: p.Planes[u], Cr: p.Planes[v],
		YStride: w, CStride: cw, SubsampleRatio: ratio, Rect: image.Rect(0, 0, w, h),
	}, nil
}

// inferRequest is the body of POST /api/v1/videos/{id}/infer. Absent fields take their
// defaults: from 0, to the last frame, step 1, the server's default model.
type inferRequest struct {
	Model string `json:"model"`
	From  *int   `json:"from"`
	To    *int   `json:"to"`
	Step  *int   `json:"step"`
}

func (s *server) startJob(c *fiber.Ctx) error {
	id, err := pathParam(c, "id", "video id")
	if err != nil {
		return err
	}
	if err := checkJSONBody(c); err != nil {
		return err
	}
	var req inferRequest
	if body := bytes.TrimSpace(c.Request().Body()); len(body) > 0 {
		dec := json.NewDecoder(bytes.NewReader(body))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&req); err != nil {
			return &requestError{status: fiber.StatusBadRequest, msg: "invalid job request: " + err.Error()}
		}
	}
	jr := videos.JobRequest{Model: req.Model, To: videos.LastFrame, Step: 1}
	if req.From != nil {
		jr.From = *req.From
	}
	if req.To != nil {
		jr.To = *req.To
	}
	if req.Step != nil {
		if *req.Step < 1 {
			return &requestError{status: fiber.StatusBadRequest, msg: fmt.Sprintf("step %d must be at least 1", *req.Step), field: "step"}
		}
		jr.Step = *req.Step
	}
	j, err := s.videos.StartJob(id, jr)
	if err != nil {
		return s.fiberVideoError(err)
	}
	c.Location("/api/v1/jobs/" + url.PathEscape(j.ID))
	return c.Status(fiber.StatusAccepted).JSON(j)
}

func (s *server) listJobs(c *fiber.Ctx) error {
	list := s.videos.Jobs()
	if list == nil {
		list = []videos.Job{}
	}
	return c.Status(fiber.StatusOK).JSON(list)
}

func (s *server) getJob(c *fiber.Ctx) error {
	id, err := pathParam(c, "job", "job id")
	if err != nil {
		return err
	}
	j, err := s.videos.Job(id)
	if err != nil {
		return s.fiberVideoError(err)
	}
	if j.Results == nil {
		j.Results = []videos.FrameResult{}
	}
	return c.Status(fiber.StatusOK).JSON(jobWithResults{Job: j, Results: j.Results})
}

// jobWithResults is a job as GET /api/v1/jobs/{job} answers it: results always present, []
// before the first frame is done.
type jobWithResults struct {
	videos.Job
	Results []videos.FrameResult `json:"results"`
}

// jobCSV answers a job's detections as CSV, one row per detection, as far as the job has got.
func (s *server) jobCSV(c *fiber.Ctx) error {
	id, err := pathParam(c, "job", "job id")
	if err != nil {
		return err
	}
	j, err := s.videos.Job(id)
	if err != nil {
		return s.fiberVideoError(err)
	}
	var buf bytes.Buffer
	if err := videos.WriteCSV(&buf, j); err != nil {
		return err
	}
	c.Set(fiber.HeaderContentType, "text/csv; charset=utf-8")
	c.Set(fiber.HeaderContentDisposition, mime.FormatMediaType("attachment", map[string]string{"filename": "job-" + j.ID + ".csv"}))
	c.Set("X-Job-State", string(j.State))
	return c.Status(fiber.StatusOK).Send(buf.Bytes())
}

func (s *server) cancelJob(c *fiber.Ctx) error {
	id, err := pathParam(c, "job", "job id")
	if err != nil {
		return err
	}
	j, err := s.videos.CancelJob(id)
	if err != nil {
		return s.fiberVideoError(err)
	}
	return c.Status(fiber.StatusOK).JSON(j)
}
