// Package closing closes settlement windows on a schedule: every so many
// minutes, or at set times of day in a time zone, the open window of each
// currency that has taken payments is closed and the next one opens.
//
// A close is one ledger command, a constant amount of work however many
// payments the window holds, so a scheduled close never stalls payments.
// Each close names the window it means to close, so a close made by hand at
// the same moment makes one of the two fail cleanly (the window is already
// closed) rather than close two windows.
package closing

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/hutong/hutong/clock"
	"github.com/hutong/hutong/ledger"
)

// Schedule says when windows close. Exactly one of Every and At is set.
type Schedule struct {
	// Every closes windows at every multiple of Every since midnight in
	// Location: with 15m, at :00, :15, :30 and :45. It must divide a day
	// and be at least a minute.
	Every time.Duration
	// At closes windows at these times of day in Location, as offsets
	// from midnight, ascending.
	At []time.Duration
	// Location is the time zone of Every's midnight and of At. Default
	// UTC.
	Location *time.Location
}

// ParseSchedule reads a schedule: "every 15m" or "at 00:00,12:30". loc is
// its time zone (nil for UTC).
func ParseSchedule(spec string, loc *time.Location) (Schedule, error) {
	s := Schedule{Location: loc}
	verb, rest, _ := strings.Cut(strings.TrimSpace(spec), " ")
	rest = strings.TrimSpace(rest)
	switch verb {
	case "every":
		d, err := time.ParseDuration(rest)
		if err != nil {
			return Schedule{}, fmt.Errorf("closing: schedule %q: %q is not a duration such as 15m or 1h", spec, rest)
		}
		s.Every = d
	case "at":
		for _, part := range strings.Split(rest, ",") {
			d, err := parseTimeOfDay(strings.TrimSpace(part))
			if err != nil {
				return Schedule{}, fmt.Errorf("closing: schedule %q: %w", spec, err)
			}
			s.At = append(s.At, d)
		}
		slices.Sort(s.At)
	default:
		return Schedule{}, fmt.Errorf("closing: schedule %q must be \"every <duration>\" or \"at HH:MM[,HH:MM...]\"", spec)
	}
	if err := s.Validate(); err != nil {
		return Schedule{}, err
	}
	return s, nil
}

func parseTimeOfDay(s string) (time.Duration, error) {
	hh, mm, ok := strings.Cut(s, ":")
	h, err1 := strconv.Atoi(hh)
	m, err2 := strconv.Atoi(mm)
	if !ok || len(hh) != 2 || len(mm) != 2 || err1 != nil || err2 != nil || h < 0 || h > 23 || m < 0 || m > 59 {
		return 0, fmt.Errorf("%q is not a time of day as HH:MM, 00:00 to 23:59", s)
	}
	return time.Duration(h)*time.Hour + time.Duration(m)*time.Minute, nil
}

// Validate reports whether s is usable.
func (s Schedule) Validate() error {
	switch {
	case s.Every != 0 && len(s.At) != 0:
		return errors.New("closing: a schedule closes either every so often or at set times, not both")
	case s.Every == 0 && len(s.At) == 0:
		return errors.New("closing: a schedule needs an interval or times of day")
	case s.Every != 0 && (s.Every < time.Minute || (24*time.Hour)%s.Every != 0):
		return fmt.Errorf("closing: interval %s must be at least a minute and divide a day", s.Every)
	}
	for i, d := range s.At {
		if d < 0 || d >= 24*time.Hour || (i > 0 && d <= s.At[i-1]) {
			return errors.New("closing: times of day must be ascending, distinct and within a day")
		}
	}
	return nil
}

// String writes s as ParseSchedule reads it.
func (s Schedule) String() string {
	if s.Every != 0 {
		return "every " + s.Every.String()
	}
	parts := make([]string, len(s.At))
	for i, d := range s.At {
		parts[i] = fmt.Sprintf("%02d:%02d", int(d.Hours()), int(d.Minutes())%60)
	}
	return "at " + strings.Join(parts, ",")
}

// Next returns the first closing time strictly after t. Times of day are
// wall-clock times in Location: on a day a clock change skips one, the
// close happens at the same instant after the change.
func (s Schedule) Next(t time.Time) time.Time {
	loc := s.Location
	if loc == nil {
		loc = time.UTC
	}
	lt := t.In(loc)
	for day := 0; day < 3; day++ {
		y, m, d := lt.Date()
		var offsets []time.Duration
		if s.Every != 0 {
			for o := time.Duration(0); o < 24*time.Hour; o += s.Every {
				offsets = append(offsets, o)
			}
		} else {
			offsets = s.At
		}
		for _, o := range offsets {
			h, mi := int(o/time.Hour), int(o%time.Hour/time.Minute)
			at := time.Date(y, m, d+day, h, mi, 0, 0, loc)
			if at.After(t) {
				return at
			}
		}
	}
	panic("closing: no closing time within three days") // Validate rules this out
}

// Ledger is what the closer needs of the ledger writer; *writer.Writer has
// it.
type Ledger interface {
	Submit(ctx context.Context, c ledger.Command) (ledger.Result, error)
	Query(ctx context.Context, fn func(*ledger.Ledger)) error
}

// Config configures a Closer.
type Config struct {
	Schedule Schedule
	// Currencies limits closing to these currencies; empty means all.
	Currencies []string
	// Clock tells the time. Default clock.Real{}.
	Clock clock.Clock
	// Tick is how often the closer looks at the clock. Default 1s.
	Tick time.Duration
	// Logger receives a line per close. Default slog.Default().
	Logger *slog.Logger
	// OnClose, if set, is called with each window closed.
	OnClose func(ledger.Window)
}

// Closer closes windows on a schedule until Close.
type Closer struct {
	cfg  Config
	led  Ledger
	stop chan struct{}
	done chan struct{}
	once sync.Once
}

// Start validates cfg and starts closing windows.
func Start(led Ledger, cfg Config) (*Closer, error) {
	if err := cfg.Schedule.Validate(); err != nil {
		return nil, err
	}
	if cfg.Clock == nil {
		cfg.Clock = clock.Real{}
	}
	if cfg.Tick <= 0 {
		cfg.Tick = time.Second
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	c := &Closer{cfg: cfg, led: led, stop: make(chan struct{}), done: make(chan struct{})}
	go c.run()
	return c, nil
}

// Close stops the closer and waits for it.
func (c *Closer) Close() {
	c.once.Do(func() { close(c.stop) })
	<-c.done
}

func (c *Closer) run() {
	defer close(c.done)
	next := c.cfg.Schedule.Next(c.cfg.Clock.Now())
	t := time.NewTicker(c.cfg.Tick)
	defer t.Stop()
	for {
		select {
		case <-c.stop:
			return
		case <-t.C:
		}
		now := c.cfg.Clock.Now()
		if now.Before(next) {
			continue
		}
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		n, err := CloseAll(ctx, c.led, c.cfg.Currencies, c.cfg.OnClose)
		cancel()
		if err != nil {
			c.cfg.Logger.Error("scheduled window close", "err", err, "closed", n)
		} else {
			c.cfg.Logger.Info("settlement windows closed on schedule", "closed", n, "at", next)
		}
		next = c.cfg.Schedule.Next(now)
	}
}

// CloseAll closes the open window of each currency (of those given, or of
// all when none are) that has taken at least one payment, and returns how
// many it closed. A window closed by someone else meanwhile is skipped.
func CloseAll(ctx context.Context, led Ledger, currencies []string, onClose func(ledger.Window)) (int, error) {
	var open []ledger.Window
	err := led.Query(ctx, func(l *ledger.Ledger) {
		for _, w := range l.Windows("", false) {
			if w.State == ledger.WindowOpen && w.Count > 0 && (len(currencies) == 0 || slices.Contains(currencies, w.Currency)) {
				open = append(open, w)
			}
		}
	})
	if err != nil {
		return 0, err
	}
	n := 0
	var errs []error
	for _, w := range open {
		r, err := led.Submit(ctx, ledger.Command{Op: ledger.OpCloseWindow, Currency: w.Currency, Window: w.ID})
		switch {
		case errors.Is(err, ledger.ErrWindowNotOpen):
			continue
		case err != nil:
			errs = append(errs, fmt.Errorf("close window %d (%s): %w", w.ID, w.Currency, err))
			continue
		}
		n++
		if onClose != nil && r.Window != nil {
			onClose(*r.Window)
		}
	}
	return n, errors.Join(errs...)
}
