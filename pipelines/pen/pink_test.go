package pen_test

import (
	"testing"

	"github.com/pigweight/pigweight/pipelines/pen"
)

func TestIsPigPink(t *testing.T) {
	tests := []struct {
		name    string
		r, g, b uint8
		want    bool
	}{
		{"pink", 236, 160, 156, true},
		{"pale flesh", 242, 196, 178, true},
		{"dark flank", 180, 140, 130, true},
		{"snout", 212, 102, 106, true},
		{"grey concrete", 124, 118, 108, false},
		{"brown stain", 100, 90, 78, false},
		{"feed pellets", 150, 135, 100, false},
		{"steel", 176, 180, 186, false},
		{"dark red, too dark", 90, 20, 20, false},
		{"orange, too little red over green", 240, 220, 100, false},
		{"magenta, too little red over blue", 240, 100, 230, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := pen.IsPigPink(tt.r, tt.g, tt.b); got != tt.want {
				t.Errorf("IsPigPink(%d, %d, %d) = %v, want %v", tt.r, tt.g, tt.b, got, tt.want)
			}
		})
	}
}
