package pen_test

import (
	"fmt"

	"github.com/pigweight/pigweight/pipelines/pen"
)

// A camera stand-in: render each frame for appsrc and keep its truth for the checks.
func Example() {
	scene, err := pen.New(pen.Config{Width: 640, Height: 480, Pigs: 6, FPS: 15, Seed: 1})
	if err != nil {
		fmt.Println(err)
		return
	}
	frame := make([]byte, 640*480*3/2) // I420, caps colorimetry=pen.Colorimetry
	for range 15 {
		if err := scene.RenderI420(frame); err != nil {
			fmt.Println(err)
			return
		}
		// push frame into appsrc here
		scene.Step()
	}
	truth := scene.Truth()
	fmt.Printf("frame %d: %d pigs, %.0f px/m\n", truth.Frame, len(truth.Pigs), scene.PixelsPerMetre())
	// Output: frame 15: 6 pigs, 96 px/m
}

func ExampleNew_invalid() {
	_, err := pen.New(pen.Config{Width: 641, Height: 480, Pigs: 20, FPS: 15})
	fmt.Println(err)
	// Output: invalid pen config: width 641 is odd (I420 needs even sizes); pigs 20 outside 4..12
}
