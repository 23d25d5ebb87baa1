package main

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hutong/hutong/admin"
	"github.com/hutong/hutong/clock"
	"github.com/hutong/hutong/store/pebble"
	"github.com/hutong/hutong/writer"
)

// TestMain keeps an operator's own admin token out of the tests: the hubs
// they start (in process or as a child process, which inherits the
// environment) are to have none unless a test sets one.
func TestMain(m *testing.M) {
	os.Unsetenv(admin.TokenEnv)
	os.Exit(m.Run())
}

func TestAdminToken(t *testing.T) {
	good := strings.Repeat("ab", 16)
	dir := t.TempDir()
	file := func(name, content string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	tests := []struct {
		name, env, file string
		want            string // "" with wantErr false: no token
		wantErr         bool
	}{
		{"none", "", "", "", false},
		{"from the environment", good, "", good, false},
		{"from a file, newline trimmed", "", file("ok", good+"\n"), good, false},
		{"the file wins", strings.Repeat("cd", 16), file("ok2", good), good, false},
		{"too short", "", file("short", "secret"), "", true},
		{"too short in the environment", "secret", "", "", true},
		{"a space inside", "", file("space", good+" "+good), "", true},
		{"not ASCII", "", file("utf8", good+"é"), "", true},
		{"no such file", "", filepath.Join(dir, "absent"), "", true},
		// Named but empty: refused, not taken as no token.
		{"an empty file", "", file("empty", "\n"), "", true},
		{"an empty file over the environment", good, file("empty2", ""), "", true},
	}
	for _, tt := range tests {
		t.Setenv(admin.TokenEnv, tt.env)
		got, err := adminToken(tt.file)
		if (err != nil) != tt.wantErr || got != tt.want {
			t.Errorf("%s: adminToken = %q, %v; want %q, error %v", tt.name, got, err, tt.want, tt.wantErr)
		}
	}
}

func TestIsLoopback(t *testing.T) {
	// resolver answers for localhost with ips.
	resolver := func(ips ...string) func(string) ([]net.IP, error) {
		return func(host string) ([]net.IP, error) {
			if host != "localhost" {
				t.Errorf("looked up %q; only localhost is looked up", host)
			}
			out := []net.IP{}
			for _, s := range ips {
				out = append(out, net.ParseIP(s))
			}
			return out, nil
		}
	}
	hosts := resolver("127.0.0.1", "::1")
	failing := func(string) ([]net.IP, error) { return nil, errors.New("no such host") }
	tests := []struct {
		addr   string
		lookup func(string) ([]net.IP, error)
		want   bool
	}{
		{"127.0.0.1:7070", hosts, true},
		{"127.0.0.2:0", hosts, true},
		{"[::1]:7070", hosts, true},
		{"[::ffff:127.0.0.1]:7070", hosts, true},
		{"localhost:7070", hosts, true},
		{"localhost:7070", resolver("127.0.0.1"), true},
		// localhost left to a resolver that maps it elsewhere.
		{"localhost:7070", resolver("10.0.0.5"), false},
		{"localhost:7070", resolver("127.0.0.1", "192.0.2.1"), false},
		{"localhost:7070", resolver(), false},
		{"localhost:7070", failing, false},
		{"0.0.0.0:7070", hosts, false},
		{":7070", hosts, false},
		{"10.0.0.5:7070", hosts, false},
		{"[::]:7070", hosts, false},
		{"[::1%lo]:7070", hosts, false},
		{"example.com:7070", hosts, false},
		{"LOCALHOST:7070", hosts, false},
		{"bad", hosts, false},
	}
	for _, tt := range tests {
		if got := isLoopback(tt.addr, tt.lookup); got != tt.want {
			t.Errorf("isLoopback(%q) = %v, want %v", tt.addr, got, tt.want)
		}
	}
}

// TestServeRefusesOpenAdmin: an admin API on a non-loopback address needs
// a token, and a retention under a minute is refused by its flag's name.
func TestServeRefusesOpenAdmin(t *testing.T) {
	t.Setenv(admin.TokenEnv, "")
	for _, tt := range []struct {
		args []string
		want string // in the error
	}{
		{[]string{"--addr", "0.0.0.0:0"}, admin.TokenEnv},
		{[]string{"--addr", "127.0.0.1:0", "--quote-retention", "30s"}, "--quote-retention"},
	} {
		// Ended already: were serve to start a hub, it would stop it at
		// once and return, rather than serve until the test times out.
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		c := serveCmd(ctx)
		c.SetArgs(append([]string{"--data", t.TempDir(), "--fspiop-addr", "127.0.0.1:0"}, tt.args...))
		c.SetOut(new(strings.Builder))
		c.SetErr(new(strings.Builder))
		err := c.ExecuteContext(ctx)
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("serve %v: %v, want a refusal naming %s", tt.args, err, tt.want)
		}
	}
}

// TestCLISendsToken: the command line sends $HUTONG_ADMIN_TOKEN, and says
// what is wrong without it.
func TestCLISendsToken(t *testing.T) {
	quiet := slog.New(slog.DiscardHandler)
	st, err := pebble.Open(t.TempDir(), pebble.Options{Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	w, err := writer.Open(context.Background(), st, writer.Config{Clock: clock.NewFake(time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)), Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { w.Close() })
	token := strings.Repeat("9f", 16)
	srv := httptest.NewServer(admin.New(w, admin.Options{Logger: quiet, Token: token}))
	t.Cleanup(srv.Close)

	t.Setenv(admin.TokenEnv, "")
	_, err = runSettlement(t, "models", "--admin="+srv.URL)
	refusedWith(t, err, "UNAUTHORIZED")
	t.Setenv(admin.TokenEnv, token)
	if _, err := runSettlement(t, "models", "--admin="+srv.URL); err != nil {
		t.Errorf("with the token: %v", err)
	}
}
