package spec

import (
	"fmt"
	"reflect"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"
)

// MarshalYAML writes the server settings in the form Parse reads back unchanged. Every "$"
// in a value is doubled, because Parse expands ${NAME} and reads "$$" as "$".
func (s Server) MarshalYAML() (any, error) { return encodeStruct(reflect.ValueOf(s)) }

// MarshalYAML writes the WebRTC settings in the form Parse reads back unchanged, credentials
// included (see Server.MarshalYAML).
func (w WebRTC) MarshalYAML() (any, error) { return encodeStruct(reflect.ValueOf(w)) }

// MarshalYAML writes the model in the form Parse reads back unchanged (see Server.MarshalYAML).
func (m Model) MarshalYAML() (any, error) { return encodeStruct(reflect.ValueOf(m)) }

// MarshalYAML writes the pipeline in the form Parse and ParsePipeline read back unchanged
// (see Server.MarshalYAML).
func (p Pipeline) MarshalYAML() (any, error) { return encodeStruct(reflect.ValueOf(p)) }

// The encoder below builds the node tree itself rather than letting yaml.v3 encode the
// structs: yaml.v3 v3.0.1 writes a string made only of line breaks ("\n") as a literal
// block that reads back as "", and the "$" escaping needs the tree anyway. It is the
// decoder's mirror and, like it, only walks the schema's types.

func encodeStruct(v reflect.Value) (*yaml.Node, error) {
	n := &yaml.Node{Kind: yaml.MappingNode, Tag: "!!map"}
	for _, f := range yamlFields(v.Type()) {
		value, err := encodeValue(v.Field(f.index))
		if err != nil {
			return nil, fmt.Errorf("%s: %w", f.name, err)
		}
		key := &yaml.Node{Kind: yaml.ScalarNode, Tag: strTag, Value: f.name}
		n.Content = append(n.Content, key, value)
	}
	return n, nil
}

func encodeValue(v reflect.Value) (*yaml.Node, error) {
	// Enums and Duration; never Server, WebRTC, Model or Pipeline, whose MarshalYAML calls here.
	if m, ok := v.Interface().(yaml.Marshaler); ok {
		out, err := m.MarshalYAML()
		if err != nil {
			return nil, err
		}
		if s, ok := out.(string); ok {
			return encodeString(s), nil
		}
		var n yaml.Node
		if err := n.Encode(out); err != nil {
			return nil, err
		}
		return &n, nil
	}
	switch v.Kind() {
	case reflect.Struct:
		return encodeStruct(v)
	case reflect.Slice, reflect.Array:
		n := &yaml.Node{Kind: yaml.SequenceNode, Tag: "!!seq"}
		for i := range v.Len() {
			item, err := encodeValue(v.Index(i))
			if err != nil {
				return nil, err
			}
			n.Content = append(n.Content, item)
		}
		return n, nil
	case reflect.String:
		return encodeString(v.String()), nil
	case reflect.Bool:
		return &yaml.Node{Kind: yaml.ScalarNode, Tag: boolTag, Value: strconv.FormatBool(v.Bool())}, nil
	case reflect.Int, reflect.Int64:
		return &yaml.Node{Kind: yaml.ScalarNode, Tag: intTag, Value: strconv.FormatInt(v.Int(), 10)}, nil
	case reflect.Float64:
		return &yaml.Node{Kind: yaml.ScalarNode, Tag: floatTag, Value: strconv.FormatFloat(v.Float(), 'g', -1, 64)}, nil
	}
	return nil, fmt.Errorf("cannot encode %s", v.Type())
}

// encodeString makes a string scalar that Parse reads back as s.
func encodeString(s string) *yaml.Node {
	var n yaml.Node
	n.SetString(s) // !!binary (base64) for invalid UTF-8, which YAML cannot hold as text
	n.Style = 0
	if n.Tag == strTag {
		n.Value = strings.ReplaceAll(n.Value, "$", "$$")
		// Double quotes spell every line break as an escape; a literal block, yaml.v3's
		// choice for multi-line strings, does not round-trip for all of them.
		if strings.ContainsAny(n.Value, "\n\r") {
			n.Style = yaml.DoubleQuotedStyle
		}
	}
	return &n
}
