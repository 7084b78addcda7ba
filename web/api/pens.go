package api

import (
	"bytes"
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"mime"
	"strconv"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/pigweight/pigweight/elements/weight"
	"github.com/pigweight/pigweight/pipelines/store"
	"github.com/pigweight/pigweight/pipelines/weighing"
)

// Bounds of a visits query.
const (
	DefaultVisitsLimit = 10000
	MaxVisitsLimit     = 100000
)

// Pens is what the API needs of the weighing service.
type Pens interface {
	// Pens lists every pen weighed now or with anything stored.
	Pens(ctx context.Context) ([]weighing.PenStatus, error)
	// Visits lists a pen's visits overlapping [from, to); weighing.ErrUnknownPen for a pen
	// nobody weighs.
	Visits(ctx context.Context, pen string, from, to time.Time, limit int) ([]store.StoredVisit, error)
	// AddCheckWeigh takes a scale reading (a JSON body); weight.ErrInvalidCheckWeigh,
	// weight.ErrNoPigThere and weight.ErrNoVisits say why one is refused.
	AddCheckWeigh(ctx context.Context, pen string, body []byte) (weighing.CheckWeighResult, error)
	// CheckWeighs lists a pen's readings, oldest first.
	CheckWeighs(ctx context.Context, pen string) ([]store.StoredCheckWeigh, error)
	// PenCalibration returns a pen's law and the fits before it.
	PenCalibration(ctx context.Context, pen string) (weighing.PenCalibration, error)
}

var errNoWeighing = errors.New("this server weighs no pigs")

// closedPens answers when the server has no weighing service.
type closedPens struct{}

func (closedPens) Pens(context.Context) ([]weighing.PenStatus, error) {
	return []weighing.PenStatus{}, nil
}
func (closedPens) Visits(context.Context, string, time.Time, time.Time, int) ([]store.StoredVisit, error) {
	return nil, errNoWeighing
}
func (closedPens) AddCheckWeigh(context.Context, string, []byte) (weighing.CheckWeighResult, error) {
	return weighing.CheckWeighResult{}, errNoWeighing
}
func (closedPens) CheckWeighs(context.Context, string) ([]store.StoredCheckWeigh, error) {
	return nil, errNoWeighing
}
func (closedPens) PenCalibration(context.Context, string) (weighing.PenCalibration, error) {
	return weighing.PenCalibration{}, errNoWeighing
}

// penError turns an error of the weighing service about pen into what the client sees.
func penError(pen string, err error) error {
	switch {
	case errors.Is(err, weighing.ErrUnknownPen):
		return &requestError{status: fiber.StatusNotFound, msg: fmt.Sprintf("pen %q not found: no pipeline weighs it and nothing of it is stored", pen)}
	case errors.Is(err, weight.ErrInvalidCheckWeigh):
		return &requestError{status: fiber.StatusBadRequest, msg: err.Error()}
	case errors.Is(err, weight.ErrNoPigThere), errors.Is(err, weight.ErrNoVisits):
		return &requestError{status: fiber.StatusUnprocessableEntity, msg: err.Error() +
			"; a pig is matched once its visit has ended (it left the view), so a reading of a pig still in view can be sent again later"}
	case errors.Is(err, errNoWeighing):
		return &requestError{status: fiber.StatusServiceUnavailable, msg: errNoWeighing.Error()}
	}
	return err
}

func (s *server) listPens(c *fiber.Ctx) error {
	pens, err := s.pens.Pens(c.Context())
	if err != nil {
		return err
	}
	return c.Status(fiber.StatusOK).JSON(pens)
}

// visitsQuery reads ?from, ?to (RFC 3339), ?limit and ?path of a visits request.
type visitsQuery struct {
	from, to time.Time
	limit    int
	path     bool
}

func parseVisitsQuery(c *fiber.Ctx) (visitsQuery, error) {
	q := visitsQuery{limit: DefaultVisitsLimit}
	for _, f := range []struct {
		name string
		to   *time.Time
	}{{"from", &q.from}, {"to", &q.to}} {
		raw := c.Query(f.name)
		if raw == "" {
			continue
		}
		t, err := time.Parse(time.RFC3339Nano, raw)
		if err != nil {
			return q, &requestError{status: fiber.StatusBadRequest, field: f.name,
				msg: fmt.Sprintf("%s must be an RFC 3339 time such as 2026-03-01T06:00:00Z (got %q)", f.name, raw)}
		}
		*f.to = t
	}
	if raw := c.Query("limit"); raw != "" {
		n, err := strconv.Atoi(raw)
		if err != nil || n < 1 || n > MaxVisitsLimit {
			return q, &requestError{status: fiber.StatusBadRequest, field: "limit",
				msg: fmt.Sprintf("limit must be an integer from 1 to %d (got %q)", MaxVisitsLimit, raw)}
		}
		q.limit = n
	}
	switch raw := c.Query("path"); raw {
	case "", "false", "0":
	case "true", "1":
		q.path = true
	default:
		return q, &requestError{status: fiber.StatusBadRequest, field: "path", msg: fmt.Sprintf("path must be true or false (got %q)", raw)}
	}
	return q, nil
}

func (s *server) visits(c *fiber.Ctx) ([]store.StoredVisit, string, bool, error) {
	pen, err := pathParam(c, "pen", "pen name")
	if err != nil {
		return nil, "", false, err
	}
	q, err := parseVisitsQuery(c)
	if err != nil {
		return nil, "", false, err
	}
	visits, err := s.pens.Visits(c.Context(), pen, q.from, q.to, q.limit)
	if err != nil {
		return nil, "", false, penError(pen, err)
	}
	return visits, pen, q.path, nil
}

func (s *server) penVisits(c *fiber.Ctx) error {
	visits, _, withPath, err := s.visits(c)
	if err != nil {
		return err
	}
	if !withPath {
		for i := range visits {
			visits[i].Path = nil
		}
	}
	return c.Status(fiber.StatusOK).JSON(visits)
}

// VisitsCSVHeader is the first line of a visits CSV.
var VisitsCSVHeader = []string{"id", "pen", "pipeline", "track", "start", "end", "weight_kg", "area_m2",
	"frames", "good_frames", "time", "box_x", "box_y", "box_w", "box_h"}

func (s *server) penVisitsCSV(c *fiber.Ctx) error {
	visits, pen, _, err := s.visits(c)
	if err != nil {
		return err
	}
	var buf bytes.Buffer
	w := csv.NewWriter(&buf)
	_ = w.Write(VisitsCSVHeader)
	ts := func(t time.Time) string {
		if t.IsZero() {
			return ""
		}
		return t.UTC().Format(time.RFC3339Nano)
	}
	num := func(f float64, prec int) string {
		if f == 0 {
			return ""
		}
		return strconv.FormatFloat(f, 'f', prec, 64)
	}
	for _, v := range visits {
		_ = w.Write([]string{
			strconv.FormatInt(v.ID, 10), v.Pen, v.Pipeline, strconv.FormatInt(v.Track, 10),
			ts(v.Start), ts(v.End), num(v.WeightKg, 2), num(v.AreaM2, 5),
			strconv.Itoa(v.Frames), strconv.Itoa(v.GoodFrames), ts(v.Time),
			strconv.FormatFloat(float64(v.Box.X), 'f', 1, 32), strconv.FormatFloat(float64(v.Box.Y), 'f', 1, 32),
			strconv.FormatFloat(float64(v.Box.W), 'f', 1, 32), strconv.FormatFloat(float64(v.Box.H), 'f', 1, 32),
		})
	}
	w.Flush()
	if err := w.Error(); err != nil {
		return err
	}
	c.Set(fiber.HeaderContentType, "text/csv; charset=utf-8")
	c.Set(fiber.HeaderContentDisposition, mime.FormatMediaType("attachment", map[string]string{"filename": "visits-" + pen + ".csv"}))
	return c.Status(fiber.StatusOK).Send(buf.Bytes())
}

func (s *server) addCheckWeigh(c *fiber.Ctx) error {
	pen, err := pathParam(c, "pen", "pen name")
	if err != nil {
		return err
	}
	if err := checkJSONBody(c); err != nil {
		return err
	}
	// The raw body, cloned: fasthttp reuses its buffer after the handler returns.
	res, err := s.pens.AddCheckWeigh(c.Context(), pen, bytes.Clone(c.Request().Body()))
	if err != nil {
		return penError(pen, err)
	}
	return c.Status(fiber.StatusCreated).JSON(res)
}

func (s *server) listCheckWeighs(c *fiber.Ctx) error {
	pen, err := pathParam(c, "pen", "pen name")
	if err != nil {
		return err
	}
	list, err := s.pens.CheckWeighs(c.Context(), pen)
	if err != nil {
		return penError(pen, err)
	}
	return c.Status(fiber.StatusOK).JSON(list)
}

func (s *server) penCalibration(c *fiber.Ctx) error {
	pen, err := pathParam(c, "pen", "pen name")
	if err != nil {
		return err
	}
	cal, err := s.pens.PenCalibration(c.Context(), pen)
	if err != nil {
		return penError(pen, err)
	}
	return c.Status(fiber.StatusOK).JSON(cal)
}
