package onnx

import (
	"fmt"
	"strconv"
	"testing"

	"google.golang.org/protobuf/encoding/protowire"
)

// convCost is the cost of the convolutions of an encoded model at batch 1, counted from
// the model's own bytes: weights from the initializers' dims, output sizes from
// value_info.
type convCost struct {
	convs  int
	flops  int64 // 2 per multiply-add
	params int64 // elements of all initializers
}

func countConvCost(t testing.TB, model []byte) convCost {
	t.Helper()
	graph := mustDecode(t, model).msg(t, 7)
	weights := map[string][]int64{}
	var c convCost
	for _, init := range graph.msgs(t, 5) {
		dims := init.ints(1)
		weights[init.str(8)] = dims
		n := int64(1)
		for _, d := range dims {
			n *= d
		}
		c.params += n
	}
	shapes := map[string][]string{}
	// GraphProto's input, output and value_info, numbered as in onnx.proto.
	for _, field := range []protowire.Number{11, 12, 13} {
		for _, vi := range graph.msgs(t, field) {
			shapes[vi.str(1)] = wireShape(t, vi)
		}
	}
	for _, node := range graph.msgs(t, 1) {
		if node.str(4) != "Conv" {
			continue
		}
		in, out := node.strs(1), node.strs(2)
		w, ok := weights[in[1]]
		if !ok || len(w) != 4 {
			t.Fatalf("conv %s: weights %q are not a 4-D initializer", node.str(3), in[1])
		}
		s := shapes[out[0]]
		if len(s) != 4 {
			t.Fatalf("conv %s: output %q has no 4-D value_info (%v)", node.str(3), out[0], s)
		}
		hOut, err1 := strconv.ParseInt(s[2], 10, 64)
		wOut, err2 := strconv.ParseInt(s[3], 10, 64)
		if err1 != nil || err2 != nil {
			t.Fatalf("conv %s: output shape %v", node.str(3), s)
		}
		// Weights are [Cout, Cin/group, kh, kw]: one multiply-add per weight per output pixel.
		c.flops += 2 * w[0] * w[1] * w[2] * w[3] * hOut * wOut
		c.convs++
	}
	return c
}

func (c convCost) String() string {
	return fmt.Sprintf("%d convs, %.4f GFLOPs (%d), %.3f M parameters",
		c.convs, float64(c.flops)/1e9, c.flops, float64(c.params)/1e6)
}

func TestBenchModelCost(t *testing.T) {
	model, err := BenchModel(1)
	if err != nil {
		t.Fatal(err)
	}
	c := countConvCost(t, model)
	t.Logf("bench model: %v, %.1f MB", c, float64(len(model))/1e6)
	// YOLOv8n is 8.7 GFLOPs at 640×640; the budget allows ±10%.
	if c.flops < 7.83e9 || c.flops > 9.57e9 {
		t.Errorf("bench model costs %.3f GFLOPs, want 8.7 ± 10%%", float64(c.flops)/1e9)
	}
	if len(model) > 15e6 {
		t.Errorf("bench model is %d bytes, want at most 15 MB", len(model))
	}
}
