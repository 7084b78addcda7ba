package graph

import (
	"fmt"

	"github.com/go-gst/go-gst/gst"
)

// prop is one property to set on a new element. Values must have the property's exact Go type
// (uint for guint, int for gint, ...): go-glib refuses a mismatch instead of converting.
type prop struct {
	name  string
	value any
}

// makeElement creates an element from its factory and sets typed properties on it.
func makeElement(factory string, props ...prop) (*gst.Element, error) {
	e, err := gst.NewElement(factory)
	if err != nil {
		return nil, fmt.Errorf("create %s: %w", factory, missingPlugin(factory))
	}
	for _, p := range props {
		if err := e.SetProperty(p.name, p.value); err != nil {
			return nil, fmt.Errorf("%s.%s: %w", factory, p.name, err)
		}
	}
	return e, nil
}

// setEnum sets an enum or flags property from its nick. Only for fixed strings from this
// package (never user input): gst_util_set_object_arg parses the value.
func setEnum(e *gst.Element, name, nick string) {
	e.SetArg(name, nick)
}

// addAndLink adds elements to the bin and links them in order.
func addAndLink(bin *gst.Bin, elems ...*gst.Element) error {
	if err := bin.AddMany(elems...); err != nil {
		return err
	}
	return gst.ElementLinkMany(elems...)
}
