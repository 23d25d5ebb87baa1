// Package liquidity warns participants, and the hub operator, when a
// participant is using up its net debit cap. It only warns: the caps,
// collateral, funds in and out and the refusal of a payment beyond the cap
// are the ledger's (package ledger), and the operator sets them through
// package operate.
//
// A participant's use of its cap in a currency is its position plus what it
// has reserved for payments not yet finished (ledger.Position.Balance +
// Reserved). Its level is the highest configured threshold (a percentage of
// the cap; 80 and 95 by default) that use reaches:
//
//	used*100 >= threshold*NDC
//
// in integers, with no overflow. Nothing used (used <= 0) is level 0;
// anything used against a cap of 0 reaches every threshold. The ledger
// itself refuses a payment that would take a participant past its cap; the
// alerts are the warning before that.
//
// The writer hands the Monitor every position changed by each durable batch
// (Observe). The Monitor examines them on a goroutine of its own, strictly
// in the order observed, keeps each account's level, and when a level
// changes it records an alert and tells the participant:
//
//	level rises    RAISED   Threshold = the new level
//	level falls    CLEARED  Threshold = the old level, Level = the new one
//
// A level that jumps several thresholds at once gives one alert.
//
// # Webhook
//
// Each alert is POSTed to the participant's
// HUTONG_CALLBACK_URL_LIQUIDITY_ALERT endpoint (by default
// <base>/liquidityAlerts) through the callback Sender, with headers
// Content-Type: application/json, Date, FSPIOP-Source: hub (Config.Hub) and
// FSPIOP-Destination: the participant, and a body like
//
//	{"id":17,"kind":"RAISED","participant":"dfsp1","currency":"USD",
//	 "threshold":80,"level":80,"utilisation":85,"used":"850",
//	 "position":"800","reserved":"50","ndc":"1000",
//	 "time":"2025-03-01T12:00:00Z"}
//
// Amounts are FSPIOP amount strings in the currency's major unit, with a
// leading "-" when negative; utilisation is used*100/ndc rounded down, and
// is left out when the cap is 0. A participant without the endpoint gets no
// webhook; the Sender records the call as failed, and the alert is recorded
// here all the same.
//
// # Storage
//
// Alerts and levels are kept in the store's KV, with durable writes, under
//
//	alert/all/<id>                        alert (JSON)
//	alert/p/<participant>/<id>            the same alert
//	alert/level/<participant>/<currency>  level (JSON), for levels above 0
//
// where <id> is 16 hex digits of the bitwise complement of the alert's
// number, so that keys sort newest first. Open reads the levels back, so
// that a restart neither alerts again nor misses a clear; observing the
// ledger's Positions once after Open catches up with what changed while no
// Monitor was watching.
package liquidity

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"net/http"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hutong/hutong/callback"
	"github.com/hutong/hutong/clock"
	"github.com/hutong/hutong/ledger"
	"github.com/hutong/hutong/money"
	"github.com/hutong/hutong/store"
	"github.com/hutong/hutong/store/kv"
)

// ErrClosed is returned by Close when called again, and by Flush when the
// Monitor closed before examining what it waited for.
var ErrClosed = errors.New("liquidity: monitor closed")

// ErrInvalidParticipant is returned by List for a participant id that
// ledger.ValidParticipantID refuses.
var ErrInvalidParticipant = errors.New("liquidity: invalid participant id")

// Config configures a Monitor. A zero field takes its default.
type Config struct {
	// Thresholds are the percentages of the net debit cap at which a
	// participant is alerted: ascending, each from 1 to 100. Default 80
	// and 95.
	Thresholds []int
	// QueueSize is how many batches of positions may wait to be
	// examined, in the order observed. An Observe that finds QueueSize
	// batches waiting merges its positions into the newest of them, each
	// replacing the position of its account there: a crossing that lasts
	// is still seen, one undone meanwhile may not be. Default 1024.
	QueueSize int
	// Hub is the webhooks' FSPIOP-Source; give the same as the FSPIOP
	// server's. Default "hub".
	Hub string
	// Clock stamps alerts and the webhooks' Date. Default clock.Real{}.
	Clock clock.Clock
	// Logger receives every alert (info) and every alert that could not be
	// stored (error). Default slog.Default().
	Logger *slog.Logger
}

// DefaultConfig returns the default configuration.
func DefaultConfig() Config {
	return Config{
		Thresholds: []int{80, 95},
		QueueSize:  1024,
		Hub:        ledger.HubID,
		Clock:      clock.Real{},
		Logger:     slog.Default(),
	}
}

// Validate reports a threshold outside 1..100 or out of ascending order (a
// repeated one included), or a negative QueueSize.
func (c Config) Validate() error {
	for i, t := range c.Thresholds {
		if t < 1 || t > 100 {
			return fmt.Errorf("liquidity: threshold %d%% is not from 1 to 100", t)
		}
		if i > 0 && t <= c.Thresholds[i-1] {
			return fmt.Errorf("liquidity: thresholds %v are not strictly ascending", c.Thresholds)
		}
	}
	if c.QueueSize < 0 {
		return fmt.Errorf("liquidity: QueueSize %d is negative", c.QueueSize)
	}
	return nil
}

func (c *Config) fill() {
	d := DefaultConfig()
	if len(c.Thresholds) == 0 {
		c.Thresholds = d.Thresholds
	} else {
		c.Thresholds = slices.Clone(c.Thresholds)
	}
	if c.QueueSize == 0 {
		c.QueueSize = d.QueueSize
	}
	if c.Hub == "" {
		c.Hub = d.Hub
	}
	if c.Clock == nil {
		c.Clock = d.Clock
	}
	if c.Logger == nil {
		c.Logger = d.Logger
	}
}

// Sender delivers webhooks; *outbox.Outbox, which stores each before it is
// delivered, and *callback.Sender are. Send is called from the Monitor's
// own goroutine: it may wait for a store, never for a delivery.
type Sender interface {
	Send(*callback.Request)
}

// Kind says which way an alert's level moved.
type Kind string

// The kinds of alert.
const (
	// Raised: the participant reached a higher threshold.
	Raised Kind = "RAISED"
	// Cleared: the participant fell below the threshold it had reached.
	Cleared Kind = "CLEARED"
)

// Alert is a change of a participant's level in one currency.
type Alert struct {
	// ID numbers alerts from 1 in the order they were made: a larger ID is
	// newer.
	ID          uint64
	Kind        Kind
	Participant string
	Currency    string
	// Threshold is the percentage crossed: for RAISED the highest now
	// reached, for CLEARED the highest no longer reached.
	Threshold int
	// Level is the highest threshold reached after the alert, 0 for none:
	// Threshold for RAISED, less than it for CLEARED.
	Level int
	// Used is Position + Reserved, held at the int64 limits.
	Used int64
	// Position is the POSITION balance, positive when the participant owes.
	Position int64
	// Reserved is held by payments the participant sent and that are not
	// finished.
	Reserved int64
	// NDC is the net debit cap.
	NDC  int64
	Time time.Time
}

// Utilisation returns Used*100/NDC rounded down (0 when nothing is used),
// and false when NDC is 0, which no percentage describes.
func (a *Alert) Utilisation() (percent int64, ok bool) {
	return utilisation(a.Used, a.NDC)
}

// Level is the highest threshold a participant's use of its cap in a
// currency has reached.
type Level struct {
	Participant string
	Currency    string
	// Threshold is the percentage reached; always above 0.
	Threshold int
	// Alert is the ID of the alert that set the level, Since its time.
	Alert uint64
	Since time.Time
}

// Stats counts a Monitor's work since Open.
type Stats struct {
	Observed   uint64 // positions handed to Observe while open
	Coalesced  uint64 // positions replaced, while waiting, by a later one of the same account
	Examined   uint64 // positions examined
	Raised     uint64 // RAISED alerts made
	Cleared    uint64 // CLEARED alerts made
	Unrecorded uint64 // alerts the KV refused (logged, still sent)
}

// account identifies a position.
type account struct {
	participant, currency string
}

// batch is positions to examine, with the number of the last Observe call
// they include.
type batch struct {
	ps  []ledger.Position
	seq uint64
	// index, when not nil, locates each account's position in ps: the
	// batch was merged, and holds only the latest position of each.
	index map[account]int
}

// merge adds ps to b, each replacing the position of its account that b
// holds, and returns how many it replaced.
func (b *batch) merge(ps []ledger.Position) (replaced int) {
	if b.index == nil {
		own := b.ps
		b.ps = make([]ledger.Position, 0, len(own)+len(ps))
		b.index = make(map[account]int, len(own)+len(ps))
		replaced = b.add(own)
	}
	return replaced + b.add(ps)
}

func (b *batch) add(ps []ledger.Position) (replaced int) {
	for _, p := range ps {
		k := account{p.Participant, p.Currency}
		if i, ok := b.index[k]; ok {
			b.ps[i] = p
			replaced++
			continue
		}
		b.index[k] = len(b.ps)
		b.ps = append(b.ps, p)
	}
	return replaced
}

// fifo holds the batches waiting to be examined, oldest first, in a ring
// of fixed size.
type fifo struct {
	ring    []batch
	head, n int
}

func (q *fifo) full() bool { return q.n == len(q.ring) }

func (q *fifo) push(b batch) {
	q.ring[(q.head+q.n)%len(q.ring)] = b
	q.n++
}

// newest returns the batch pushed last; the fifo must not be empty.
func (q *fifo) newest() *batch {
	return &q.ring[(q.head+q.n-1)%len(q.ring)]
}

func (q *fifo) pop() (batch, bool) {
	if q.n == 0 {
		return batch{}, false
	}
	b := q.ring[q.head]
	q.ring[q.head] = batch{}
	q.head = (q.head + 1) % len(q.ring)
	q.n--
	return b, true
}

// Monitor watches positions and alerts on threshold crossings. It is safe
// for concurrent use.
type Monitor struct {
	cfg   Config
	kv    kv.Space
	send  Sender
	log   *slog.Logger
	stats struct {
		observed, coalesced, examined, raised, cleared, unrecorded atomic.Uint64
	}

	wake    chan struct{} // a batch was queued since the goroutine last looked
	stop    chan struct{} // closed by Close: examine what is queued, then return
	abandon chan struct{} // closed when Close gives up waiting: return now
	done    chan struct{} // closed when the goroutine has returned

	// Owned by the goroutine.
	nextID uint64
	// idle, when not nil, is called each time the goroutine has found
	// nothing queued, before it waits; tests set it to stop the goroutine
	// there.
	idle func()

	qmu sync.Mutex // guards the fields below
	// closed is set by Close; Observe ignores positions from then on.
	closed bool
	// seq numbers the Observe calls.
	seq uint64
	// queue is the only way from Observe to the goroutine, so batches are
	// examined in the order observed.
	queue fifo

	pmu sync.Mutex // guards the fields below
	// examined is the seq of the last batch examined.
	examined uint64
	// progress, when not nil, is closed when examined next advances.
	progress chan struct{}

	lmu    sync.RWMutex // guards the field below; written only by the goroutine
	levels map[account]Level
}

// Open reads the levels stored in kv and starts the Monitor. Alerts go to
// send; with send nil they are only recorded. Close the Monitor before the
// Sender and before the store kv belongs to.
func Open(ctx context.Context, cfg Config, kv kv.Space, send Sender) (*Monitor, error) {
	m, err := load(ctx, cfg, kv, send)
	if err != nil {
		return nil, err
	}
	go m.run()
	return m, nil
}

// load returns a Monitor with the levels stored in kv, not yet started.
func load(ctx context.Context, cfg Config, kv kv.Space, send Sender) (*Monitor, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if kv == nil {
		return nil, errors.New("liquidity: Open needs a KV")
	}
	cfg.fill()
	m := &Monitor{cfg: cfg, kv: kv, send: send, log: cfg.Logger,
		queue: fifo{ring: make([]batch, cfg.QueueSize)}, wake: make(chan struct{}, 1),
		stop: make(chan struct{}), abandon: make(chan struct{}), done: make(chan struct{}),
		levels: make(map[account]Level)}
	err := kv.Scan(ctx, []byte(levelPrefix), 0, func(key, value []byte) error {
		l, err := decodeLevel(key, value)
		if err != nil {
			return err
		}
		m.levels[account{l.Participant, l.Currency}] = l
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("liquidity: load levels: %w", err)
	}
	err = kv.Scan(ctx, []byte(allPrefix), 1, func(key, _ []byte) error {
		id, ok := parseID(key[len(allPrefix):])
		if !ok {
			return fmt.Errorf("liquidity: alert key %q: %w", key, store.ErrCorrupt)
		}
		m.nextID = id
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("liquidity: load last alert: %w", err)
	}
	m.nextID++
	return m, nil
}

// Observe hands the Monitor positions to examine, in the order the ledger
// changed them, and returns at once: it never waits for the Monitor. The
// Monitor owns ps from then on. The writer calls it after each durable
// batch with every position the batch changed; called after Close, it does
// nothing.
func (m *Monitor) Observe(ps []ledger.Position) {
	if len(ps) == 0 {
		return
	}
	m.qmu.Lock()
	defer m.qmu.Unlock()
	if m.closed {
		return
	}
	m.stats.observed.Add(uint64(len(ps)))
	m.seq++
	if m.queue.full() {
		b := m.queue.newest()
		m.stats.coalesced.Add(uint64(b.merge(ps)))
		b.seq = m.seq
	} else {
		m.queue.push(batch{ps: ps, seq: m.seq})
	}
	select {
	case m.wake <- struct{}{}:
	default:
	}
}

// run examines batches until Close.
func (m *Monitor) run() {
	defer close(m.done)
	var last uint64 // seq of the batch examined last
	for {
		b, ok := m.next()
		if !ok {
			return
		}
		if b.seq <= last {
			// The queue hands batches out in order; examining an older
			// one after a newer would set levels from stale positions.
			m.log.Error("liquidity: batch out of order skipped", "seq", b.seq, "after", last)
			continue
		}
		last = b.seq
		m.examine(b.ps)
		m.pmu.Lock()
		m.examined = b.seq
		if m.progress != nil {
			close(m.progress)
			m.progress = nil
		}
		m.pmu.Unlock()
	}
}

// next returns the oldest batch waiting. It returns false when the Monitor
// is to stop: at once when Close gives up, otherwise when Close has been
// called and nothing is left.
func (m *Monitor) next() (batch, bool) {
	for {
		// Apart, so that abandoning wins over a queue that is not empty.
		select {
		case <-m.abandon:
			return batch{}, false
		default:
		}
		m.qmu.Lock()
		b, ok := m.queue.pop()
		closed := m.closed
		m.qmu.Unlock()
		if ok {
			if b.index != nil {
				// One position per account: sorted, so that alerts come
				// in an order that does not depend on arrival.
				slices.SortFunc(b.ps, func(x, y ledger.Position) int {
					return cmp.Or(cmp.Compare(x.Participant, y.Participant), cmp.Compare(x.Currency, y.Currency))
				})
			}
			return b, true
		}
		if closed {
			return batch{}, false // Observe adds nothing once closed is set
		}
		if m.idle != nil {
			m.idle()
		}
		select {
		case <-m.wake:
		case <-m.stop:
		case <-m.abandon:
			return batch{}, false
		}
	}
}

// examine finds the level changes in ps, records them and sends them.
func (m *Monitor) examine(ps []ledger.Position) {
	m.stats.examined.Add(uint64(len(ps)))
	var alerts []Alert
	var changed map[account]Level // this batch's levels, 0 for none
	for i := range ps {
		p := &ps[i]
		k := account{p.Participant, p.Currency}
		old, seen := changed[k]
		if !seen {
			old = m.levels[k] // only this goroutine writes levels
		}
		u := used(p)
		lvl := levelOf(u, p.NDC, m.cfg.Thresholds)
		if lvl == old.Threshold {
			continue
		}
		a := Alert{ID: m.nextID, Participant: p.Participant, Currency: p.Currency, Level: lvl,
			Used: u, Position: p.Balance, Reserved: p.Reserved, NDC: p.NDC, Time: m.cfg.Clock.Now()}
		if lvl > old.Threshold {
			a.Kind, a.Threshold = Raised, lvl
		} else {
			a.Kind, a.Threshold = Cleared, old.Threshold
		}
		m.nextID++
		alerts = append(alerts, a)
		if changed == nil {
			changed = make(map[account]Level)
		}
		changed[k] = Level{Participant: a.Participant, Currency: a.Currency, Threshold: lvl, Alert: a.ID, Since: a.Time}
	}
	if len(alerts) == 0 {
		return
	}
	if err := m.record(alerts, changed); err != nil {
		// The participant is told all the same: a missing record costs
		// less than a participant left unwarned.
		m.stats.unrecorded.Add(uint64(len(alerts)))
		m.log.Error("liquidity: alerts not recorded", "alerts", len(alerts), "first", alerts[0].ID, "err", err)
	}
	m.lmu.Lock()
	for k, l := range changed {
		if l.Threshold == 0 {
			delete(m.levels, k)
		} else {
			m.levels[k] = l
		}
	}
	m.lmu.Unlock()
	for i := range alerts {
		a := &alerts[i]
		if a.Kind == Raised {
			m.stats.raised.Add(1)
		} else {
			m.stats.cleared.Add(1)
		}
		m.log.Info("liquidity: alert", "id", a.ID, "kind", a.Kind, "participant", a.Participant, "currency", a.Currency,
			"threshold", a.Threshold, "level", a.Level, "used", a.Used, "ndc", a.NDC)
		if m.send != nil {
			m.send.Send(webhook(a, m.cfg.Hub, m.cfg.Clock.Now()))
		}
	}
}

// record stores alerts and the levels they set with one durable write.
func (m *Monitor) record(alerts []Alert, levels map[account]Level) error {
	b := kv.Batch{Durable: true}
	for i := range alerts {
		a := &alerts[i]
		v, err := json.Marshal(toStored(a))
		if err != nil {
			return fmt.Errorf("encode alert %d: %w", a.ID, err)
		}
		b.Set(allKey(a.ID), v)
		b.Set(participantKey(a.Participant, a.ID), v)
	}
	for k, l := range levels {
		if l.Threshold == 0 {
			b.Delete(levelKey(k))
			continue
		}
		v, err := json.Marshal(storedLevel{Threshold: l.Threshold, Alert: l.Alert, Since: l.Since})
		if err != nil {
			return fmt.Errorf("encode level of %s %s: %w", k.participant, k.currency, err)
		}
		b.Set(levelKey(k), v)
	}
	// Never abandon a write half way for want of a context: Close waits
	// for this one to end.
	return m.kv.Apply(context.Background(), &b)
}

// Flush waits until the Monitor has examined every position observed
// before the call, and recorded and sent its alerts. It returns ctx's error
// if ctx ends first, and ErrClosed if the Monitor closed before that.
func (m *Monitor) Flush(ctx context.Context) error {
	m.qmu.Lock()
	target := m.seq
	m.qmu.Unlock()
	for {
		m.pmu.Lock()
		if m.examined >= target {
			m.pmu.Unlock()
			return nil
		}
		if m.progress == nil {
			m.progress = make(chan struct{})
		}
		ch := m.progress
		m.pmu.Unlock()
		select {
		case <-ch:
		case <-m.done:
			m.pmu.Lock()
			ok := m.examined >= target
			m.pmu.Unlock()
			if ok {
				return nil
			}
			return ErrClosed
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// Close stops taking positions (Observe ignores them from then on), waits
// until those already observed are examined, and stops the Monitor's
// goroutine. If ctx ends first, it stops after the batch in hand, leaving
// the rest unexamined, and returns an error wrapping ctx.Err(). Either way
// nothing is written to the KV after Close returns. It returns ErrClosed
// when called again.
func (m *Monitor) Close(ctx context.Context) error {
	m.qmu.Lock()
	if m.closed {
		m.qmu.Unlock()
		return ErrClosed
	}
	m.closed = true
	m.qmu.Unlock()
	close(m.stop)
	select {
	case <-m.done:
		return nil
	case <-ctx.Done():
		close(m.abandon)
		<-m.done
		m.qmu.Lock()
		left := m.seq
		m.qmu.Unlock()
		m.pmu.Lock()
		left -= m.examined
		m.pmu.Unlock()
		if left == 0 {
			return nil
		}
		return fmt.Errorf("liquidity: close: %d observed batches left unexamined: %w", left, ctx.Err())
	}
}

// Levels returns the accounts whose use has reached a threshold, sorted by
// participant and currency.
func (m *Monitor) Levels() []Level {
	m.lmu.RLock()
	out := slices.Collect(maps.Values(m.levels))
	m.lmu.RUnlock()
	slices.SortFunc(out, func(a, b Level) int {
		return cmp.Or(cmp.Compare(a.Participant, b.Participant), cmp.Compare(a.Currency, b.Currency))
	})
	return out
}

// List returns the recorded alerts, newest first, at most limit of them
// (all when limit <= 0): participant's, or everyone's when participant is
// "". It returns ErrInvalidParticipant for an id the ledger would refuse.
func (m *Monitor) List(ctx context.Context, participant string, limit int) ([]Alert, error) {
	prefix := []byte(allPrefix)
	if participant != "" {
		if !ledger.ValidParticipantID(participant) {
			return nil, fmt.Errorf("%w %q", ErrInvalidParticipant, truncate(participant, 64))
		}
		prefix = []byte(participantPrefix + participant + "/")
	}
	out := []Alert{}
	err := m.kv.Scan(ctx, prefix, max(limit, 0), func(key, value []byte) error {
		id, ok := parseID(key[len(prefix):])
		if !ok {
			return fmt.Errorf("liquidity: alert key %q: %w", key, store.ErrCorrupt)
		}
		var s storedAlert
		if err := json.Unmarshal(value, &s); err != nil {
			return fmt.Errorf("liquidity: alert %d: %w: %v", id, store.ErrCorrupt, err)
		}
		out = append(out, s.alert(id))
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// Stats returns the Monitor's counters.
func (m *Monitor) Stats() Stats {
	return Stats{
		Observed:   m.stats.observed.Load(),
		Coalesced:  m.stats.coalesced.Load(),
		Examined:   m.stats.examined.Load(),
		Raised:     m.stats.raised.Load(),
		Cleared:    m.stats.cleared.Load(),
		Unrecorded: m.stats.unrecorded.Load(),
	}
}

// The webhook.

// webhookPath is the webhook's path, recorded with a failed delivery. The
// endpoint is the whole URL the webhook goes to; callback.SetBase makes it
// <base>/liquidityAlerts.
const webhookPath = "/liquidityAlerts"

// webhookBody is the JSON POSTed to the participant.
type webhookBody struct {
	ID          uint64 `json:"id"`
	Kind        Kind   `json:"kind"`
	Participant string `json:"participant"`
	Currency    string `json:"currency"`
	Threshold   int    `json:"threshold"`
	Level       int    `json:"level"`
	Utilisation *int64 `json:"utilisation,omitempty"`
	Used        string `json:"used"`
	Position    string `json:"position"`
	Reserved    string `json:"reserved"`
	NDC         string `json:"ndc"`
	Time        string `json:"time"`
}

// webhook is the callback from hub telling a's participant of a, sent at
// now.
func webhook(a *Alert, hub string, now time.Time) *callback.Request {
	c, ok := money.Lookup(a.Currency)
	if !ok {
		c = money.Currency{Code: a.Currency} // minor units rather than no webhook
	}
	body := webhookBody{ID: a.ID, Kind: a.Kind, Participant: a.Participant, Currency: a.Currency,
		Threshold: a.Threshold, Level: a.Level,
		Used: money.FormatAmount(a.Used, c), Position: money.FormatAmount(a.Position, c),
		Reserved: money.FormatAmount(a.Reserved, c), NDC: money.FormatAmount(a.NDC, c),
		Time: a.Time.UTC().Format(time.RFC3339Nano)}
	if pct, ok := a.Utilisation(); ok {
		body.Utilisation = &pct
	}
	b, err := json.Marshal(body)
	if err != nil {
		panic("liquidity: marshal webhook: " + err.Error()) // strings and numbers always marshal
	}
	return &callback.Request{
		To:     a.Participant,
		Kind:   callback.LiquidityAlert,
		Method: http.MethodPost,
		Path:   webhookPath,
		Vars:   callback.Vars{ID: strconv.FormatUint(a.ID, 10)},
		Header: http.Header{
			"Content-Type":       {"application/json"},
			"Date":               {now.UTC().Format(http.TimeFormat)},
			"Fspiop-Source":      {hub},
			"Fspiop-Destination": {a.Participant},
		},
		Body: b,
	}
}

// Storage.

const (
	prefix            = "alert/"
	allPrefix         = prefix + "all/"
	participantPrefix = prefix + "p/"
	levelPrefix       = prefix + "level/"
	idLen             = 16
	hexDigits         = "0123456789abcdef"
)

// idKey is id's part of a key: ^id in 16 hex digits, so that newer sorts
// first.
func idKey(dst []byte, id uint64) []byte {
	v := ^id
	for i := idLen - 1; i >= 0; i-- {
		dst = append(dst, hexDigits[(v>>(4*uint(i)))&0xf])
	}
	return dst
}

func parseID(b []byte) (uint64, bool) {
	if len(b) != idLen {
		return 0, false
	}
	var v uint64
	for _, c := range b {
		d := bytes.IndexByte([]byte(hexDigits), c)
		if d < 0 {
			return 0, false
		}
		v = v<<4 | uint64(d)
	}
	return ^v, true
}

func allKey(id uint64) []byte {
	return idKey([]byte(allPrefix), id)
}

func participantKey(participant string, id uint64) []byte {
	return idKey([]byte(participantPrefix+participant+"/"), id)
}

func levelKey(k account) []byte {
	return []byte(levelPrefix + k.participant + "/" + k.currency)
}

// storedAlert is an Alert as the KV holds it; its id is in the key.
type storedAlert struct {
	Kind        Kind      `json:"kind"`
	Participant string    `json:"participant"`
	Currency    string    `json:"currency"`
	Threshold   int       `json:"threshold"`
	Level       int       `json:"level"`
	Used        int64     `json:"used"`
	Position    int64     `json:"position"`
	Reserved    int64     `json:"reserved"`
	NDC         int64     `json:"ndc"`
	Time        time.Time `json:"time"`
}

func toStored(a *Alert) storedAlert {
	return storedAlert{Kind: a.Kind, Participant: a.Participant, Currency: a.Currency, Threshold: a.Threshold,
		Level: a.Level, Used: a.Used, Position: a.Position, Reserved: a.Reserved, NDC: a.NDC, Time: a.Time}
}

func (s *storedAlert) alert(id uint64) Alert {
	return Alert{ID: id, Kind: s.Kind, Participant: s.Participant, Currency: s.Currency, Threshold: s.Threshold,
		Level: s.Level, Used: s.Used, Position: s.Position, Reserved: s.Reserved, NDC: s.NDC, Time: s.Time}
}

// storedLevel is a Level as the KV holds it; its account is in the key.
type storedLevel struct {
	Threshold int       `json:"threshold"`
	Alert     uint64    `json:"alert"`
	Since     time.Time `json:"since"`
}

func decodeLevel(key, value []byte) (Level, error) {
	rest := key[len(levelPrefix):]
	i := bytes.LastIndexByte(rest, '/')
	var s storedLevel
	if i <= 0 || i == len(rest)-1 {
		return Level{}, fmt.Errorf("liquidity: level key %q: %w", key, store.ErrCorrupt)
	}
	if err := json.Unmarshal(value, &s); err != nil || s.Threshold < 1 || s.Threshold > 100 {
		return Level{}, fmt.Errorf("liquidity: level %q: %w", key, store.ErrCorrupt)
	}
	return Level{Participant: string(rest[:i]), Currency: string(rest[i+1:]), Threshold: s.Threshold,
		Alert: s.Alert, Since: s.Since}, nil
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "..."
}
