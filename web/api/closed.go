package api

import (
	"github.com/pigweight/pigweight/pipelines"
	"github.com/pigweight/pigweight/pipelines/spec"
)

// closedPipelines stands in when New is given no manager: it lists nothing and refuses every
// change with pipelines.ErrClosed (503), rather than letting a nil interface panic.
type closedPipelines struct{}

func (closedPipelines) List() []pipelines.Status { return nil }

func (closedPipelines) Get(string) (pipelines.Status, error) {
	return pipelines.Status{}, pipelines.ErrClosed
}

func (closedPipelines) Add(spec.Pipeline) error { return pipelines.ErrClosed }
func (closedPipelines) Remove(string) error     { return pipelines.ErrClosed }
func (closedPipelines) Start(string) error      { return pipelines.ErrClosed }
func (closedPipelines) Stop(string) error       { return pipelines.ErrClosed }
func (closedPipelines) Restart(string) error    { return pipelines.ErrClosed }

func (closedPipelines) Detections(string) (pipelines.Detections, error) {
	return pipelines.Detections{}, pipelines.ErrClosed
}
