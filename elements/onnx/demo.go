package onnx

import (
	"fmt"
)

// Names of the demo model's input and output.
const (
	DemoInput  = "images"
	DemoOutput = "mask"
)

// demoParams are the hand-chosen weights of DemoModel, in 8-bit colour levels so they
// can be read against pen.IsPigPink and the pen's margins (pig R-G >= 32, floor R-G <= 16).
type demoParams struct {
	// Thresholds of the three colour tests, and the width over which each goes from
	// "surely not" to "surely pig", in levels.
	rgMin, rbMin, rMin    float32
	rgSoft, rbSoft, rSoft float32
	// vote is the share of the smoothing window that must look pig for the centre pixel
	// to count as pig; above 0.75 a 3×3 binomial window starts to erode straight edges.
	vote float32
	// gain is the slope of the output sigmoid around vote.
	gain float32
}

// defaultDemo are the weights DemoModel ships with; see DemoModel for the reasoning.
func defaultDemo() demoParams {
	return demoParams{
		rgMin: 24, rbMin: 15, rMin: 100,
		rgSoft: 3, rbSoft: 3, rSoft: 6,
		vote: 0.6,
		gain: 40,
	}
}

// DemoModel returns an ONNX model that marks the pigs in frames of the synthetic pen
// (package pipelines/pen) by colour alone, with fixed hand-chosen weights.
//
// Input "images" is float32 [batch, 3, height, width], RGB in 0..1; output "mask" is
// float32 [batch, 1, height, width], the probability that each pixel is pig. The batch
// is dynamic.
//
// The network follows pen.IsPigPink: a 1×1 convolution measures R−G, R−B and R against
// thresholds (R−G at 24, midway between the pen's pig and floor margins of 32 and 16); a
// ReduceMin keeps the weakest of the three tests, so a pixel must pass all; a sigmoid
// turns that into a per-pixel vote; a 3×3 binomial convolution averages the votes of the
// neighbourhood, which outvotes single pixels that H.264's colour noise flips either
// way; a steep sigmoid thresholds the average at 0.6. That threshold keeps straight
// edges (a pixel just inside one has 0.75 of the window) but trims corners and
// one-pixel spurs, which offsets the spread of pink into the floor that 4:2:0 chroma
// causes at pig edges: the mask's area stays within 1.5% of the truth both on clean and
// on chroma-subsampled frames. All operators are standard opset 17.
//
// The mask is conservative only by that much. Eroding more (a higher threshold) hardly
// separates touching pigs, because pigs that touch in the pen mostly overlap or lie
// flank to flank, with no floor between them to widen, while it costs area that a
// weight estimate needs.
func DemoModel(width, height int) ([]byte, error) {
	return demoModel(width, height, defaultDemo())
}

func demoModel(width, height int, p demoParams) ([]byte, error) {
	if width < 3 || height < 3 {
		return nil, fmt.Errorf("demo model %dx%d: %w", width, height, invalidf("frame smaller than 3×3"))
	}
	g := NewGraph("pigweight-demo")
	x := g.Input(DemoInput, DataTypeFloat, DimParam("batch"), Dim(3), Dim(int64(height)), Dim(int64(width)))

	// Colour tests, each scaled so that ±1 is one "soft" width away from its threshold.
	// The input is in 0..1, so 255 turns it into levels.
	const l = 255
	w1 := []float32{
		l / p.rgSoft, -l / p.rgSoft, 0, // R−G
		l / p.rbSoft, 0, -l / p.rbSoft, // R−B
		l / p.rSoft, 0, 0, // R
	}
	b1 := []float32{-p.rgMin / p.rgSoft, -p.rbMin / p.rbSoft, -p.rMin / p.rSoft}
	tests := g.Conv(x,
		g.Initializer("colour.weight", []int64{3, 3, 1, 1}, w1),
		g.Initializer("colour.bias", []int64{3}, b1),
		ConvOptions{})
	weakest := g.ReduceMin(tests, []int64{1}, true)
	vote := g.Sigmoid(weakest)

	// 3×3 binomial smoothing folded with the output threshold: gain·(Σ k·vote − p.vote).
	k := []float32{1, 2, 1, 2, 4, 2, 1, 2, 1}
	for i := range k {
		k[i] *= p.gain / 16
	}
	smooth := g.Conv(vote,
		g.Initializer("smooth.weight", []int64{1, 1, 3, 3}, k),
		g.Initializer("smooth.bias", []int64{1}, []float32{-p.gain * p.vote}),
		ConvOptions{Pad: 1})
	g.Output(DemoOutput, g.Sigmoid(smooth))

	m, err := g.Model()
	if err != nil {
		return nil, fmt.Errorf("demo model: %w", err)
	}
	m.DocString = "Finds pigs in frames of the synthetic pen by colour: mask = P(pixel is pig)."
	return m.Marshal()
}
