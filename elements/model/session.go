package model

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"

	ort "github.com/yalue/onnxruntime_go"
)

// TensorInfo describes one model input or output. Dimensions of -1 are dynamic.
type TensorInfo struct {
	Name  string
	Shape []int64
	Type  string
}

// ProviderAttempt records an execution provider that was tried and could not be used.
type ProviderAttempt struct {
	Provider string
	Error    string
}

// SessionConfig says what to load and how.
type SessionConfig struct {
	Path string
	// Providers in order of preference: "tensorrt", "cuda", "cpu". Empty means CPU.
	Providers []string
	// Threads bounds ONNX Runtime's intra-op threads; 0 lets it use every core.
	Threads int
}

// Session is one loaded model on the first execution provider that worked. Run may be called
// from several goroutines at once: ONNX Runtime allows concurrent runs of one session, and each
// run takes its own tensors.
type Session struct {
	Input   TensorInfo
	Outputs []TensorInfo
	// Provider is the execution provider in use; Fallbacks the ones tried before it.
	Provider  string
	Fallbacks []ProviderAttempt
	// FixedBatch is the model's fixed batch size, or 0 when its batch axis is dynamic. A
	// fixed-size model runs smaller batches padded with empty images.
	FixedBatch int

	session *ort.DynamicAdvancedSession

	mu sync.Mutex
	// free holds, per batch size, the input and output tensors no run is using: allocated
	// when a run finds none, reused ever after.
	free   map[int][]*batchTensors
	closed bool
}

type batchTensors struct {
	input   *ort.Tensor[float32]
	outputs []*ort.Tensor[float32]
}

// ErrUnsupportedModel means the model's inputs or outputs are not what pigweight can feed.
var ErrUnsupportedModel = errors.New("unsupported model")

// NewSession loads the model at cfg.Path, trying the providers in order.
func (rt *Runtime) NewSession(cfg SessionConfig) (*Session, error) {
	inputs, outputs, err := ort.GetInputOutputInfo(cfg.Path)
	if err != nil {
		return nil, fmt.Errorf("read model %s: %w", cfg.Path, err)
	}
	s := &Session{free: make(map[int][]*batchTensors)}
	if len(inputs) != 1 {
		return nil, fmt.Errorf("%w: %s has %d inputs, want 1 image input", ErrUnsupportedModel, cfg.Path, len(inputs))
	}
	s.Input = tensorInfo(inputs[0])
	if len(s.Input.Shape) != 4 || inputs[0].DataType != ort.TensorElementDataTypeFloat {
		return nil, fmt.Errorf("%w: input %s is %s %v, want float32 [N, 3, H, W]", ErrUnsupportedModel, s.Input.Name, s.Input.Type, s.Input.Shape)
	}
	if b := s.Input.Shape[0]; b > 0 {
		s.FixedBatch = int(b)
	}
	names := make([]string, len(outputs))
	for i, o := range outputs {
		if o.DataType != ort.TensorElementDataTypeFloat {
			return nil, fmt.Errorf("%w: output %s is %s, want float32", ErrUnsupportedModel, o.Name, o.DataType)
		}
		s.Outputs = append(s.Outputs, tensorInfo(o))
		names[i] = o.Name
	}

	providers := cfg.Providers
	if len(providers) == 0 {
		providers = []string{"cpu"}
	}
	for _, p := range providers {
		sess, err := openWith(cfg, p, s.Input.Name, names)
		if err == nil {
			s.session, s.Provider = sess, p
			break
		}
		s.Fallbacks = append(s.Fallbacks, ProviderAttempt{Provider: p, Error: err.Error()})
	}
	if s.session == nil {
		return nil, fmt.Errorf("load %s: no execution provider worked: %s", cfg.Path, describeAttempts(s.Fallbacks))
	}
	return s, nil
}

func describeAttempts(attempts []ProviderAttempt) string {
	parts := make([]string, len(attempts))
	for i, a := range attempts {
		parts[i] = a.Provider + ": " + a.Error
	}
	return strings.Join(parts, "; ")
}

func tensorInfo(io ort.InputOutputInfo) TensorInfo {
	return TensorInfo{Name: io.Name, Shape: slices.Clone([]int64(io.Dimensions)), Type: io.DataType.String()}
}

// openWith creates the ONNX Runtime session on one provider.
func openWith(cfg SessionConfig, provider, input string, outputs []string) (*ort.DynamicAdvancedSession, error) {
	opts, err := ort.NewSessionOptions()
	if err != nil {
		return nil, err
	}
	defer opts.Destroy()
	if cfg.Threads > 0 {
		if err := opts.SetIntraOpNumThreads(cfg.Threads); err != nil {
			return nil, err
		}
	}
	// ONNX Runtime's workers spin for a while after each run by default. Here they share the
	// cores with decoders and encoders, which the spinning starved (the demo pen fell from 15
	// to 5 fps): they sleep instead.
	if err := opts.AddSessionConfigEntry("session.intra_op.allow_spinning", "0"); err != nil {
		return nil, err
	}
	switch provider {
	case "tensorrt":
		trt, err := ort.NewTensorRTProviderOptions()
		if err != nil {
			return nil, err
		}
		defer trt.Destroy()
		if err := opts.AppendExecutionProviderTensorRT(trt); err != nil {
			return nil, err
		}
	case "cuda":
		cuda, err := ort.NewCUDAProviderOptions()
		if err != nil {
			return nil, err
		}
		defer cuda.Destroy()
		if err := opts.AppendExecutionProviderCUDA(cuda); err != nil {
			return nil, err
		}
	case "cpu":
	default:
		return nil, fmt.Errorf("unknown execution provider %q", provider)
	}
	return ort.NewDynamicAdvancedSession(cfg.Path, []string{input}, outputs, opts)
}

// InputSize is the model's input width and height (0 where dynamic).
func (s *Session) InputSize() (w, h int) {
	return max(0, int(s.Input.Shape[3])), max(0, int(s.Input.Shape[2]))
}

// ImageLen is the number of float32 values of one input image.
func (s *Session) ImageLen() int {
	w, h := s.InputSize()
	return int(s.Input.Shape[1]) * w * h
}

// Outputs of one run: Data[k] is output k for the whole batch, Shape[k] its shape. Valid
// only inside Run's use function.
type Outputs struct {
	Data  [][]float32
	Shape [][]int64
}

// Image returns output k of image i of the batch.
func (o Outputs) Image(k, i int) []float32 {
	per := len(o.Data[k]) / int(o.Shape[k][0])
	return o.Data[k][i*per : (i+1)*per]
}

// Run runs a batch of n images. fill writes image i into dst (ImageLen values, NCHW); use gets
// the outputs, which are valid only until it returns. A model with a fixed batch size gets the
// batch padded with zeros; Outputs then still describes n images.
func (s *Session) Run(n int, fill func(i int, dst []float32), use func(Outputs) error) error {
	if n <= 0 {
		return fmt.Errorf("batch of %d images", n)
	}
	if s.FixedBatch > 0 && n > s.FixedBatch {
		return fmt.Errorf("batch of %d images for a model fixed at %d", n, s.FixedBatch)
	}
	size := n
	if s.FixedBatch > 0 {
		size = s.FixedBatch
	}
	bt, err := s.takeTensors(size)
	if err != nil {
		return err
	}
	defer s.putTensors(size, bt)
	data := bt.input.GetData()
	per := s.ImageLen()
	for i := range n {
		fill(i, data[i*per:(i+1)*per])
	}
	clear(data[n*per:])
	outs := make([]ort.Value, len(bt.outputs))
	for i, t := range bt.outputs {
		outs[i] = t
	}
	if err := s.session.Run([]ort.Value{bt.input}, outs); err != nil {
		return fmt.Errorf("run batch of %d: %w", n, err)
	}
	res := Outputs{Data: make([][]float32, len(outs)), Shape: make([][]int64, len(outs))}
	for k, t := range bt.outputs {
		shape := slices.Clone([]int64(t.GetShape()))
		perImage := len(t.GetData()) / int(shape[0])
		shape[0] = int64(n)
		res.Data[k] = t.GetData()[:n*perImage]
		res.Shape[k] = shape
	}
	return use(res)
}

// takeTensors returns input and output tensors for a batch of size n that no other run uses,
// allocating them when none are free. Outputs must have static shapes apart from the batch axis.
func (s *Session) takeTensors(n int) (*batchTensors, error) {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil, errors.New("session closed")
	}
	if free := s.free[n]; len(free) > 0 {
		bt := free[len(free)-1]
		s.free[n] = free[:len(free)-1]
		s.mu.Unlock()
		return bt, nil
	}
	s.mu.Unlock()
	inShape := ort.NewShape(append([]int64{int64(n)}, s.Input.Shape[1:]...)...)
	for _, d := range inShape {
		if d <= 0 {
			return nil, fmt.Errorf("%w: input %s has dynamic spatial size %v", ErrUnsupportedModel, s.Input.Name, s.Input.Shape)
		}
	}
	in, err := ort.NewEmptyTensor[float32](inShape)
	if err != nil {
		return nil, err
	}
	bt := &batchTensors{input: in}
	for _, o := range s.Outputs {
		shape := ort.NewShape(append([]int64{int64(n)}, o.Shape[1:]...)...)
		for _, d := range shape {
			if d <= 0 {
				bt.destroy()
				return nil, fmt.Errorf("%w: output %s has a dynamic shape %v", ErrUnsupportedModel, o.Name, o.Shape)
			}
		}
		t, err := ort.NewEmptyTensor[float32](shape)
		if err != nil {
			bt.destroy()
			return nil, err
		}
		bt.outputs = append(bt.outputs, t)
	}
	return bt, nil
}

// putTensors makes tensors taken for a batch of size n free again.
func (s *Session) putTensors(n int, bt *batchTensors) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		bt.destroy()
		return
	}
	s.free[n] = append(s.free[n], bt)
}

func (bt *batchTensors) destroy() {
	bt.input.Destroy()
	for _, t := range bt.outputs {
		t.Destroy()
	}
}

// WarmUp runs the model once on an empty batch of each size in sizes, so that the first real
// frames do not pay for ONNX Runtime's lazy initialisation (and tensors are allocated).
func (s *Session) WarmUp(sizes ...int) error {
	for _, n := range sizes {
		if err := s.Run(n, func(int, []float32) {}, func(Outputs) error { return nil }); err != nil {
			return fmt.Errorf("warm-up at batch %d: %w", n, err)
		}
	}
	return nil
}

// Close releases the session and its tensors. No run may be in progress.
func (s *Session) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.closed = true
	for _, free := range s.free {
		for _, bt := range free {
			bt.destroy()
		}
	}
	s.free = nil
	return s.session.Destroy()
}
