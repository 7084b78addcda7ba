//go:build cgo

package onnx

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"testing"

	ort "github.com/yalue/onnxruntime_go"
)

// ortErr is why ONNX Runtime could not be loaded, nil when it was. It is written once, in
// TestMain, before any test runs.
var ortErr error

// TestMain loads ONNX Runtime once: the environment is per process.
func TestMain(m *testing.M) {
	lib := os.Getenv("PIGWEIGHT_ONNXRUNTIME")
	if lib == "" {
		lib = filepath.Join("..", "..", "third_party", "onnxruntime", "libonnxruntime.so.1")
	}
	if _, err := os.Stat(lib); err != nil {
		ortErr = fmt.Errorf("no ONNX Runtime (run `make deps` or set PIGWEIGHT_ONNXRUNTIME): %w", err)
	} else {
		ort.SetSharedLibraryPath(lib)
		ortErr = ort.InitializeEnvironment(ort.WithLogLevelError())
	}
	code := m.Run()
	if ortErr == nil {
		if err := ort.DestroyEnvironment(); err != nil {
			fmt.Fprintln(os.Stderr, "destroy ONNX Runtime:", err)
			code = 1
		}
	}
	os.Exit(code)
}

// needORT skips a test when ONNX Runtime is not there to run it.
func needORT(t testing.TB) {
	t.Helper()
	if ortErr != nil {
		t.Skip(ortErr)
	}
}

// session is a loaded model with one float32 input and one float32 output.
type session struct {
	s       *ort.DynamicAdvancedSession
	in, out string
}

func newSession(t testing.TB, model []byte, in, out string) *session {
	t.Helper()
	needORT(t)
	opts, err := ort.NewSessionOptions()
	if err != nil {
		t.Fatal(err)
	}
	defer opts.Destroy()
	s, err := ort.NewDynamicAdvancedSessionWithONNXData(model, []string{in}, []string{out}, opts)
	if err != nil {
		t.Fatalf("load model: %v", err)
	}
	t.Cleanup(func() { s.Destroy() })
	return &session{s: s, in: in, out: out}
}

// run runs the model on data of the given shape and returns the output and its shape.
func (s *session) run(t testing.TB, shape []int64, data []float32) ([]float32, []int64) {
	t.Helper()
	in, err := ort.NewTensor(ort.NewShape(shape...), data)
	if err != nil {
		t.Fatal(err)
	}
	defer in.Destroy()
	outs := []ort.Value{nil} // ORT allocates the output: its shape depends on the batch
	if err := s.s.Run([]ort.Value{in}, outs); err != nil {
		t.Fatalf("run: %v", err)
	}
	defer outs[0].Destroy()
	out, ok := outs[0].(*ort.Tensor[float32])
	if !ok {
		t.Fatalf("output is %T, want float32 tensor", outs[0])
	}
	return append([]float32(nil), out.GetData()...), out.GetShape()
}

// ioInfo returns what ONNX Runtime reads as the model's inputs and outputs.
func ioInfo(t testing.TB, model []byte) (in, out []ort.InputOutputInfo) {
	t.Helper()
	needORT(t)
	in, out, err := ort.GetInputOutputInfoWithONNXData(model)
	if err != nil {
		t.Fatalf("input/output info: %v", err)
	}
	return in, out
}

// checkTensors checks that a model declares exactly one float32 tensor named want with dims.
func checkTensors(t *testing.T, kind string, got []ort.InputOutputInfo, want string, dims []int64) {
	t.Helper()
	if len(got) != 1 {
		t.Fatalf("%d %ss, want 1", len(got), kind)
	}
	g := got[0]
	if g.Name != want || !slices.Equal(g.Dimensions, dims) || g.DataType != ort.TensorElementDataTypeFloat {
		t.Errorf("%s is %v, want %s float %v", kind, &g, want, dims)
	}
}

// TestORTReadsModelFields checks the ModelProto fields ONNX Runtime exposes as metadata,
// which the inputs and outputs alone do not exercise.
func TestORTReadsModelFields(t *testing.T) {
	needORT(t)
	g := NewGraph("fields")
	g.Output("y", g.Relu(g.Input("x", DataTypeFloat, DimParam("batch"), Dim(2))))
	m, err := g.Model()
	if err != nil {
		t.Fatal(err)
	}
	m.Domain, m.ModelVersion, m.DocString = "com.pigweight", 42, "a description"
	m.MetadataProps = []StringStringEntryProto{{Key: "classes", Value: "pig"}}
	b, err := m.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	md, err := ort.GetModelMetadataWithONNXData(b)
	if err != nil {
		t.Fatal(err)
	}
	defer md.Destroy()
	producer, err1 := md.GetProducerName()
	graph, err2 := md.GetGraphName()
	domain, err3 := md.GetDomain()
	doc, err4 := md.GetDescription()
	version, err5 := md.GetVersion()
	classes, ok, err6 := md.LookupCustomMetadataMap("classes")
	for _, err := range []error{err1, err2, err3, err4, err5, err6} {
		if err != nil {
			t.Fatal(err)
		}
	}
	tests := []struct {
		field     string
		got, want any
	}{
		{"producer_name", producer, "pigweight"},
		{"graph name", graph, "fields"},
		{"domain", domain, "com.pigweight"},
		{"doc_string", doc, "a description"},
		{"model_version", version, int64(42)},
		{"metadata_props", classes, "pig"},
		{"metadata_props present", ok, true},
	}
	for _, tt := range tests {
		t.Run(tt.field, func(t *testing.T) {
			if tt.got != tt.want {
				t.Errorf("got %v, want %v", tt.got, tt.want)
			}
		})
	}
}

// TestORTComputesWhatTheBuilderMeans runs small graphs of each builder operator on inputs
// small enough to work out by hand.
func TestORTComputesWhatTheBuilderMeans(t *testing.T) {
	seq := func(n int) []float32 {
		out := make([]float32, n)
		for i := range out {
			out[i] = float32(i + 1)
		}
		return out
	}
	ones := func(n int) []float32 {
		out := make([]float32, n)
		for i := range out {
			out[i] = 1
		}
		return out
	}
	tests := []struct {
		name  string
		shape []int64 // of the input x, filled with 1, 2, 3, ...
		build func(g *Graph, x Value) Value
		want  []float32
	}{
		{"conv 3×3 pad 1 with bias", []int64{1, 1, 3, 3}, func(g *Graph, x Value) Value {
			return g.Conv(x, g.Initializer("w", []int64{1, 1, 3, 3}, ones(9)), g.Initializer("b", []int64{1}, []float32{0.5}), ConvOptions{Pad: 1})
		}, []float32{12.5, 21.5, 16.5, 27.5, 45.5, 33.5, 24.5, 39.5, 28.5}},
		{"conv 1×1 mixes channels", []int64{1, 2, 1, 2}, func(g *Graph, x Value) Value {
			return g.Conv(x, g.Initializer("w", []int64{1, 2, 1, 1}, []float32{1, -1}), Value{}, ConvOptions{})
		}, []float32{-2, -2}},
		{"conv stride 2", []int64{1, 1, 4, 4}, func(g *Graph, x Value) Value {
			return g.Conv(x, g.Initializer("w", []int64{1, 1, 1, 1}, ones(1)), Value{}, ConvOptions{Stride: 2})
		}, []float32{1, 3, 9, 11}},
		{"max pool 2 stride 2", []int64{1, 1, 4, 4}, func(g *Graph, x Value) Value { return g.MaxPool(x, 2, 2, 0) },
			[]float32{6, 8, 14, 16}},
		{"upsample ×2", []int64{1, 1, 2, 2}, func(g *Graph, x Value) Value { return g.Upsample("s", x, 2) },
			[]float32{1, 1, 2, 2, 1, 1, 2, 2, 3, 3, 4, 4, 3, 3, 4, 4}},
		{"reduce min over channels", []int64{1, 2, 1, 2}, func(g *Graph, x Value) Value {
			return g.ReduceMin(g.Mul(x, g.Initializer("s", []int64{2, 1, 1}, []float32{1, -1})), []int64{1}, true)
		}, []float32{-3, -4}},
		{"split and concat swapped", []int64{1, 4}, func(g *Graph, x Value) Value {
			p := g.Split(x, 1, 2)
			return g.Concat(1, p[1], p[0])
		}, []float32{3, 4, 1, 2}},
		{"reshape and transpose", []int64{1, 6}, func(g *Graph, x Value) Value {
			return g.Transpose(g.Reshape("s", x, []int64{0, 2, 3}), 0, 2, 1)
		}, []float32{1, 4, 2, 5, 3, 6}},
		{"softmax", []int64{1, 2}, func(g *Graph, x Value) Value { return g.Softmax(x, 1) },
			[]float32{0.26894142, 0.7310586}},
		{"silu, sub, min, max", []int64{1, 2}, func(g *Graph, x Value) Value {
			c := g.Initializer("c", []int64{1}, []float32{1.5})
			floor := g.Initializer("floor", []int64{1}, []float32{-0.5})
			// silu(1, 2) = 0.7311, 1.7616
			return g.Max(g.Min(g.Sub(g.SiLU(x), c), g.Relu(g.Sub(x, c))), floor)
		}, []float32{-0.5, 0.26159418}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := NewGraph("t")
			x := g.Input("x", DataTypeFloat, fixedDims(tt.shape)...)
			g.Output("y", tt.build(g, x))
			m, err := g.Model()
			if err != nil {
				t.Fatal(err)
			}
			b, err := m.Marshal()
			if err != nil {
				t.Fatal(err)
			}
			n := int64(1)
			for _, d := range tt.shape {
				n *= d
			}
			got, _ := newSession(t, b, "x", "y").run(t, tt.shape, seq(int(n)))
			if len(got) != len(tt.want) {
				t.Fatalf("got %v, want %v", got, tt.want)
			}
			for i := range got {
				if d := got[i] - tt.want[i]; d > 1e-5 || d < -1e-5 {
					t.Fatalf("got %v, want %v", got, tt.want)
				}
			}
		})
	}
}
