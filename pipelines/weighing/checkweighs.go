package weighing

import (
	"context"
	"fmt"
	"time"

	"github.com/pigweight/pigweight/elements/weight"
	"github.com/pigweight/pigweight/pipelines/store"
)

// CheckWeighResult answers a check-weigh: the reading as stored and the pen's law after it.
type CheckWeighResult struct {
	CheckWeigh  store.StoredCheckWeigh `json:"checkweigh"`
	Calibration weight.Calibration     `json:"calibration"`
}

// AddCheckWeigh reads a scale reading of pen from a JSON body (weight.ParseCheckWeigh's
// form), matches it to the stored visits, stores it and refits the pen's law from all its
// readings; the pen's running estimators take the new law at once. Errors: ErrUnknownPen,
// weight.ErrInvalidCheckWeigh (a bad body), weight.ErrNoPigThere and weight.ErrNoVisits (a
// reading that matches nothing; nothing is stored).
//
// A pig is matched once its visit has ended and been stored: a reading of a pig still in
// view finds nothing, and is sent again once the pig has left.
func (s *Service) AddCheckWeigh(ctx context.Context, pen string, body []byte) (CheckWeighResult, error) {
	if err := s.checkKnown(ctx, pen); err != nil {
		return CheckWeighResult{}, err
	}
	cw, err := weight.ParseCheckWeigh(body, s.penNow(pen))
	if err != nil {
		return CheckWeighResult{}, err
	}
	s.refits.Lock()
	defer s.refits.Unlock()
	stored, err := s.candidates(ctx, pen, cw)
	if err != nil {
		return CheckWeighResult{}, err
	}
	visits := plainVisits(stored)
	var matched []int64
	if len(cw.WeightsKg) == 0 {
		i, err := weight.MatchVisit(cw, visits)
		if err != nil {
			return CheckWeighResult{}, err
		}
		matched = []int64{stored[i].ID}
	} else if _, err := weight.MatchCheckWeigh(cw, visits); err != nil {
		return CheckWeighResult{}, err
	}
	id, err := s.store.AddCheckWeigh(ctx, pen, cw, matched)
	if err != nil {
		return CheckWeighResult{}, err
	}
	cal, err := s.refit(ctx, pen)
	if err != nil {
		return CheckWeighResult{}, err
	}
	all, err := s.store.CheckWeighs(ctx, pen)
	if err != nil {
		return CheckWeighResult{}, err
	}
	res := CheckWeighResult{Calibration: cal}
	for _, c := range all {
		if c.ID == id {
			res.CheckWeigh = c
		}
	}
	return res, nil
}

// CheckWeighs lists pen's readings, oldest first.
func (s *Service) CheckWeighs(ctx context.Context, pen string) ([]store.StoredCheckWeigh, error) {
	if err := s.checkKnown(ctx, pen); err != nil {
		return nil, err
	}
	return s.store.CheckWeighs(ctx, pen)
}

// PenCalibration is a pen's law with when it was fitted (zero for the default) and every
// fit before it.
type PenCalibration struct {
	Pen         string                    `json:"pen"`
	Calibration weight.Calibration        `json:"calibration"`
	FittedAt    time.Time                 `json:"fitted_at,omitzero"`
	History     []store.FittedCalibration `json:"history"`
}

// PenCalibration returns pen's law and its history; ErrUnknownPen for a pen nobody weighs.
func (s *Service) PenCalibration(ctx context.Context, pen string) (PenCalibration, error) {
	if err := s.checkKnown(ctx, pen); err != nil {
		return PenCalibration{}, err
	}
	history, err := s.store.CalibrationHistory(ctx, pen)
	if err != nil {
		return PenCalibration{}, err
	}
	out := PenCalibration{Pen: pen, Calibration: s.Calibration(pen), History: history}
	if n := len(history); n > 0 {
		out.FittedAt = history[n-1].FittedAt
	}
	return out, nil
}

// candidates returns the stored visits a reading at cw.Time could be matched to.
func (s *Service) candidates(ctx context.Context, pen string, cw weight.CheckWeigh) ([]store.StoredVisit, error) {
	window := weight.MatchTolerance
	if len(cw.WeightsKg) > 0 {
		window = weight.GroupWindow
	}
	return s.store.Visits(ctx, pen, cw.Time.Add(-window), cw.Time.Add(window+time.Nanosecond), 0)
}

// refit fits pen's law to every reading it has, saves the fit and hands it to the pen's
// running estimators. s.refits is held.
func (s *Service) refit(ctx context.Context, pen string) (weight.Calibration, error) {
	readings, err := s.store.CheckWeighs(ctx, pen)
	if err != nil {
		return weight.Calibration{}, err
	}
	var pairs []weight.Pair
	for _, r := range readings {
		stored, err := s.candidates(ctx, pen, r.CheckWeigh)
		if err != nil {
			return weight.Calibration{}, err
		}
		p, err := weight.MatchCheckWeigh(r.CheckWeigh, plainVisits(stored))
		if err != nil {
			continue // matched when it came; its visits have since gone (deleted by hand)
		}
		pairs = append(pairs, p...)
	}
	cal := weight.Fit(pairs)
	if err := s.store.SaveCalibration(ctx, pen, cal); err != nil {
		return weight.Calibration{}, fmt.Errorf("save the calibration of pen %q: %w", pen, err)
	}
	s.mu.Lock()
	s.cals[pen] = cal
	for r := range s.runs {
		if r.pen == pen {
			r.est.SetCalibration(cal)
		}
	}
	s.mu.Unlock()
	s.log.Info("pen calibrated", "pen", pen, "a", cal.A, "b", cal.B, "readings", cal.Readings, "method", cal.Method)
	return cal, nil
}

func plainVisits(stored []store.StoredVisit) []weight.Visit {
	out := make([]weight.Visit, len(stored))
	for i, v := range stored {
		out[i] = v.Visit
	}
	return out
}
