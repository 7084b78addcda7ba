package api

import (
	"errors"
	"fmt"
	"net/http"

	"github.com/gofiber/fiber/v2"

	"github.com/pigweight/pigweight/pipelines"
	"github.com/pigweight/pigweight/pipelines/spec"
)

// ErrorResponse is the body of every error response.
type ErrorResponse struct {
	// Error is a message for a person.
	Error string `json:"error"`
	// Field is the path of the field at fault, e.g. "source.uri"; omitted when no single field is.
	Field string `json:"field,omitempty"`
	// Errors lists every problem found when a request body failed validation, in document
	// order; the first one is repeated in Error and Field. Omitted for other errors.
	Errors []FieldProblem `json:"errors,omitempty"`
}

// FieldProblem is one validation problem in a request body.
type FieldProblem struct {
	Error  string `json:"error"`
	Field  string `json:"field,omitempty"`
	Line   int    `json:"line,omitempty"`   // 1-based line in the request body; omitted when unknown
	Column int    `json:"column,omitempty"` // 1-based; omitted when unknown
}

// Errors of the token check. They are answered with 401 and a WWW-Authenticate challenge.
var (
	errTokenMissing = errors.New("this server needs an API token: send Authorization: Bearer <token>")
	errTokenInvalid = errors.New("the API token is wrong")
)

// requestError is a failure the client caused or can act on: it carries the status and the
// message the client sees. Errors that are neither a requestError nor one of the sentinels
// handleError knows are internal, and the client gets only a generic 500.
type requestError struct {
	status int
	msg    string
	field  string
}

func (e *requestError) Error() string { return e.msg }

// pipelineError turns an error of the pipeline manager about pipeline name into what the
// client sees; errors it does not know pass through unchanged, to become a 500.
func pipelineError(name string, err error) error {
	switch {
	case errors.Is(err, pipelines.ErrNotFound):
		return &requestError{status: fiber.StatusNotFound, msg: fmt.Sprintf("pipeline %q not found", name)}
	case errors.Is(err, pipelines.ErrNoInference), errors.Is(err, pipelines.ErrNoDetections):
		return &requestError{status: fiber.StatusNotFound, msg: fmt.Sprintf("pipeline %q: %v", name, err)}
	case errors.Is(err, pipelines.ErrExists):
		return &requestError{status: fiber.StatusConflict, msg: fmt.Sprintf("pipeline %q already exists", name), field: "name"}
	}
	return err
}

// handleError is the app's ErrorHandler: every error a handler returns, and every error Fiber
// or fasthttp raise on their own (unknown route, wrong method, body too large), comes out here
// as an ErrorResponse.
func (s *server) handleError(c *fiber.Ctx, err error) error {
	status, body := s.classify(err)
	if status >= fiber.StatusInternalServerError {
		// The detail is for the operator; the client learns only that it was not its fault.
		s.log.Error("request failed", "method", c.Method(), "path", c.Path(), "status", status, "err", err)
	} else {
		s.log.Debug("request refused", "method", c.Method(), "path", c.Path(), "status", status, "err", err)
	}
	switch {
	case errors.Is(err, errTokenMissing):
		c.Set(fiber.HeaderWWWAuthenticate, `Bearer realm="pigweight"`)
	case errors.Is(err, errTokenInvalid):
		c.Set(fiber.HeaderWWWAuthenticate, `Bearer realm="pigweight", error="invalid_token"`)
	}
	return c.Status(status).JSON(body)
}

// classify maps err to a status code and the body the client sees.
func (s *server) classify(err error) (int, ErrorResponse) {
	var (
		rerr   *requestError
		errs   spec.Errors
		ferr   *spec.FieldError
		fibErr *fiber.Error
	)
	switch {
	case errors.As(err, &rerr):
		return rerr.status, ErrorResponse{Error: rerr.msg, Field: rerr.field}
	case errors.As(err, &errs) && len(errs) > 0:
		return fiber.StatusBadRequest, fieldErrors(errs)
	case errors.As(err, &ferr):
		return fiber.StatusBadRequest, fieldErrors(spec.Errors{ferr})
	case errors.Is(err, errTokenMissing), errors.Is(err, errTokenInvalid):
		return fiber.StatusUnauthorized, ErrorResponse{Error: err.Error()}
	case errors.Is(err, pipelines.ErrNotFound):
		return fiber.StatusNotFound, ErrorResponse{Error: "pipeline not found"}
	case errors.Is(err, pipelines.ErrExists):
		return fiber.StatusConflict, ErrorResponse{Error: "pipeline already exists", Field: "name"}
	case errors.Is(err, pipelines.ErrClosed):
		return fiber.StatusServiceUnavailable, ErrorResponse{Error: "pigweight is shutting down; try again later"}
	case errors.As(err, &fibErr):
		return fibErr.Code, ErrorResponse{Error: fiberMessage(fibErr)}
	}
	return fiber.StatusInternalServerError, ErrorResponse{Error: "internal server error; the server log has the details"}
}

// fiberMessage words Fiber's own errors for a person. Fiber's messages are safe to show, but
// some are bare status texts that do not say what to do.
func fiberMessage(e *fiber.Error) string {
	switch e.Code {
	case fiber.StatusRequestEntityTooLarge:
		return fmt.Sprintf("request body is larger than the limit of %d bytes", MaxBodyBytes)
	case fiber.StatusMethodNotAllowed:
		return "method not allowed on this path"
	}
	if e.Code >= fiber.StatusInternalServerError || e.Message == "" {
		return http.StatusText(e.Code)
	}
	return e.Message
}

// fieldErrors lays out validation errors: the first in Error and Field, all of them in Errors.
func fieldErrors(errs spec.Errors) ErrorResponse {
	var out ErrorResponse
	for _, e := range errs {
		if e == nil {
			continue
		}
		msg := e.Message
		if msg == "" {
			msg = "invalid value"
		}
		out.Errors = append(out.Errors, FieldProblem{Error: msg, Field: e.Field, Line: e.Line, Column: e.Column})
	}
	if len(out.Errors) == 0 {
		return ErrorResponse{Error: "invalid pipeline"}
	}
	out.Error, out.Field = out.Errors[0].Error, out.Errors[0].Field
	return out
}
