package main

import (
	"context"
	"io"
	"log/slog"

	"github.com/hutong/hutong/hub"
)

// runDemo runs the demo's simulated wallets and payments until ctx ends.
func runDemo(ctx context.Context, h *hub.Hub, out io.Writer, log *slog.Logger) <-chan error {
	done := make(chan error, 1)
	go func() {
		<-ctx.Done()
		done <- nil
	}()
	return done
}
