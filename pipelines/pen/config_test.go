package pen_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/pigweight/pigweight/pipelines/pen"
)

func TestNewRejectsInvalidConfig(t *testing.T) {
	valid := pen.Config{Width: 640, Height: 480, Pigs: 8, FPS: 15, Seed: 1}
	tests := []struct {
		name   string
		mutate func(*pen.Config)
		want   string // part of the error message that says what is wrong
	}{
		{"odd width", func(c *pen.Config) { c.Width = 641 }, "width 641 is odd"},
		{"odd height", func(c *pen.Config) { c.Height = 479 }, "height 479 is odd"},
		{"zero size", func(c *pen.Config) { c.Width, c.Height = 0, 0 }, "width 0 outside"},
		{"too small", func(c *pen.Config) { c.Height = 100 }, "height 100 outside"},
		{"too large", func(c *pen.Config) { c.Width = 4000 }, "width 4000 outside"},
		{"too elongated", func(c *pen.Config) { c.Width, c.Height = 1280, 240 }, "aspect 1280x240"},
		{"too few pigs", func(c *pen.Config) { c.Pigs = 3 }, "pigs 3 outside 4..12"},
		{"too many pigs", func(c *pen.Config) { c.Pigs = 13 }, "pigs 13 outside 4..12"},
		{"zero fps", func(c *pen.Config) { c.FPS = 0 }, "fps 0 outside"},
		{"negative fps", func(c *pen.Config) { c.FPS = -15 }, "fps -15 outside"},
		{"fps too high", func(c *pen.Config) { c.FPS = 121 }, "fps 121 outside"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := valid
			tt.mutate(&cfg)
			s, err := pen.New(cfg)
			if err == nil {
				t.Fatalf("New(%+v) = nil error, want one", cfg)
			}
			if s != nil {
				t.Errorf("New returned a scene with its error")
			}
			if !errors.Is(err, pen.ErrInvalidConfig) {
				t.Errorf("error %v does not wrap ErrInvalidConfig", err)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %q does not say %q", err, tt.want)
			}
		})
	}
}

func TestValidateReportsEveryProblem(t *testing.T) {
	err := pen.Config{Width: 641, Height: 479, Pigs: 20, FPS: 0}.Validate()
	if err == nil {
		t.Fatal("Validate() = nil, want an error")
	}
	for _, want := range []string{"width 641", "height 479", "pigs 20", "fps 0"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not mention %q", err, want)
		}
	}
}

func TestNewAcceptsValidConfigs(t *testing.T) {
	tests := []pen.Config{
		{Width: pen.MinWidth, Height: pen.MinHeight, Pigs: pen.MaxPigs, FPS: 1},
		{Width: 640, Height: 480, Pigs: pen.MinPigs, FPS: 15, Seed: -7},
		{Width: 480, Height: 480, Pigs: pen.MaxPigs, FPS: 25, Seed: 3},
		{Width: 1280, Height: 720, Pigs: 10, FPS: 30, Seed: 42},
		{Width: 360, Height: 1080, Pigs: pen.MaxPigs, FPS: pen.MaxFPS, Seed: 5},
	}
	for _, cfg := range tests {
		t.Run("", func(t *testing.T) {
			s, err := pen.New(cfg)
			if err != nil {
				t.Fatalf("New(%+v): %v", cfg, err)
			}
			if got := s.Config(); got != cfg {
				t.Errorf("Config() = %+v, want %+v", got, cfg)
			}
			if s.Frame() != 0 {
				t.Errorf("Frame() = %d at start, want 0", s.Frame())
			}
		})
	}
}
