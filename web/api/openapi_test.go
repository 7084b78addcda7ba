package api

import (
	"encoding/json"
	"fmt"
	"reflect"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/pigweight/pigweight/elements/detect"
	"github.com/pigweight/pigweight/elements/weight"
	"github.com/pigweight/pigweight/pipelines"
	"github.com/pigweight/pigweight/pipelines/spec"
	"github.com/pigweight/pigweight/pipelines/store"
	"github.com/pigweight/pigweight/pipelines/weighing"
)

func openAPIDoc(t *testing.T) map[string]any {
	t.Helper()
	var doc map[string]any
	mustUnmarshal(t, mustOpenAPI(t), &doc)
	return doc
}

// lookup follows a JSON pointer such as "#/components/schemas/Status".
func lookup(doc map[string]any, ref string) (any, bool) {
	if !strings.HasPrefix(ref, "#/") {
		return nil, false
	}
	var cur any = doc
	for _, part := range strings.Split(ref[2:], "/") {
		m, ok := cur.(map[string]any)
		if !ok {
			return nil, false
		}
		part = strings.ReplaceAll(strings.ReplaceAll(part, "~1", "/"), "~0", "~")
		if cur, ok = m[part]; !ok {
			return nil, false
		}
	}
	return cur, true
}

// walk calls fn for every object in v, with its JSON pointer.
func walk(v any, at string, fn func(at string, m map[string]any)) {
	switch v := v.(type) {
	case map[string]any:
		fn(at, v)
		for k, c := range v {
			walk(c, at+"/"+k, fn)
		}
	case []any:
		for i, c := range v {
			walk(c, fmt.Sprintf("%s/%d", at, i), fn)
		}
	}
}

var (
	operationMethods = []string{"get", "put", "post", "delete", "options", "head", "patch", "trace"}
	responseCode     = regexp.MustCompile(`^([1-5][0-9][0-9]|[1-5]XX|default)$`)
	templateParam    = regexp.MustCompile(`\{([^}]+)\}`)
)

// TestOpenAPIStructure checks the rules of OpenAPI 3.0.3 that a hand-built document most easily
// breaks. It is no full validator; the document was also checked with one when written.
func TestOpenAPIStructure(t *testing.T) {
	doc := openAPIDoc(t)

	t.Run("header", func(t *testing.T) {
		if doc["openapi"] != "3.0.3" {
			t.Errorf("openapi = %v", doc["openapi"])
		}
		info, _ := doc["info"].(map[string]any)
		if info["title"] == "" || info["version"] != "test" {
			t.Errorf("info = %v", info)
		}
		for _, k := range []string{"openapi", "info", "paths"} {
			if doc[k] == nil {
				t.Errorf("missing %q", k)
			}
		}
	})

	t.Run("refs resolve", func(t *testing.T) {
		walk(doc, "#", func(at string, m map[string]any) {
			ref, ok := m["$ref"].(string)
			if !ok {
				return
			}
			if len(m) != 1 {
				t.Errorf("%s: $ref with siblings (ignored by OpenAPI 3.0): %v", at, m)
			}
			if _, ok := lookup(doc, ref); !ok {
				t.Errorf("%s: $ref %q does not resolve", at, ref)
			}
		})
	})

	t.Run("schemas", func(t *testing.T) {
		for _, name := range []string{"Status", "Pipeline", "System", "Error", "State"} {
			if _, ok := lookup(doc, "#/components/schemas/"+name); !ok {
				t.Errorf("no schema %s", name)
			}
		}
		// Every schema object (one with a type) needs a type OpenAPI 3.0 knows, and an
		// object's required names must be among its properties.
		walk(doc, "#", func(at string, m map[string]any) {
			typ, ok := m["type"].(string)
			if !ok {
				return
			}
			if !slices.Contains([]string{"string", "number", "integer", "boolean", "array", "object"}, typ) {
				// A securityScheme's "type" (http) is not a schema type.
				if !strings.Contains(at, "/securitySchemes/") {
					t.Errorf("%s: type %q", at, typ)
				}
				return
			}
			if typ == "array" && m["items"] == nil {
				t.Errorf("%s: array without items", at)
			}
			if req, ok := m["required"].([]any); ok && typ == "object" {
				props, _ := m["properties"].(map[string]any)
				for _, r := range req {
					if _, ok := props[r.(string)]; !ok {
						t.Errorf("%s: required %q is not a property", at, r)
					}
				}
			}
		})
	})

	t.Run("bearer scheme", func(t *testing.T) {
		s, ok := lookup(doc, "#/components/securitySchemes/bearer")
		m, _ := s.(map[string]any)
		if !ok || m["type"] != "http" || m["scheme"] != "bearer" {
			t.Errorf("securitySchemes.bearer = %v", s)
		}
	})

	paths, _ := doc["paths"].(map[string]any)
	ids := map[string]string{}
	for path, v := range paths {
		item := v.(map[string]any)
		for _, method := range operationMethods {
			raw, ok := item[method]
			if !ok {
				continue
			}
			op := raw.(map[string]any)
			t.Run(method+" "+path, func(t *testing.T) {
				if !strings.HasPrefix(path, "/") {
					t.Errorf("path does not start with /")
				}
				id, _ := op["operationId"].(string)
				if id == "" {
					t.Errorf("no operationId")
				} else if other, dup := ids[id]; dup {
					t.Errorf("operationId %q also used by %s", id, other)
				}
				ids[id] = method + " " + path
				if s, _ := op["summary"].(string); s == "" {
					t.Errorf("no summary")
				}

				responses, _ := op["responses"].(map[string]any)
				if len(responses) == 0 {
					t.Errorf("no responses")
				}
				for code, r := range responses {
					if !responseCode.MatchString(code) {
						t.Errorf("response code %q", code)
					}
					if rm, _ := r.(map[string]any); rm["$ref"] == nil && rm["description"] == nil {
						t.Errorf("response %s without description", code)
					}
				}

				// Each {param} in the path is declared as a required path parameter, and no
				// path parameter is declared that the path lacks.
				declared := map[string]bool{}
				for _, list := range []any{item["parameters"], op["parameters"]} {
					ps, _ := list.([]any)
					for _, p := range ps {
						pm := p.(map[string]any)
						if ref, ok := pm["$ref"].(string); ok {
							r, _ := lookup(doc, ref)
							pm, _ = r.(map[string]any)
						}
						if pm["in"] == "path" {
							if pm["required"] != true {
								t.Errorf("path parameter %v not required", pm["name"])
							}
							declared[pm["name"].(string)] = true
						}
					}
				}
				var want []string
				for _, m := range templateParam.FindAllStringSubmatch(path, -1) {
					want = append(want, m[1])
				}
				var got []string
				for n := range declared {
					got = append(got, n)
				}
				sort.Strings(want)
				sort.Strings(got)
				if !slices.Equal(want, got) {
					t.Errorf("path parameters declared %v, template has %v", got, want)
				}

				// Mutating operations need the token and say so; reads must not.
				sec, hasSec := op["security"].([]any)
				_, has401 := responses["401"]
				if method == "get" {
					if hasSec || has401 {
						t.Errorf("GET operation with security %v / 401", sec)
					}
				} else if !hasSec || len(sec) != 1 || sec[0].(map[string]any)["bearer"] == nil || !has401 {
					t.Errorf("mutating operation without bearer security and a 401: %v", sec)
				}
			})
		}
	}
}

// jsonNames returns the JSON field names of struct type t, those of embedded structs included.
func jsonNames(t reflect.Type) []string {
	var out []string
	for f := range t.Fields() {
		if !f.IsExported() {
			continue
		}
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		if name == "-" {
			continue
		}
		if f.Anonymous && name == "" && f.Type.Kind() == reflect.Struct {
			// encoding/json promotes an untagged embedded struct's fields.
			out = append(out, jsonNames(f.Type)...)
			continue
		}
		if name == "" {
			name = f.Name
		}
		out = append(out, name)
	}
	sort.Strings(out)
	return out
}

// TestOpenAPISchemasMatchTypes keeps the schemas honest: their properties are exactly the JSON
// fields of the Go types they describe, and their enums are values those types accept.
func TestOpenAPISchemasMatchTypes(t *testing.T) {
	doc := openAPIDoc(t)
	schema := func(name string) map[string]any {
		s, _ := lookup(doc, "#/components/schemas/"+name)
		m, _ := s.(map[string]any)
		return m
	}

	types := map[string]reflect.Type{
		"Status":       reflect.TypeFor[PipelineStatus](),
		"Detections":   reflect.TypeFor[pipelines.Detections](),
		"ReloadResult": reflect.TypeFor[pipelines.ReloadResult](),
		"Detection":    reflect.TypeFor[detect.Detection](),
		"Pipeline":     reflect.TypeFor[spec.Pipeline](),
		"Source":       reflect.TypeFor[spec.Source](),
		"Synthetic":    reflect.TypeFor[spec.Synthetic](),
		"Inference":    reflect.TypeFor[spec.Inference](),
		"Output":       reflect.TypeFor[spec.Output](),
		"Restart":      reflect.TypeFor[spec.Restart](),
		"System":       reflect.TypeFor[System](),
		"Decoder":      reflect.TypeFor[Decoder](),
		"Runtime":      reflect.TypeFor[Runtime](),
		"Provider":     reflect.TypeFor[Provider](),
		"Error":        reflect.TypeFor[ErrorResponse](),
		"FieldProblem": reflect.TypeFor[FieldProblem](),
		// The viewer counts inside System.
		"ViewerCounts":   reflect.TypeFor[ViewerCounts](),
		"ViewersRefused": reflect.TypeFor[ViewersRefused](),
		// The weights.
		"Weight":            reflect.TypeFor[weight.Config](),
		"WeightCamera":      reflect.TypeFor[weight.Camera](),
		"Visit":             reflect.TypeFor[store.StoredVisit](),
		"PathPoint":         reflect.TypeFor[weight.PathPoint](),
		"CheckWeigh":        reflect.TypeFor[weight.CheckWeigh](),
		"StoredCheckWeigh":  reflect.TypeFor[store.StoredCheckWeigh](),
		"CheckWeighResult":  reflect.TypeFor[weighing.CheckWeighResult](),
		"Calibration":       reflect.TypeFor[weight.Calibration](),
		"FittedCalibration": reflect.TypeFor[store.FittedCalibration](),
		"PenCalibration":    reflect.TypeFor[weighing.PenCalibration](),
		"PenStatus":         reflect.TypeFor[weighing.PenStatus](),
		"EstimatorStats":    reflect.TypeFor[weight.Stats](),
		"GateCounts":        reflect.TypeFor[weight.GateCounts](),
	}
	for name, typ := range types {
		t.Run(name, func(t *testing.T) {
			props, _ := schema(name)["properties"].(map[string]any)
			var got []string
			for p := range props {
				got = append(got, p)
			}
			sort.Strings(got)
			if want := jsonNames(typ); !slices.Equal(got, want) {
				t.Errorf("schema %s has properties %v; %s has JSON fields %v", name, got, typ, want)
			}
		})
	}

	t.Run("State enum", func(t *testing.T) {
		want := []any{string(pipelines.StateStarting), string(pipelines.StatePlaying), string(pipelines.StateRetrying), string(pipelines.StateStopped), string(pipelines.StateFailed)}
		if got := schema("State")["enum"].([]any); !slices.Equal(got, want) {
			t.Errorf("State enum = %v, want %v", got, want)
		}
	})

	// Each enum of the pipeline schemas must name values spec's own JSON decoding accepts.
	enums := []struct {
		schema, prop string
		target       func() any
	}{
		{"Pipeline", "decode", func() any { return new(spec.Decode) }},
		{"Source", "type", func() any { return new(spec.SourceType) }},
		{"Source", "transport", func() any { return new(spec.Transport) }},
		{"Output", "type", func() any { return new(spec.OutputType) }},
		{"Output", "overlay", func() any { return new(spec.Overlay) }},
	}
	for _, e := range enums {
		t.Run(e.schema+"."+e.prop, func(t *testing.T) {
			prop, _ := schema(e.schema)["properties"].(map[string]any)[e.prop].(map[string]any)
			values, _ := prop["enum"].([]any)
			if len(values) == 0 {
				t.Fatalf("no enum")
			}
			for _, v := range values {
				b, _ := json.Marshal(v)
				if err := json.Unmarshal(b, e.target()); err != nil {
					t.Errorf("spec refuses %s: %v", b, err)
				}
			}
			// And a value outside the enum is refused, so the check above means something.
			if err := json.Unmarshal([]byte(`"no-such-value"`), e.target()); err == nil {
				t.Errorf("spec accepts any value; the enum check proves nothing")
			}
		})
	}
}
