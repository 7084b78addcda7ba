package pen

import (
	"errors"
	"fmt"
	"strings"
)

// Limits on [Config]. The lower size bound keeps the smallest pig about a dozen pixels
// long; the aspect bound and the pig count bound keep the herd placeable in every pen.
const (
	MinWidth  = 160  // narrowest frame, px
	MinHeight = 120  // shortest frame, px
	MaxWidth  = 3840 // widest frame, px
	MaxHeight = 2160 // tallest frame, px
	MinPigs   = 4    // smallest herd
	MaxPigs   = 12   // largest herd; pig IDs fit a byte of the label map with room to spare
	MaxFPS    = 120  // highest frame rate
	// MaxAspect bounds Width/Height and Height/Width.
	MaxAspect = 3
)

// ErrInvalidConfig is wrapped by every error [New] and [Config.Validate] return for a
// config they reject.
var ErrInvalidConfig = errors.New("invalid pen config")

// Config describes one synthetic pen.
type Config struct {
	// Width and Height are the frame size in pixels; both even, because I420 halves them.
	Width, Height int
	// Pigs is the size of the herd, MinPigs..MaxPigs.
	Pigs int
	// FPS is the frame rate: each Step advances the simulation by 1/FPS seconds.
	FPS int
	// Seed picks the pen's floor, the pigs' sizes, colours and starting places and their
	// every move.
	Seed int64
}

// Validate reports every problem with c, in one error wrapping [ErrInvalidConfig].
func (c Config) Validate() error {
	var problems []string
	add := func(format string, args ...any) { problems = append(problems, fmt.Sprintf(format, args...)) }
	if c.Width < MinWidth || c.Width > MaxWidth {
		add("width %d outside %d..%d", c.Width, MinWidth, MaxWidth)
	} else if c.Width%2 != 0 {
		add("width %d is odd (I420 needs even sizes)", c.Width)
	}
	if c.Height < MinHeight || c.Height > MaxHeight {
		add("height %d outside %d..%d", c.Height, MinHeight, MaxHeight)
	} else if c.Height%2 != 0 {
		add("height %d is odd (I420 needs even sizes)", c.Height)
	}
	if c.Width > 0 && c.Height > 0 && (c.Width > MaxAspect*c.Height || c.Height > MaxAspect*c.Width) {
		add("aspect %dx%d is more elongated than %d:1", c.Width, c.Height, MaxAspect)
	}
	if c.Pigs < MinPigs || c.Pigs > MaxPigs {
		add("pigs %d outside %d..%d", c.Pigs, MinPigs, MaxPigs)
	}
	if c.FPS < 1 || c.FPS > MaxFPS {
		add("fps %d outside 1..%d", c.FPS, MaxFPS)
	}
	if len(problems) == 0 {
		return nil
	}
	return fmt.Errorf("%w: %s", ErrInvalidConfig, strings.Join(problems, "; "))
}
