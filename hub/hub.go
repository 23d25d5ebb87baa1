// Package hub wires the switch together: the store, the ledger writer, the
// directory, the outbox and callback delivery, the FSPIOP API and the admin
// API, each on its own listener. `hutong serve`, the end-to-end tests and
// the benchmark all start the switch through it.
//
// Start builds the parts in the order each needs the ones before it, and
// starts nothing that sends or takes requests until everything it reports
// to is there:
//
//	1 store            opened through Config.Open (Pebble by default)
//	2 endpoints        participants' callback URLs, from the store's KV
//	3 callback sender  delivers; reports failures on a channel
//	4 outbox           reads which messages a crash left owed
//	5 alerts           liquidity levels, from the KV; webhooks via the outbox
//	6 writer           replays the journal; each durable batch's Event goes
//	                   to the outbox (messages now durable) and the alerts
//	                   (positions); expiry notices are owed in its commits;
//	                   the outbox then stores every other message through it
//	                   (CommitThrough), sharing the journal's sync
//	7 directory, FSPIOP API (reads the failures channel), admin API, closer
//	8 outbox.Start     sends what a crash or a shutdown left undelivered
//	9 listeners        the APIs take requests
//
// Close stops them in the reverse order: the listeners (nothing new comes
// in), the closer, the FSPIOP API (no abort of an undelivered transfer is
// under way), the writer (its last events reach the outbox and the alerts),
// the alerts, the sender (delivers what is queued until the context ends;
// what it gives up stays in the outbox for the next start), the outbox
// (removes what was delivered), and the store.
package hub

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"time"

	"github.com/hutong/hutong/admin"
	"github.com/hutong/hutong/callback"
	"github.com/hutong/hutong/clock"
	"github.com/hutong/hutong/closing"
	"github.com/hutong/hutong/directory"
	"github.com/hutong/hutong/fspiop"
	"github.com/hutong/hutong/internal/fastsrv"
	"github.com/hutong/hutong/internal/httpsrv"
	"github.com/hutong/hutong/ledger"
	"github.com/hutong/hutong/liquidity"
	"github.com/hutong/hutong/outbox"
	"github.com/hutong/hutong/store"
	"github.com/hutong/hutong/store/pebble"
	"github.com/hutong/hutong/writer"
)

// Config is what a hub is started with.
type Config struct {
	// Dir is the embedded store's directory, created if absent.
	Dir string
	// AdminAddr and APIAddr are the listen addresses of the admin API and
	// the FSPIOP API; port 0 picks a free port.
	AdminAddr, APIAddr string
	// Logger gets the hub's logs. Default slog.Default().
	Logger *slog.Logger
	// Clock is the time the ledger and the API use. Default clock.Real.
	Clock clock.Clock
	// Writer configures the ledger writer; its Clock, Logger, OweExpired
	// and Positions are set by the hub, which adds a subscriber.
	Writer writer.Config
	// Callbacks configures outbound delivery; its Clock and Logger are set
	// by the hub. Zero fields take callback.DefaultConfig's.
	Callbacks callback.Config
	// Store configures the embedded store when Open is nil; its Logger is
	// set by the hub.
	Store pebble.Options
	// Open, if set, opens the store instead of Pebble in Dir: another
	// backend plugs in here without changing the hub.
	Open func(ctx context.Context, log *slog.Logger) (store.Store, error)
	// Alerts configures liquidity alerts; its Clock, Logger and Hub are
	// set by the hub. Zero fields take liquidity.DefaultConfig's.
	Alerts liquidity.Config
	// CloseWindows, if set, closes settlement windows on this schedule;
	// otherwise they close only when the operator says so.
	CloseWindows *closing.Schedule
	// QuoteRetention is how long quote and transaction request records
	// are kept: at least a minute (Start fails otherwise). Default
	// fspiop.DefaultRetention.
	QuoteRetention time.Duration
	// AdminToken, when set, is the bearer token the admin API requires.
	AdminToken string
}

// undeliveredQueue is how many undelivered messages may wait for the FSPIOP
// API to tell their senders.
const undeliveredQueue = 16384

// Hub is a running switch.
type Hub struct {
	Store     store.Store
	Outbox    *outbox.Outbox
	Writer    *writer.Writer
	Directory *directory.Directory
	Endpoints *callback.Endpoints
	Callbacks *callback.Sender
	API       *fspiop.Server
	Admin     *admin.Server
	Closer    *closing.Closer // nil unless Config.CloseWindows is set
	Alerts    *liquidity.Monitor

	// AdminURL and APIURL are the base URLs the APIs are served at.
	AdminURL, APIURL string

	log                *slog.Logger
	adminSrv           *httpsrv.Server
	apiSrv             *fastsrv.Server
	adminDone, apiDone chan error
}

// Start opens the store and starts every part of the switch. Close stops
// them.
func Start(ctx context.Context, cfg Config) (h *Hub, err error) {
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.Clock == nil {
		cfg.Clock = clock.Real{}
	}
	h = &Hub{log: cfg.Logger}
	// A failed Start returns a nil *Hub: the cleanup keeps its own
	// reference to what was started.
	started := h
	defer func() {
		if err != nil {
			started.closeParts(context.Background())
		}
	}()
	if cfg.Open != nil {
		h.Store, err = cfg.Open(ctx, cfg.Logger)
	} else {
		cfg.Store.Logger = cfg.Logger
		h.Store, err = pebble.Open(cfg.Dir, cfg.Store)
	}
	if err != nil {
		return nil, err
	}
	kv := h.Store.KV()
	if h.Endpoints, err = callback.OpenEndpoints(ctx, kv); err != nil {
		return nil, err
	}
	cc := cfg.Callbacks // zero fields take callback.DefaultConfig's
	cc.Clock, cc.Logger = cfg.Clock, cfg.Logger
	// The FSPIOP API tells a requester whose request could not be
	// delivered; it reads them from here once it is built. What comes when
	// the channel is full is only recorded for the operator.
	undelivered := make(chan *callback.Failure, undeliveredQueue)
	cc.OnFailure = func(f *callback.Failure) {
		select {
		case undelivered <- f:
		default:
			cfg.Logger.Warn("hub: too many undelivered messages at once; the sender is not told", "to", f.To, "path", f.Path)
		}
	}
	if h.Callbacks, err = callback.NewSender(cc, h.Endpoints, kv); err != nil {
		return nil, err
	}
	if h.Outbox, err = outbox.Open(ctx, h.Store, h.Callbacks, outbox.Config{Logger: cfg.Logger}); err != nil {
		return nil, err
	}
	ac := cfg.Alerts
	ac.Clock, ac.Logger, ac.Hub = cfg.Clock, cfg.Logger, ledger.HubID
	if h.Alerts, err = liquidity.Open(ctx, ac, kv, h.Outbox); err != nil {
		return nil, err
	}
	wc := cfg.Writer
	wc.Clock, wc.Logger = cfg.Clock, cfg.Logger
	wc.OweExpired = fspiop.ExpiryNotices(h.Outbox, ledger.HubID, cfg.Clock)
	wc.Positions = true
	alerts := h.Alerts
	wc.Subscribers = append(wc.Subscribers, func(ev *writer.Event) {
		h.Outbox.Stored(ev.Owed)
		if len(ev.Positions) > 0 {
			alerts.Observe(ev.Positions)
		}
	})
	if h.Writer, err = writer.Open(ctx, h.Store, wc); err != nil {
		return nil, err
	}
	// Messages owed by anything but the ledger share the journal's sync.
	h.Outbox.CommitThrough(h.Writer)
	// Positions that changed while nothing watched them: before a restart,
	// or in the last batch before a shutdown.
	var positions []ledger.Position
	if err := h.Writer.Query(ctx, func(l *ledger.Ledger) { positions = l.Positions() }); err != nil {
		return nil, err
	}
	h.Alerts.Observe(positions)
	h.Directory = directory.New(kv, cfg.Clock)
	h.API, err = fspiop.New(fspiop.Options{
		Writer: h.Writer, Directory: h.Directory, Outbox: h.Outbox, KV: kv,
		Clock: cfg.Clock, Logger: cfg.Logger, Retention: cfg.QuoteRetention,
		Undelivered: undelivered,
	})
	if err != nil {
		return nil, err
	}
	h.Admin = admin.New(h.Writer, admin.Options{Logger: cfg.Logger, Endpoints: h.Endpoints, Callbacks: h.Callbacks, Alerts: h.Alerts,
		Token: cfg.AdminToken})
	if cfg.CloseWindows != nil {
		h.Closer, err = closing.Start(h.Writer, closing.Config{Schedule: *cfg.CloseWindows, Clock: cfg.Clock, Logger: cfg.Logger})
		if err != nil {
			return nil, err
		}
	}

	if err := h.Outbox.Start(ctx); err != nil {
		return nil, err
	}

	adminLn, err := net.Listen("tcp", cfg.AdminAddr)
	if err != nil {
		return nil, fmt.Errorf("listen on %s for the admin API: %w", cfg.AdminAddr, err)
	}
	apiLn, err := net.Listen("tcp", cfg.APIAddr)
	if err != nil {
		adminLn.Close()
		return nil, fmt.Errorf("listen on %s for the FSPIOP API: %w", cfg.APIAddr, err)
	}
	h.AdminURL = "http://" + adminLn.Addr().String()
	h.APIURL = "http://" + apiLn.Addr().String()
	h.adminSrv = httpsrv.New(h.Admin)
	h.apiSrv = fastsrv.New(h.API.Handle, fastsrv.Config{Name: "hutong", MaxBody: h.API.BodyLimit(), MaxBodyOf: h.API.MaxBodyOf, OnError: h.API.HandleError})
	h.adminDone, h.apiDone = make(chan error, 1), make(chan error, 1)
	go func() { h.adminDone <- h.adminSrv.Serve(adminLn) }()
	go func() { h.apiDone <- h.apiSrv.Serve(apiLn) }()
	return h, nil
}

// Done reports an API server that stopped by itself.
func (h *Hub) Done() <-chan error {
	out := make(chan error, 1)
	go func() {
		select {
		case err := <-h.adminDone:
			out <- fmt.Errorf("admin API: %w", err)
		case err := <-h.apiDone:
			out <- fmt.Errorf("FSPIOP API: %w", err)
		}
	}()
	return out
}

// Close stops taking requests, lets those under way finish, stops the
// ledger writer, delivers the callbacks still queued until ctx ends, and
// closes the store.
func (h *Hub) Close(ctx context.Context) error {
	var errs []error
	if h.apiSrv != nil {
		if err := h.apiSrv.Shutdown(ctx); err != nil {
			errs = append(errs, err)
		}
	}
	if h.adminSrv != nil {
		if err := h.adminSrv.Shutdown(ctx); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(append(errs, h.closeParts(ctx))...)
}

func (h *Hub) closeParts(ctx context.Context) error {
	var errs []error
	if h.Closer != nil {
		h.Closer.Close()
	}
	if h.API != nil {
		// Aborts of undelivered transfers under way finish on the ledger.
		h.API.Close()
	}
	if h.Writer != nil {
		errs = append(errs, h.Writer.Close())
	}
	if h.Alerts != nil {
		errs = append(errs, h.Alerts.Close(ctx))
	}
	if h.Callbacks != nil {
		errs = append(errs, h.Callbacks.Close(ctx))
	}
	if h.Outbox != nil {
		errs = append(errs, h.Outbox.Close())
	}
	if h.Store != nil {
		errs = append(errs, h.Store.Close())
	}
	return errors.Join(errs...)
}
