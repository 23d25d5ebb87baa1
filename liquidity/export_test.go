package liquidity

import (
	"context"
	"errors"
	"testing"

	"github.com/hutong/hutong/clock"
	"github.com/hutong/hutong/store/kv"
)

// openWithIdle is open with a hook: the Monitor's goroutine calls idle each
// time it has found nothing queued, before it waits, so that a test can
// hold it there while it observes.
func openWithIdle(t testing.TB, cfg Config, kv kv.Space, s Sender, idle func()) *Monitor {
	t.Helper()
	if cfg.Clock == nil {
		cfg.Clock = clock.NewFake(t0)
	}
	cfg.Logger = quiet
	m, err := load(context.Background(), cfg, kv, s)
	if err != nil {
		t.Fatal(err)
	}
	m.idle = idle
	go m.run()
	t.Cleanup(func() {
		if err := m.Close(context.Background()); err != nil && !errors.Is(err, ErrClosed) {
			t.Errorf("close monitor: %v", err)
		}
	})
	return m
}
