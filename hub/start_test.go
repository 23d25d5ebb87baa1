package hub_test

import (
	"context"
	"log/slog"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/hutong/hutong/hub"
)

// TestStartFails: a Start that fails part way returns its error and
// closes what it had started, the store included, so that a corrected
// configuration can start on the same directory.
func TestStartFails(t *testing.T) {
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	dir := t.TempDir()
	base := hub.Config{Dir: dir, AdminAddr: "127.0.0.1:0", APIAddr: "127.0.0.1:0", Logger: slog.New(slog.DiscardHandler)}
	tests := []struct {
		name string
		edit func(*hub.Config)
		want string // in the error
	}{
		{"quote retention under a minute", func(c *hub.Config) { c.QuoteRetention = 30 * time.Second }, "less than a minute"},
		{"admin address in use", func(c *hub.Config) { c.AdminAddr = busy.Addr().String() }, "admin API"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := base
			tt.edit(&cfg)
			h, err := hub.Start(context.Background(), cfg)
			if err == nil || h != nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("Start = %v, %v; want no hub and an error containing %q", h, err, tt.want)
			}
			h, err = hub.Start(context.Background(), base)
			if err != nil {
				t.Fatalf("Start after a failed Start on the same directory: %v", err)
			}
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			if err := h.Close(ctx); err != nil {
				t.Errorf("Close: %v", err)
			}
		})
	}
}
