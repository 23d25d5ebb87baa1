// Package httpsrv runs an HTTP server that shuts down promptly.
//
// http.Server.Shutdown waits until every connection is idle, and counts a
// connection on which no request has come yet as idle only once it is five
// seconds old. Go's HTTP clients often dial a spare connection they never
// use, so a plain Shutdown would stall for those five seconds. A Server
// here closes such connections itself while it shuts down.
package httpsrv

import (
	"context"
	"net"
	"net/http"
	"sync"
	"time"
)

// Server is an http.Server that tracks the connections no request has come
// on yet.
type Server struct {
	http.Server

	mu       sync.Mutex // guards newConns
	newConns map[net.Conn]struct{}
}

// New returns a server for h with header and idle timeouts set.
func New(h http.Handler) *Server {
	s := &Server{newConns: make(map[net.Conn]struct{})}
	s.Handler = h
	s.ReadHeaderTimeout = 10 * time.Second
	s.IdleTimeout = 5 * time.Minute
	s.ConnState = s.track
	return s
}

func (s *Server) track(c net.Conn, st http.ConnState) {
	s.mu.Lock()
	if st == http.StateNew {
		s.newConns[c] = struct{}{}
	} else {
		delete(s.newConns, c)
	}
	s.mu.Unlock()
}

// Shutdown stops accepting connections and waits, until ctx ends, for the
// requests under way; it closes unused connections as it goes. When ctx
// ends first it closes every connection and returns ctx's error.
func (s *Server) Shutdown(ctx context.Context) error {
	done := make(chan error, 1)
	go func() { done <- s.Server.Shutdown(ctx) }()
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for {
		s.mu.Lock()
		for c := range s.newConns {
			c.Close()
			delete(s.newConns, c)
		}
		s.mu.Unlock()
		select {
		case err := <-done:
			if err != nil {
				s.Server.Close()
			}
			return err
		case <-tick.C:
		}
	}
}
