package api

import (
	"bytes"
	"errors"
	"fmt"
	"log/slog"
	"mime"
	"net/url"
	"runtime/debug"
	"strings"

	"github.com/gofiber/fiber/v2"
	"github.com/gofiber/fiber/v2/middleware/adaptor"
	"github.com/gofiber/fiber/v2/middleware/recover"

	"github.com/pigweight/pigweight/pipelines"
	"github.com/pigweight/pigweight/pipelines/spec"
)

// MaxBodyBytes bounds a request body. A pipeline definition is a few hundred bytes; the bound
// only keeps a client from making the server buffer something huge.
const MaxBodyBytes = 1 << 20

// Pipelines is what the API needs of the pipeline manager.
type Pipelines interface {
	// List returns every pipeline, sorted by name.
	List() []pipelines.Status
	// Get returns one pipeline; pipelines.ErrNotFound when there is none of that name.
	Get(name string) (pipelines.Status, error)
	// Add registers and starts p; pipelines.ErrExists when the name is taken.
	Add(p spec.Pipeline) error
	// Remove stops and forgets a pipeline; pipelines.ErrNotFound when unknown.
	Remove(name string) error
	// Start, Stop and Restart act on one pipeline; pipelines.ErrNotFound when unknown.
	Start(name string) error
	Stop(name string) error
	Restart(name string) error
	// Detections returns the latest analysed frame; pipelines.ErrNoInference when the
	// pipeline runs no model, pipelines.ErrNoDetections before its first analysed frame.
	Detections(name string) (pipelines.Detections, error)
}

// Options configures New.
type Options struct {
	// Pipelines is the pipeline manager. When nil, pipeline routes answer 503.
	Pipelines Pipelines
	// ParsePipeline validates a request body (YAML or JSON) like the config file does; it
	// returns spec.Errors on bad input. When nil, adding pipelines answers 501.
	ParsePipeline func(body []byte) (spec.Pipeline, error)
	// System reports facts about the machine; called on every GET /api/v1/system. When nil,
	// only the version is reported.
	System func() System
	// Token, when non-empty, is required as "Authorization: Bearer <Token>" on every route
	// under /api that is not GET, HEAD or OPTIONS.
	Token string
	// Logger receives the API's logs; nil discards them.
	Logger *slog.Logger
	// Version is pigweight's version, reported by /api/v1/system and the OpenAPI document.
	Version string
	// Models reports the loaded models with their metrics, for GET /api/v1/models: a JSON
	// array (kept as any so that this package needs no ONNX Runtime types). Nil: no models.
	Models func() any
	// Reload re-reads the configuration file and applies it (POST /api/v1/reload); its result
	// is answered as JSON, spec.Errors as 400. Nil: the route answers 501.
	Reload func() (any, error)
	// Videos is the library of uploaded videos (/api/v1/videos, /api/v1/jobs). When nil, its
	// routes list nothing and answer the rest with 503. Uploads of any size need
	// UploadHandler mounted beside the app; the app's own upload route takes bodies up to
	// MaxBodyBytes.
	Videos Videos
	// Viewers counts who watches a pipeline's stream now (WebRTC and WHEP), reported as
	// "viewers" with every pipeline. Called once per pipeline answered; it must not block. Nil:
	// 0 for every pipeline.
	Viewers func(stream string) int
	// Pens is the weighing service: pens, their visits, check-weighs and calibrations
	// (/api/v1/pens). When nil, pens are listed empty and the rest answers 503.
	Pens Pens
}

// PipelineStatus is a pipeline as the API answers it: the manager's status and its viewers.
type PipelineStatus struct {
	pipelines.Status
	// Viewers counts the browsers and WHEP players receiving the stream now.
	Viewers int `json:"viewers"`
}

// server holds what the handlers share. It is immutable after New.
type server struct {
	pipelines Pipelines
	parse     func(body []byte) (spec.Pipeline, error)
	system    func() System
	models    func() any
	reload    func() (any, error)
	videos    Videos
	viewers   func(stream string) int
	pens      Pens
	log       *slog.Logger
	version   string
	openapi   []byte
}

// New returns the Fiber app serving the control API, its OpenAPI document at
// /api/v1/openapi.json, the documentation page at /docs and the start page at /.
func New(opts Options) *fiber.App {
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	s := &server{
		pipelines: opts.Pipelines,
		parse:     opts.ParsePipeline,
		system:    opts.System,
		models:    opts.Models,
		reload:    opts.Reload,
		videos:    opts.Videos,
		viewers:   opts.Viewers,
		pens:      opts.Pens,
		log:       log.With("component", "api"),
		version:   opts.Version,
	}
	if s.pipelines == nil {
		s.pipelines = closedPipelines{}
	}
	if s.videos == nil {
		s.videos = closedVideos{}
	}
	if s.pens == nil {
		s.pens = closedPens{}
	}
	doc, err := openAPIJSON(opts.Version)
	if err != nil {
		// Only a programming error in the document's Go literal can get here; the API stays
		// usable without its description.
		s.log.Error("cannot build the OpenAPI document", "err", err)
		doc = []byte(`{"openapi":"3.0.3","info":{"title":"pigweight","version":""},"paths":{}}`)
	}
	s.openapi = doc

	app := fiber.New(fiber.Config{
		// fasthttp refuses bigger bodies before a handler runs; handleError turns its 413
		// into our JSON.
		BodyLimit:             MaxBodyBytes,
		DisableStartupMessage: true,
		ErrorHandler:          s.handleError,
		// Pipeline names are case-sensitive map keys; routing should not pretend otherwise.
		CaseSensitive: true,
	})
	app.Use(recover.New(recover.Config{
		EnableStackTrace: true,
		StackTraceHandler: func(c *fiber.Ctx, e any) {
			s.log.Error("handler panicked", "method", c.Method(), "path", c.Path(), "panic", fmt.Sprint(e), "stack", string(debug.Stack()))
		},
	}))
	app.Use(func(c *fiber.Ctx) error {
		// Every response here has a deliberate Content-Type; browsers must not guess another.
		c.Set(fiber.HeaderXContentTypeOptions, "nosniff")
		// BodyLimit binds only when fasthttp owns the connection. Mounted under net/http
		// through Fiber's adaptor (as package web does), the whole body arrives already read,
		// so the bound is checked again here; the adaptor's caller has to bound the read.
		if len(c.Request().Body()) > MaxBodyBytes {
			return fiber.ErrRequestEntityTooLarge
		}
		return c.Next()
	})

	apiGroup := app.Group("/api")
	if opts.Token != "" {
		apiGroup.Use(requireToken(opts.Token))
	}
	v1 := apiGroup.Group("/v1")
	v1.Get("/health", s.health)
	v1.Get("/system", s.getSystem)
	v1.Get("/openapi.json", s.getOpenAPI)
	v1.Get("/pipelines", s.list)
	v1.Post("/pipelines", s.add)
	v1.Get("/pipelines/:name", s.get)
	v1.Delete("/pipelines/:name", s.remove)
	v1.Post("/pipelines/:name/start", s.act(Pipelines.Start))
	v1.Post("/pipelines/:name/stop", s.act(Pipelines.Stop))
	v1.Post("/pipelines/:name/restart", s.act(Pipelines.Restart))
	v1.Get("/pipelines/:name/detections", s.detections)
	v1.Get("/models", s.listModels)
	v1.Post("/reload", s.reloadConfig)
	v1.Get("/videos", s.listVideos)
	// Served here only for bodies up to MaxBodyBytes; package web mounts UploadHandler on
	// this path for real uploads, ahead of the app.
	v1.Post("/videos", adaptor.HTTPHandler(newUploadHandler(s.videos, "", s.log, false)))
	v1.Get("/videos/:id", s.getVideo)
	v1.Delete("/videos/:id", s.deleteVideo)
	v1.Get("/videos/:id/frames/:n", s.videoFrame)
	v1.Post("/videos/:id/infer", s.startJob)
	v1.Get("/jobs", s.listJobs)
	v1.Get("/jobs/:job", s.getJob)
	v1.Delete("/jobs/:job", s.cancelJob)
	v1.Get("/jobs/:job/results.csv", s.jobCSV)
	v1.Get("/pens", s.listPens)
	v1.Get("/pens/:pen/visits", s.penVisits)
	v1.Get("/pens/:pen/visits.csv", s.penVisitsCSV)
	v1.Get("/pens/:pen/checkweighs", s.listCheckWeighs)
	v1.Post("/pens/:pen/checkweighs", s.addCheckWeigh)
	v1.Get("/pens/:pen/calibration", s.penCalibration)

	app.Get("/docs", s.docs)
	app.Get("/", s.uiIndex)
	app.Get("/ui/*", s.uiAsset)
	app.Get("/view/:name", s.viewPage)
	return app
}

// health answers as long as the process serves HTTP; it checks nothing else on purpose, so a
// failing camera never makes an orchestrator restart the whole node.
func (s *server) health(c *fiber.Ctx) error {
	return c.Status(fiber.StatusOK).JSON(fiber.Map{"status": "ok"})
}

func (s *server) getSystem(c *fiber.Ctx) error {
	var sys System
	if s.system != nil {
		sys = s.system()
	}
	if sys.Version == "" {
		sys.Version = s.version
	}
	return c.Status(fiber.StatusOK).JSON(sys.normalized())
}

func (s *server) getOpenAPI(c *fiber.Ctx) error {
	c.Type("json", "utf-8")
	return c.Status(fiber.StatusOK).Send(s.openapi)
}

// withViewers adds the viewer count to a pipeline's status.
func (s *server) withViewers(st pipelines.Status) PipelineStatus {
	out := PipelineStatus{Status: st}
	if s.viewers != nil {
		out.Viewers = s.viewers(st.Name)
	}
	return out
}

func (s *server) list(c *fiber.Ctx) error {
	all := s.pipelines.List()
	// Made, never nil: [] rather than null, so that clients iterate without a check.
	list := make([]PipelineStatus, len(all))
	for i, st := range all {
		list[i] = s.withViewers(st)
	}
	return c.Status(fiber.StatusOK).JSON(list)
}

func (s *server) get(c *fiber.Ctx) error {
	name, err := pipelineName(c)
	if err != nil {
		return err
	}
	st, err := s.pipelines.Get(name)
	if err != nil {
		return pipelineError(name, err)
	}
	return c.Status(fiber.StatusOK).JSON(s.withViewers(st))
}

// add accepts a pipeline in the config file's syntax, YAML or JSON, and answers with its status.
func (s *server) add(c *fiber.Ctx) error {
	if s.parse == nil {
		return &requestError{status: fiber.StatusNotImplemented, msg: "this server cannot add pipelines at run time"}
	}
	if err := checkBodyType(c); err != nil {
		return err
	}
	// The raw body, not c.Body(): c.Body() inflates gzip or brotli bodies, which would let a
	// small compressed request grow past MaxBodyBytes.
	body := c.Request().Body()
	if len(bytes.TrimSpace(body)) == 0 {
		return &requestError{status: fiber.StatusBadRequest, msg: "request body is empty: send the pipeline as YAML or JSON"}
	}
	// fasthttp reuses the body's buffer after the handler returns, and the parser may keep
	// slices of what it is given.
	p, err := s.parse(bytes.Clone(body))
	if err != nil {
		return invalidPipeline(err)
	}
	if err := s.pipelines.Add(p); err != nil {
		return pipelineError(p.Name, err)
	}
	st, err := s.pipelines.Get(p.Name)
	if err != nil {
		return pipelineError(p.Name, err)
	}
	c.Location("/api/v1/pipelines/" + url.PathEscape(p.Name))
	return c.Status(fiber.StatusCreated).JSON(s.withViewers(st))
}

// detections answers with the pipeline's latest analysed frame.
func (s *server) detections(c *fiber.Ctx) error {
	name, err := pipelineName(c)
	if err != nil {
		return err
	}
	d, err := s.pipelines.Detections(name)
	if err != nil {
		return pipelineError(name, err)
	}
	return c.Status(fiber.StatusOK).JSON(d)
}

func (s *server) listModels(c *fiber.Ctx) error {
	var models any = []any{}
	if s.models != nil {
		models = s.models()
	}
	return c.Status(fiber.StatusOK).JSON(models)
}

// reloadConfig applies the configuration file again, as SIGHUP does.
func (s *server) reloadConfig(c *fiber.Ctx) error {
	if s.reload == nil {
		return &requestError{status: fiber.StatusNotImplemented, msg: "this server has no configuration file to reload"}
	}
	res, err := s.reload()
	if err != nil {
		return err
	}
	return c.Status(fiber.StatusOK).JSON(res)
}

func (s *server) remove(c *fiber.Ctx) error {
	name, err := pipelineName(c)
	if err != nil {
		return err
	}
	if err := s.pipelines.Remove(name); err != nil {
		return pipelineError(name, err)
	}
	return c.SendStatus(fiber.StatusNoContent)
}

// act returns the handler of one action route. It answers 200 with the status read right after
// the action returns: the manager acts asynchronously, so a started pipeline may still report
// "starting" and the client polls GET for what follows.
func (s *server) act(do func(Pipelines, string) error) fiber.Handler {
	return func(c *fiber.Ctx) error {
		name, err := pipelineName(c)
		if err != nil {
			return err
		}
		if err := do(s.pipelines, name); err != nil {
			return pipelineError(name, err)
		}
		st, err := s.pipelines.Get(name)
		if err != nil {
			return pipelineError(name, err)
		}
		return c.Status(fiber.StatusOK).JSON(s.withViewers(st))
	}
}

// pipelineName returns the :name parameter, percent-decoded, as a string of its own: Fiber's
// parameters point into a buffer that is reused after the handler returns. The name is only
// ever a map key; it never reaches a file path or a pipeline description.
func pipelineName(c *fiber.Ctx) (string, error) {
	name, err := url.PathUnescape(c.Params("name"))
	if err != nil || name == "" {
		return "", &requestError{status: fiber.StatusBadRequest, msg: "invalid pipeline name in the URL"}
	}
	return strings.Clone(name), nil
}

// isPipelineBodyType reports whether a pipeline may be sent as media type mt ("" when the
// request has no Content-Type). The parser tells YAML from JSON itself (JSON is YAML), so the
// type only has to be one that means text of either.
func isPipelineBodyType(mt string) bool {
	switch mt {
	case "", "application/json", "application/yaml", "application/x-yaml", "text/yaml", "text/x-yaml":
		return true
	}
	return false
}

// checkBodyType refuses bodies that are not plain YAML or JSON: forms, multipart uploads and
// compressed bodies would reach the parser as noise and fail with a confusing message.
func checkBodyType(c *fiber.Ctx) error {
	if err := refuseCompressed(c); err != nil {
		return err
	}
	ct := c.Get(fiber.HeaderContentType)
	mt := ""
	if strings.TrimSpace(ct) != "" {
		var err error
		if mt, _, err = mime.ParseMediaType(ct); err != nil {
			mt = "invalid"
		}
	}
	if !isPipelineBodyType(mt) {
		return &requestError{
			status: fiber.StatusUnsupportedMediaType,
			msg:    fmt.Sprintf("Content-Type %q is not accepted: send application/yaml or application/json", ct),
		}
	}
	return nil
}

// refuseCompressed refuses a compressed body: it would reach the parser as noise, and a small
// compressed request could inflate past MaxBodyBytes.
func refuseCompressed(c *fiber.Ctx) error {
	if enc := strings.TrimSpace(c.Get(fiber.HeaderContentEncoding)); enc != "" && !strings.EqualFold(enc, "identity") {
		return &requestError{status: fiber.StatusUnsupportedMediaType, msg: "compressed request bodies are not accepted"}
	}
	return nil
}

// checkJSONBody refuses a body that is compressed or whose Content-Type, when it has one, is
// not application/json.
func checkJSONBody(c *fiber.Ctx) error {
	if err := refuseCompressed(c); err != nil {
		return err
	}
	if ct := c.Get(fiber.HeaderContentType); strings.TrimSpace(ct) != "" {
		if mt, _, err := mime.ParseMediaType(ct); err != nil || mt != "application/json" {
			return &requestError{status: fiber.StatusUnsupportedMediaType, msg: fmt.Sprintf("Content-Type %q is not accepted: send application/json", ct)}
		}
	}
	return nil
}

// invalidPipeline makes a parse failure a 400. Validation errors keep their fields; any other
// error from the parser is still about the body (a YAML syntax error, say), so its message is
// shown rather than hidden behind a 500.
func invalidPipeline(err error) error {
	var errs spec.Errors
	var ferr *spec.FieldError
	if (errors.As(err, &errs) && len(errs) > 0) || errors.As(err, &ferr) {
		return err
	}
	return &requestError{status: fiber.StatusBadRequest, msg: "invalid pipeline: " + err.Error()}
}
