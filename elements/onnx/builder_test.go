package onnx

import (
	"errors"
	"slices"
	"strings"
	"testing"
)

// dims formats a shape the way the tests spell it: "batch,3,8,8".
func dims(s []Dimension) string {
	parts := make([]string, len(s))
	for i, d := range s {
		parts[i] = d.String()
	}
	return strings.Join(parts, ",")
}

// zeros returns n zero floats, for weights whose values do not matter.
func zeros(n int) []float32 { return make([]float32, n) }

func TestGraphInfersShapes(t *testing.T) {
	tests := []struct {
		name  string
		build func(g *Graph, x Value) Value // x is [batch, 4, 8, 8]
		want  string
	}{
		{"conv 3×3 pad 1", func(g *Graph, x Value) Value {
			return g.Conv(x, g.Initializer("w", []int64{6, 4, 3, 3}, zeros(216)), Value{}, ConvOptions{Pad: 1})
		}, "batch,6,8,8"},
		{"conv 3×3 stride 2 pad 1", func(g *Graph, x Value) Value {
			return g.Conv(x, g.Initializer("w", []int64{6, 4, 3, 3}, zeros(216)),
				g.Initializer("b", []int64{6}, zeros(6)), ConvOptions{Stride: 2, Pad: 1})
		}, "batch,6,4,4"},
		{"conv 1×1 grouped", func(g *Graph, x Value) Value {
			return g.Conv(x, g.Initializer("w", []int64{8, 2, 1, 1}, zeros(16)), Value{}, ConvOptions{Group: 2})
		}, "batch,8,8,8"},
		{"conv 5×5 no pad", func(g *Graph, x Value) Value {
			return g.Conv(x, g.Initializer("w", []int64{1, 4, 5, 5}, zeros(100)), Value{}, ConvOptions{})
		}, "batch,1,4,4"},
		{"max pool 5 stride 1 pad 2", func(g *Graph, x Value) Value { return g.MaxPool(x, 5, 1, 2) }, "batch,4,8,8"},
		{"max pool 2 stride 2", func(g *Graph, x Value) Value { return g.MaxPool(x, 2, 2, 0) }, "batch,4,4,4"},
		{"upsample ×2", func(g *Graph, x Value) Value { return g.Upsample("s", x, 2) }, "batch,4,16,16"},
		{"relu", func(g *Graph, x Value) Value { return g.Relu(x) }, "batch,4,8,8"},
		{"silu", func(g *Graph, x Value) Value { return g.SiLU(x) }, "batch,4,8,8"},
		{"softmax", func(g *Graph, x Value) Value { return g.Softmax(x, 1) }, "batch,4,8,8"},
		{"add broadcasts a scalar", func(g *Graph, x Value) Value {
			return g.Add(x, g.Initializer("c", []int64{1}, zeros(1)))
		}, "batch,4,8,8"},
		{"mul broadcasts per channel", func(g *Graph, x Value) Value {
			return g.Mul(g.Initializer("c", []int64{4, 1, 1}, zeros(4)), x)
		}, "batch,4,8,8"},
		{"min of three", func(g *Graph, x Value) Value { return g.Min(x, x, x) }, "batch,4,8,8"},
		{"reduce min keeps dims", func(g *Graph, x Value) Value { return g.ReduceMin(x, []int64{1}, true) }, "batch,1,8,8"},
		{"reduce min drops dims", func(g *Graph, x Value) Value { return g.ReduceMin(x, []int64{2, 3}, false) }, "batch,4"},
		{"concat channels", func(g *Graph, x Value) Value { return g.Concat(1, x, g.Relu(x), x) }, "batch,12,8,8"},
		{"split in two", func(g *Graph, x Value) Value { return g.Split(x, 1, 2)[1] }, "batch,2,8,8"},
		{"reshape with 0 and -1", func(g *Graph, x Value) Value { return g.Reshape("s", x, []int64{0, 4, -1}) }, "batch,4,64"},
		{"reshape 4-D", func(g *Graph, x Value) Value { return g.Reshape("s", x, []int64{0, 2, 2, 64}) }, "batch,2,2,64"},
		{"transpose", func(g *Graph, x Value) Value { return g.Transpose(x, 0, 2, 1, 3) }, "batch,8,4,8"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := NewGraph("t")
			x := g.Input("x", DataTypeFloat, DimParam("batch"), Dim(4), Dim(8), Dim(8))
			y := tt.build(g, x)
			if err := g.Err(); err != nil {
				t.Fatal(err)
			}
			if got := dims(y.Shape()); got != tt.want {
				t.Errorf("shape %s, want %s", got, tt.want)
			}
			g.Output("y", y)
			m, err := g.Model()
			if err != nil {
				t.Fatal(err)
			}
			if _, err := m.Marshal(); err != nil {
				t.Fatal(err)
			}
			// The graph output carries the inferred shape.
			if got := dims(m.Graph.Output[0].Type.Tensor.Shape.Dim); got != tt.want {
				t.Errorf("output value info %s, want %s", got, tt.want)
			}
		})
	}
}

func TestGraphErrorsStick(t *testing.T) {
	tests := []struct {
		name  string
		build func(g *Graph, x Value) Value // x is [batch, 4, 8, 8]
	}{
		{"conv channel mismatch", func(g *Graph, x Value) Value {
			return g.Conv(x, g.Initializer("w", []int64{6, 3, 3, 3}, zeros(162)), Value{}, ConvOptions{})
		}},
		{"conv bias size", func(g *Graph, x Value) Value {
			return g.Conv(x, g.Initializer("w", []int64{6, 4, 1, 1}, zeros(24)), g.Initializer("b", []int64{5}, zeros(5)), ConvOptions{})
		}},
		{"conv kernel larger than input", func(g *Graph, x Value) Value {
			return g.Conv(x, g.Initializer("w", []int64{1, 4, 9, 9}, zeros(324)), Value{}, ConvOptions{})
		}},
		{"initializer data does not fit", func(g *Graph, x Value) Value {
			return g.Add(x, g.Initializer("c", []int64{2}, zeros(3)))
		}},
		{"duplicate name", func(g *Graph, x Value) Value {
			g.Initializer("c", []int64{1}, zeros(1))
			return g.Add(x, g.Initializer("c", []int64{1}, zeros(1)))
		}},
		{"value of another graph", func(g *Graph, x Value) Value {
			other := NewGraph("other")
			return g.Add(x, other.Initializer("c", []int64{1}, zeros(1)))
		}},
		{"shapes do not broadcast", func(g *Graph, x Value) Value {
			return g.Add(x, g.Initializer("c", []int64{3}, zeros(3)))
		}},
		{"concat off-axis mismatch", func(g *Graph, x Value) Value { return g.Concat(1, x, g.MaxPool(x, 2, 2, 0)) }},
		{"split unevenly", func(g *Graph, x Value) Value { return g.Split(x, 1, 3)[0] }},
		{"reshape loses elements", func(g *Graph, x Value) Value { return g.Reshape("s", x, []int64{0, 5, -1}) }},
		{"reshape moves the symbolic batch", func(g *Graph, x Value) Value { return g.Reshape("s", x, []int64{-1, 256}) }},
		{"transpose with a repeated axis", func(g *Graph, x Value) Value { return g.Transpose(x, 0, 1, 1, 3) }},
		{"output of unknown shape", func(g *Graph, x Value) Value { return g.Op("Custom", []Value{x}, 1)[0] }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := NewGraph("t")
			x := g.Input("x", DataTypeFloat, DimParam("batch"), Dim(4), Dim(8), Dim(8))
			y := tt.build(g, x)
			// Later calls do nothing and the first error is what Model reports.
			first := g.Err()
			g.Output("y", g.Relu(y))
			if first != nil && g.Err() != first {
				t.Errorf("error changed from %v to %v", first, g.Err())
			}
			_, err := g.Model()
			if !errors.Is(err, ErrInvalidModel) {
				t.Fatalf("Model = %v, want an error wrapping ErrInvalidModel", err)
			}
			t.Log(err)
		})
	}
}

func TestGraphOutputRenamesWithIdentity(t *testing.T) {
	g := NewGraph("t")
	x := g.Input("x", DataTypeFloat, Dim(1), Dim(2))
	g.Output("y", g.Relu(x))
	m, err := g.Model()
	if err != nil {
		t.Fatal(err)
	}
	ops := []string{}
	for _, n := range m.Graph.Node {
		ops = append(ops, n.OpType)
	}
	if !slices.Equal(ops, []string{"Relu", "Identity"}) || m.Graph.Node[1].Output[0] != "y" {
		t.Errorf("nodes %v, want Relu then Identity to y", ops)
	}
	for _, v := range m.Graph.ValueInfo {
		if v.Name == "y" {
			t.Errorf("output y repeated in value_info")
		}
	}
}

func TestModelsAreDeterministic(t *testing.T) {
	tests := []struct {
		name string
		a, b func() ([]byte, error)
		same bool
	}{
		{"demo model, same size", func() ([]byte, error) { return DemoModel(640, 480) },
			func() ([]byte, error) { return DemoModel(640, 480) }, true},
		{"demo model, other size", func() ([]byte, error) { return DemoModel(640, 480) },
			func() ([]byte, error) { return DemoModel(320, 240) }, false},
		{"bench model, same seed", func() ([]byte, error) { return BenchModel(1) },
			func() ([]byte, error) { return BenchModel(1) }, true},
		{"bench model, other seed", func() ([]byte, error) { return BenchModel(1) },
			func() ([]byte, error) { return BenchModel(2) }, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a, err := tt.a()
			if err != nil {
				t.Fatal(err)
			}
			b, err := tt.b()
			if err != nil {
				t.Fatal(err)
			}
			if slices.Equal(a, b) != tt.same {
				t.Errorf("same bytes: %v, want %v", !tt.same, tt.same)
			}
		})
	}
}

func TestDemoModelRejectsTinyFrames(t *testing.T) {
	if _, err := DemoModel(2, 480); !errors.Is(err, ErrInvalidModel) {
		t.Errorf("DemoModel(2, 480) = %v, want ErrInvalidModel", err)
	}
}
