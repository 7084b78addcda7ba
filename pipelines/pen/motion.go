package pen

import (
	"image"
	"math"
)

// mode is what a pig is doing.
type mode uint8

const (
	modeWalk  mode = iota // walking at its cruise speed, drifting left and right
	modePause             // standing still
	modeTurn              // turning on the spot, creeping forward
	modeLie               // lying still for a long while
)

// Motion limits, per second. Pigs walk at 0.15 to 0.3 body lengths per second (their
// cruise speed); they turn at up to 70°/s and change their turn rate smoothly.
const (
	maxWander    = 25 * math.Pi / 180  // rad/s of drift while walking
	avoidTurn    = 60 * math.Pi / 180  // rad/s when steering away from a wall or a pig
	maxTurn      = 70 * math.Pi / 180  // rad/s, never exceeded
	angularAccel = 150 * math.Pi / 180 // rad/s²
	// stuckAfter is how long a pig stays blocked before it backs up.
	stuckAfter = 1.5
)

// Personal space: pigs whose pushiness is at most pushyAbove keep personalSpace body lengths
// clear of the others. Real pen mates often lie in contact; the demo keeps contact occasional
// so that telling touching pigs apart (a harder problem than finding them) stays the
// exception its detector is judged with.
const (
	pushyAbove    = 0.85
	personalSpace = 0.05
)

// motionState is where a pig is and what it is doing.
type motionState struct {
	x, y     float64 // centre, px
	heading  float64 // rad, 0 = facing +x, growing clockwise on screen (y points down)
	cos, sin float64 // of heading
	speed    float64 // px/s along the heading; negative when backing up
	omega    float64 // rad/s
	mode     mode
	left     float64 // seconds left in mode
	wander   float64 // target drift while walking, rad/s
	turnRate float64 // target rate while turning, rad/s
	stuck    float64 // seconds spent blocked
}

func (m *motionState) setHeading(h float64) {
	h = math.Mod(h, 2*math.Pi)
	if h < 0 {
		h += 2 * math.Pi
	}
	m.heading = h
	m.sin, m.cos = math.Sincos(h)
}

// approach moves x towards target by at most step.
func approach(x, target, step float64) float64 {
	switch {
	case x < target-step:
		return x + step
	case x > target+step:
		return x - step
	}
	return target
}

// stepPig advances one pig by dt seconds. Pigs are stepped in ID order and each sees the
// others where they are now, so the result depends only on the seed.
func (s *Scene) stepPig(p *pig, dt float64) {
	m := &p.motion
	m.left -= dt
	if m.left <= 0 {
		s.nextMode(p)
	}
	var wantSpeed, wantOmega float64
	switch m.mode {
	case modeWalk:
		if s.rng.Float64() < dt/1.5 {
			m.wander = (2*s.rng.Float64() - 1) * maxWander
		}
		wantSpeed, wantOmega = p.cruise, m.wander
		if turn, slow, ok := s.steer(p); ok {
			wantSpeed, wantOmega = p.cruise*slow, turn
		}
	case modeTurn:
		wantSpeed, wantOmega = 0.15*p.cruise, m.turnRate
	}
	// A pig reaches its cruise speed in half a second.
	m.speed = approach(m.speed, wantSpeed, 2*p.cruise*dt)
	m.omega = approach(m.omega, wantOmega, angularAccel*dt)
	m.omega = max(-maxTurn, min(maxTurn, m.omega))
	if m.speed == 0 && m.omega == 0 {
		return
	}

	cur := s.crowding(p, m.x, m.y, m.heading, p.space)
	nh := m.heading + m.omega*dt
	ns, nc := math.Sincos(nh)
	nx, ny := m.x+m.speed*dt*nc, m.y+m.speed*dt*ns
	switch {
	case s.allowed(p, nx, ny, nh, cur):
		m.x, m.y = nx, ny
		m.setHeading(nh)
		m.stuck = 0
		return
	case s.allowed(p, m.x, m.y, nh, cur):
		// Blocked ahead: stop and turn away instead.
		m.setHeading(nh)
		m.speed = 0
		if m.mode == modeWalk {
			s.enter(p, modeTurn)
		}
	case s.allowed(p, nx, ny, m.heading, cur):
		m.x, m.y = nx, ny
		m.omega = 0
	default:
		m.speed = 0
		m.omega = -m.omega
		if m.stuck >= stuckAfter {
			// Wedged for a while (in a corner, or nose to nose): back up slowly.
			bx, by := m.x-0.3*p.cruise*dt*m.cos, m.y-0.3*p.cruise*dt*m.sin
			if s.allowed(p, bx, by, m.heading, cur) {
				m.x, m.y = bx, by
			}
		}
	}
	m.stuck += dt
	if m.stuck > 3*stuckAfter {
		m.stuck = 0
		s.enter(p, modeTurn)
	}
}

// nextMode picks what a pig does next, with odds that depend on what it was doing.
func (s *Scene) nextMode(p *pig) {
	x := s.rng.Float64()
	next := modeWalk
	switch p.motion.mode {
	case modeWalk:
		switch {
		case x < 0.45:
			next = modePause
		case x < 0.80:
			next = modeTurn
		case x < 0.92:
			next = modeWalk
		default:
			next = modeLie
		}
	case modePause:
		switch {
		case x < 0.55:
			next = modeWalk
		case x < 0.85:
			next = modeTurn
		case x < 0.95:
			next = modeLie
		default:
			next = modePause
		}
	case modeTurn:
		if x >= 0.75 {
			next = modePause
		}
	case modeLie:
		if x < 0.6 {
			next = modePause
		}
	}
	s.enter(p, next)
}

// enter starts mode md with a random duration.
func (s *Scene) enter(p *pig, md mode) {
	m := &p.motion
	m.mode = md
	r := s.rng.Float64()
	switch md {
	case modeWalk:
		m.left = 2 + 6*r
		m.wander = (2*s.rng.Float64() - 1) * maxWander
	case modePause:
		m.left = 1 + 3*r
	case modeTurn:
		m.left = 1 + 2*r
		rate := (25 + 35*s.rng.Float64()) * math.Pi / 180
		// Turn the way that faces the pen's middle more, so pigs turn away from walls.
		cx, cy := s.interiorF.centre()
		if m.cos*(cy-m.y)-m.sin*(cx-m.x) < 0 {
			rate = -rate
		}
		// Now and then a pig turns the long way round anyway.
		if s.rng.Float64() < 0.25 {
			rate = -rate
		}
		m.turnRate = rate
	case modeLie:
		m.left = 15 + 45*r
	}
}

// steer returns a turn rate and a speed factor when a wall, the feeder or another pig is
// in the way ahead.
func (s *Scene) steer(p *pig) (omega, slow float64, ok bool) {
	m := &p.motion
	L := p.length
	ahead := 1.1 * L // from the centre: half a body to the snout, then a little more
	ax, ay := m.x+ahead*m.cos, m.y+ahead*m.sin
	margin := 0.15 * L
	in := s.interiorF
	if ax < in.x0+margin || ax > in.x1-margin || ay < in.y0+margin || ay > in.y1-margin ||
		s.feederF.dist(ax, ay) < margin {
		cx, cy := in.centre()
		if m.cos*(cy-m.y)-m.sin*(cx-m.x) >= 0 {
			return avoidTurn, 0.5, true
		}
		return -avoidTurn, 0.5, true
	}
	// The nearest pig part ahead of the snout within reach makes this pig veer away;
	// pushy pigs let others come closer, which is how pigs end up touching.
	nx, ny := m.x+0.35*L*m.cos, m.y+0.35*L*m.sin
	reach := L * (0.55 - 0.3*p.pushy)
	best := math.Inf(1)
	var side float64
	for j := range s.pigs {
		q := &s.pigs[j]
		if q == p {
			continue
		}
		for _, c := range q.circles {
			cx, cy := q.motion.x+c.u*q.motion.cos, q.motion.y+c.u*q.motion.sin
			dx, dy := cx-nx, cy-ny
			d := math.Hypot(dx, dy) - c.r
			if d < reach && d < best && dx*m.cos+dy*m.sin > 0 {
				best = d
				side = m.cos*dy - m.sin*dx // > 0: the obstacle is on the right
			}
		}
	}
	if math.IsInf(best, 1) {
		return 0, 1, false
	}
	if side > 0 {
		return -avoidTurn, 0.35, true
	}
	return avoidTurn, 0.35, true
}

// allowed reports whether a pig may take the pose (x, y, h): wholly inside the pen, clear
// of the feeder, and not more entangled with the others (personal space included) than it
// is now (cur).
func (s *Scene) allowed(p *pig, x, y, h, cur float64) bool {
	return s.fits(p, x, y, h) && s.crowding(p, x, y, h, p.space) <= cur
}

// fits reports whether the pig at pose (x, y, h) lies inside the pen walls (every pixel
// it could cover) and off the feeder.
func (s *Scene) fits(p *pig, x, y, h float64) bool {
	sin, cos := math.Sincos(h)
	if !p.boxAt(x, y, cos, sin).In(s.interior) {
		return false
	}
	for _, c := range p.circles {
		if s.feederF.dist(x+c.u*cos, y+c.u*sin) < c.r {
			return false
		}
	}
	return true
}

// crowding is how deeply the pig at pose (x, y, h) overlaps the others: the summed
// overlap of their collision discs, each disc grown by gap.
func (s *Scene) crowding(p *pig, x, y, h, gap float64) float64 {
	sin, cos := math.Sincos(h)
	var total float64
	for j := range s.pigs {
		q := &s.pigs[j]
		if q == p {
			continue
		}
		qm := &q.motion
		reach := (p.length+q.length)/2 + 2*gap
		if dx, dy := qm.x-x, qm.y-y; dx*dx+dy*dy > reach*reach {
			continue
		}
		for _, a := range p.circles {
			ax, ay := x+a.u*cos, y+a.u*sin
			for _, b := range q.circles {
				bx, by := qm.x+b.u*qm.cos, qm.y+b.u*qm.sin
				if o := a.r + b.r + 2*gap - math.Hypot(ax-bx, ay-by); o > 0 {
					total += o
				}
			}
		}
	}
	return total
}

// rectF is an axis-aligned rectangle in continuous pixel coordinates.
type rectF struct{ x0, y0, x1, y1 float64 }

func toRectF(r image.Rectangle) rectF {
	return rectF{float64(r.Min.X), float64(r.Min.Y), float64(r.Max.X), float64(r.Max.Y)}
}

func (r rectF) centre() (float64, float64) { return (r.x0 + r.x1) / 2, (r.y0 + r.y1) / 2 }

// dist is the distance from (x, y) to the rectangle; 0 inside it.
func (r rectF) dist(x, y float64) float64 {
	dx := max(r.x0-x, 0, x-r.x1)
	dy := max(r.y0-y, 0, y-r.y1)
	return math.Hypot(dx, dy)
}
