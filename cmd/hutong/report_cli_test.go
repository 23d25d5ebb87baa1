package main

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// runCmd runs cmd with args and returns what it printed.
func runCmd(t *testing.T, c interface {
	SetOut(io.Writer)
	SetErr(io.Writer)
	SetArgs([]string)
	ExecuteContext(context.Context) error
}, args ...string) (string, error) {
	t.Helper()
	var out bytes.Buffer
	c.SetOut(&out)
	c.SetErr(io.Discard)
	c.SetArgs(args)
	err := c.ExecuteContext(context.Background())
	return out.String(), err
}

// status is the exit status main gives err.
func status(err error) int {
	if err == nil {
		return 0
	}
	var ec exitCode
	if errors.As(err, &ec) {
		return ec.code
	}
	return 1
}

func TestReconcileExitStatus(t *testing.T) {
	srv, w, clk := adminServer(t)
	now := clk.Now()
	pay(t, w, now, 1, "a", "b", 1250)
	pay(t, w, now, 2, "b", "a", 300)
	const header = "transfer_id,currency,amount,state,direction,completed_at\n"
	at := now.UTC().Format("2006-01-02T15:04:05Z")
	clean := header +
		testID(1).String() + ",USD,12.5,COMMITTED,SENT," + at + "\n" +
		testID(2).String() + ",USD,3,COMMITTED,RECEIVED," + at + "\n"
	differs := header +
		testID(1).String() + ",USD,12.49,COMMITTED,SENT," + at + "\n" // amount differs; testID(2) missing
	bad := header + testID(1).String() + ",USD,12.5,DONE,SENT," + at + "\n"

	dir := t.TempDir()
	file := func(name, body string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	base := []string{"--admin", srv.URL, "--participant", "a", "--from", "2025-03-01T00:00:00Z", "--to", "2025-03-02T00:00:00Z"}
	for _, tc := range []struct {
		name   string
		args   []string
		status int
		want   []string // in the output
	}{
		{"clean", append(base, "--file", file("clean.csv", clean)), 0, []string{": clean\n", "Matched               2"}},
		{"clean json", append(base, "--json", "--file", file("clean.csv", clean)), 0, []string{`"clean": true`}},
		{"differs", append(base, "--file", file("differs.csv", differs)), 1,
			[]string{"2 differences", testID(1).String(), "file: USD 12.49", "hub: USD 12.5", testID(2).String(), "file: none", "hub: USD 3"}},
		{"differs json", append(base, "--json", "--file", file("differs.csv", differs)), 1, []string{`"clean": false`}},
		{"bad file", append(base, "--file", file("bad.csv", bad)), 2, nil},
		{"no file", append(base, "--file", filepath.Join(dir, "absent.csv")), 2, nil},
		{"no participant", []string{"--admin", srv.URL, "--file", file("clean.csv", clean)}, 2, nil},
		{"unknown participant", []string{"--admin", srv.URL, "--participant", "zz", "--file", file("clean.csv", clean)}, 2, nil},
		{"bad flag", append(base, "--nope"), 2, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out, err := runCmd(t, reconcileCmd(context.Background()), tc.args...)
			if got := status(err); got != tc.status {
				t.Fatalf("exit status %d, want %d (err %v)\n%s", got, tc.status, err, out)
			}
			for _, w := range tc.want {
				if !strings.Contains(out, w) {
					t.Errorf("output does not have %q:\n%s", w, out)
				}
			}
		})
	}

	t.Run("bad lines named", func(t *testing.T) {
		_, err := runCmd(t, reconcileCmd(context.Background()), append(base, "--file", file("bad.csv", bad))...)
		if err == nil || !strings.Contains(err.Error(), "line 2") {
			t.Errorf("error %v does not name line 2", err)
		}
	})
}

func TestReportAndStatementCommands(t *testing.T) {
	srv, w, clk := adminServer(t)
	pay(t, w, clk.Now(), 1, "a", "b", 1250)
	out, err := runCmd(t, reportCmd(context.Background()), "window", "1", "--admin", srv.URL, "--format", "csv")
	if err != nil {
		t.Fatal(err)
	}
	if want := "TOTAL,USD,1,12.5,1,12.5,0\n"; !strings.HasSuffix(out, want) {
		t.Errorf("window report:\n%s\nwant it to end with %q", out, want)
	}
	if _, err := runCmd(t, reportCmd(context.Background()), "window", "9", "--admin", srv.URL); err == nil {
		t.Error("report of an unknown window: no error")
	}
	out, err = runCmd(t, statementCmd(context.Background()), "--admin", srv.URL, "--participant", "a", "--currency", "USD",
		"--account", "position", "--format", "csv")
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if last := lines[len(lines)-1]; !strings.Contains(last, "CLOSING_BALANCE") || !strings.HasSuffix(last, ",12.5") {
		t.Errorf("statement ends with %q, want a CLOSING_BALANCE of 12.5", last)
	}
}
