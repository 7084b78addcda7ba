package graph

import (
	"fmt"

	"github.com/go-gst/go-gst/gst"
)

// Prop is one property to set on a new element. Values must have the property's exact Go type
// (uint for guint, int for gint, ...): go-glib refuses a mismatch instead of converting.
type Prop struct {
	Name  string
	Value any
}

// NewElement creates an element from its factory and sets typed properties on it.
func NewElement(factory string, props ...Prop) (*gst.Element, error) {
	e, err := gst.NewElement(factory)
	if err != nil {
		return nil, fmt.Errorf("create %s: %w", factory, missingPlugin(factory))
	}
	for _, p := range props {
		if err := e.SetProperty(p.Name, p.Value); err != nil {
			return nil, fmt.Errorf("%s.%s: %w", factory, p.Name, err)
		}
	}
	return e, nil
}

// NewDiscardSink makes the fakesink that ends a branch whose buffers are taken by a probe or
// not wanted at all: it never waits for the clock or a preroll, and keeps no last buffer.
func NewDiscardSink() (*gst.Element, error) {
	return NewElement("fakesink", discardSinkProps()...)
}

func discardSinkProps() []Prop {
	return []Prop{{"sync", false}, {"async", false}, {"enable-last-sample", false}}
}

// SetEnum sets an enum or flags property from its nick. Only for fixed strings from this
// package (never user input): gst_util_set_object_arg parses the value.
func SetEnum(e *gst.Element, name, nick string) {
	e.SetArg(name, nick)
}

// AddAndLink adds elements to the bin and links them in order.
func AddAndLink(bin *gst.Bin, elems ...*gst.Element) error {
	if err := bin.AddMany(elems...); err != nil {
		return err
	}
	return gst.ElementLinkMany(elems...)
}
