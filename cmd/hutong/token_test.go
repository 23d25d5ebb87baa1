package main

import (
	"context"
	"log/slog"
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
	for addr, want := range map[string]bool{
		"127.0.0.1:7070": true, "127.0.0.2:0": true, "[::1]:7070": true, "localhost:7070": true,
		"0.0.0.0:7070": false, ":7070": false, "10.0.0.5:7070": false, "[::]:7070": false, "example.com:7070": false, "bad": false,
	} {
		if got := isLoopback(addr); got != want {
			t.Errorf("isLoopback(%q) = %v, want %v", addr, got, want)
		}
	}
}

// TestServeRefusesOpenAdmin: an admin API on a non-loopback address needs
// a token.
func TestServeRefusesOpenAdmin(t *testing.T) {
	t.Setenv(admin.TokenEnv, "")
	c := serveCmd(context.Background())
	c.SetArgs([]string{"--data", t.TempDir(), "--addr", "0.0.0.0:0", "--fspiop-addr", "127.0.0.1:0"})
	c.SetOut(new(strings.Builder))
	c.SetErr(new(strings.Builder))
	err := c.ExecuteContext(context.Background())
	if err == nil || !strings.Contains(err.Error(), admin.TokenEnv) {
		t.Errorf("serve --addr 0.0.0.0:0 without a token: %v, want a refusal naming %s", err, admin.TokenEnv)
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
