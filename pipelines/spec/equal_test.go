package spec

import (
	"reflect"
	"strconv"
	"testing"
)

func TestPipelineEqual(t *testing.T) {
	base := func() Pipeline { return validConfig().Pipelines[2] }
	tests := []struct {
		name   string
		mutate func(p *Pipeline)
		want   bool
	}{
		{"same", func(p *Pipeline) {}, true},
		{"nil and empty outputs", func(p *Pipeline) { p.Outputs = []Output{} }, false}, // base has one output
		{"name", func(p *Pipeline) { p.Name = "other" }, false},
		{"uri", func(p *Pipeline) { p.Source.URI = "x" }, false},
		{"synthetic seed", func(p *Pipeline) { p.Source.Synthetic.Seed = 2 }, false},
		{"decode", func(p *Pipeline) { p.Decode = DecodeNVDEC }, false},
		{"inference", func(p *Pipeline) { p.Inference.Interval = 2 }, false},
		{"output overlay", func(p *Pipeline) { p.Outputs[0].Overlay = OverlayBurn }, false},
		{"extra output", func(p *Pipeline) { p.Outputs = append(p.Outputs, p.Outputs[0]) }, false},
		{"restart", func(p *Pipeline) { p.Restart.BackoffMax++ }, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, q := base(), base()
			tt.mutate(&q)
			if got := p.Equal(q); got != tt.want {
				t.Errorf("Equal() = %v, want %v", got, tt.want)
			}
			if got := q.Equal(p); got != tt.want {
				t.Errorf("Equal() is not symmetric")
			}
		})
	}

	var a, b Pipeline
	b.Outputs = []Output{}
	if !a.Equal(b) {
		t.Error("nil and empty Outputs differ")
	}
}

// TestEqualSeesEveryField changes each leaf field of a Config in turn and checks that Equal
// notices, so a field added to types.go cannot be forgotten by Equal.
func TestEqualSeesEveryField(t *testing.T) {
	sample := func() *Config {
		c := validConfig()
		c.Models[0].Classes = []string{"pig"}
		return c
	}
	// leaf navigates from a *Config's element to one leaf field.
	type leaf struct {
		path string
		get  func(root reflect.Value) reflect.Value
	}
	var leaves []leaf
	var walk func(path string, v reflect.Value, get func(reflect.Value) reflect.Value)
	walk = func(path string, v reflect.Value, get func(reflect.Value) reflect.Value) {
		switch v.Kind() {
		case reflect.Struct:
			for i := range v.NumField() {
				if !v.Type().Field(i).IsExported() {
					continue
				}
				walk(path+"."+v.Type().Field(i).Name, v.Field(i), func(r reflect.Value) reflect.Value { return get(r).Field(i) })
			}
		case reflect.Slice, reflect.Array:
			for i := range v.Len() {
				walk(path+"["+strconv.Itoa(i)+"]", v.Index(i), func(r reflect.Value) reflect.Value { return get(r).Index(i) })
			}
		default:
			leaves = append(leaves, leaf{path, get})
		}
	}
	walk("Config", reflect.ValueOf(sample()).Elem(), func(r reflect.Value) reflect.Value { return r })
	if len(leaves) < 30 {
		t.Fatalf("walked only %d fields", len(leaves))
	}
	for _, l := range leaves {
		t.Run(l.path, func(t *testing.T) {
			c, d := sample(), sample()
			if !c.Equal(*d) {
				t.Fatal("equal configs differ")
			}
			s := l.get(reflect.ValueOf(d).Elem())
			switch s.Kind() {
			case reflect.String:
				s.SetString(s.String() + "x")
			case reflect.Bool:
				s.SetBool(!s.Bool())
			case reflect.Int, reflect.Int64:
				s.SetInt(s.Int() + 1)
			case reflect.Float64:
				s.SetFloat(s.Float() + 0.5)
			default:
				t.Fatalf("unhandled kind %s", s.Kind())
			}
			if c.Equal(*d) {
				t.Errorf("Equal() misses a change to %s", l.path)
			}
		})
	}
}
