package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"github.com/hutong/hutong/internal/testseed"
	"io"
	"math/rand/v2"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"sync"
	"syscall"
	"testing"
	"time"
)

var (
	crashRounds = flag.Int("crash.rounds", 20, "SIGKILLs in TestCrashRecovery")
)

var (
	buildOnce sync.Once
	binPath   string
	buildErr  error
)

// buildHutong builds the binary under test once per test run.
func buildHutong(t *testing.T) string {
	t.Helper()
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "hutong-test-bin-")
		if err != nil {
			buildErr = err
			return
		}
		binPath = filepath.Join(dir, "hutong")
		out, err := exec.Command("go", "build", "-o", binPath, ".").CombinedOutput()
		if err != nil {
			buildErr = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return binPath
}

// TestServeDemo starts `hutong serve --demo` and checks that the demo
// participants exist with collateral, and that a second start on the same
// data finds them rather than creating them again.
func TestServeDemo(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs a real process; skipped with -short")
	}
	bin := buildHutong(t)
	dir := filepath.Join(t.TempDir(), "demo")
	for start := 1; start <= 2; start++ {
		cmd := exec.Command(bin, "serve", "--demo", "--data", dir, "--addr", "127.0.0.1:0", "--fspiop-addr", "127.0.0.1:0")
		h := startCmd(t, cmd)
		var got struct {
			Accounts []struct{ Type, Balance string }
		}
		for _, p := range demoParticipants {
			code, err := call(context.Background(), "GET", h.base+"/admin/v1/participants/"+p.id+"/accounts", nil, &got)
			if err != nil || code != 200 {
				t.Fatalf("start %d: accounts of %s: %d %v\n%s", start, p.id, code, err, h.logs)
			}
			for _, a := range got.Accounts {
				if a.Type == "SETTLEMENT" && a.Balance != "100000" {
					t.Errorf("start %d: %s collateral %s, want 100000", start, p.id, a.Balance)
				}
			}
		}
		h.cmd.Process.Signal(syscall.SIGINT)
		if err := h.cmd.Wait(); err != nil {
			t.Fatalf("start %d: Ctrl-C did not stop the demo cleanly: %v\n%s", start, err, h.logs)
		}
	}
}

type hubProc struct {
	cmd  *exec.Cmd
	base string
	logs *bytes.Buffer
}

var apiRe = regexp.MustCompile(`admin_api=(http://\S+)/admin/v1`)

// startHub starts `hutong serve` on dir and waits until it listens.
func startHub(t *testing.T, bin, dir string) *hubProc {
	t.Helper()
	return startCmd(t, exec.Command(bin, "serve", "--data", dir, "--addr", "127.0.0.1:0", "--fspiop-addr", "127.0.0.1:0"))
}

// startCmd starts a serving hutong and waits until it listens.
func startCmd(t *testing.T, cmd *exec.Cmd) *hubProc {
	t.Helper()
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	h := &hubProc{cmd: cmd, logs: new(bytes.Buffer)}
	found := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			line := sc.Text()
			h.logs.WriteString(line + "\n")
			if m := apiRe.FindStringSubmatch(line); m != nil {
				found <- m[1]
			}
		}
	}()
	select {
	case h.base = <-found:
		return h
	case <-time.After(60 * time.Second):
		cmd.Process.Kill()
		t.Fatalf("hutong did not start within 60s; log:\n%s", h.logs)
		return nil
	}
}

func (h *hubProc) kill(t *testing.T) {
	t.Helper()
	if err := h.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	h.cmd.Wait()
}

var client = &http.Client{Timeout: 10 * time.Second}

// call posts body (if any) and decodes a 2xx JSON answer into out. It
// returns the status, or an error when no answer came.
func call(ctx context.Context, method, url string, body any, out any) (int, error) {
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, url, rd)
	if err != nil {
		return 0, err
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := client.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return 0, err
	}
	if resp.StatusCode/100 == 2 && out != nil {
		if err := json.Unmarshal(b, out); err != nil {
			return 0, fmt.Errorf("decode %s: %w", b, err)
		}
	}
	return resp.StatusCode, nil
}

// op is one funds movement the load sent; state is the last state the hub
// acknowledged, or "" when nothing was acknowledged yet. maybe is a state
// the hub may have reached by a request whose answer was lost in a kill.
type op struct {
	id          string
	participant string
	kind        string // in, out
	amount      int64
	state       string
	maybe       string
}

func uuid(r *rand.Rand) string {
	b := make([]byte, 16)
	for i := range b {
		b[i] = byte(r.Uint32())
	}
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:])
}

// TestCrashRecovery kills a real hutong process with SIGKILL while
// concurrent clients move funds through its admin API, restarts it on the
// same data, and checks that every acknowledged state survived, nothing was
// applied twice, and verify passes.
func TestCrashRecovery(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and kills a real process; skipped with -short")
	}
	seed := testseed.Seed(t)
	rng := rand.New(rand.NewPCG(seed, 0))
	bin := buildHutong(t)
	dir := filepath.Join(t.TempDir(), "data")
	participants := []string{"alpha", "bravo", "charlie", "delta"}

	h := startHub(t, bin, dir)
	ctx := context.Background()
	for _, p := range participants {
		h.admin(t,
			adminStep{"POST", "/admin/v1/participants", map[string]string{"id": p, "name": "Crash " + p}},
			adminStep{"POST", "/admin/v1/participants/" + p + "/currencies", map[string]string{"currency": "JPY"}})
	}

	var (
		mu  sync.Mutex
		ops []*op
	)
	for round := 0; round < *crashRounds; round++ {
		loadCtx, stop := context.WithCancel(ctx)
		var wg sync.WaitGroup
		for w := 0; w < 8; w++ {
			wrng := rand.New(rand.NewPCG(seed, uint64(round*100+w+1)))
			wg.Add(1)
			go func() {
				defer wg.Done()
				for loadCtx.Err() == nil {
					o := &op{id: uuid(wrng), participant: participants[wrng.IntN(len(participants))], amount: 1 + wrng.Int64N(1000)}
					body := map[string]string{"id": o.id, "currency": "JPY", "amount": strconv.FormatInt(o.amount, 10)}
					o.kind = "in"
					if wrng.IntN(3) == 0 {
						o.kind = "out"
					}
					mu.Lock()
					ops = append(ops, o)
					mu.Unlock()
					path := "/admin/v1/participants/" + o.participant + "/funds-" + o.kind
					want := map[string]string{"in": "COMMITTED", "out": "RESERVED"}[o.kind]
					setMaybe(&mu, o, want)
					var got struct{ State string }
					code, err := call(loadCtx, "POST", h.base+path, body, &got)
					if err != nil {
						return // the hub is gone; the outcome stays unknown
					}
					if code/100 != 2 {
						setMaybe(&mu, o, "")
						continue // refused (e.g. not enough collateral): changed nothing
					}
					if got.State != want {
						t.Errorf("%s %s answered %s, want %s", path, o.id, got.State, want)
					}
					ack(&mu, o, got.State)
					if o.kind != "out" {
						continue
					}
					action, final := "commit", "COMMITTED"
					if wrng.IntN(2) == 0 {
						action, final = "abort", "ABORTED"
					}
					setMaybe(&mu, o, final)
					code, err = call(loadCtx, "POST", h.base+"/admin/v1/funds-out/"+o.id+"/"+action, map[string]string{}, &got)
					if err != nil {
						return
					}
					if code/100 != 2 || got.State != final {
						t.Errorf("%s funds-out %s: %d %s", action, o.id, code, got.State)
						return
					}
					ack(&mu, o, final)
				}
			}()
		}
		time.Sleep(time.Duration(30+rng.IntN(400)) * time.Millisecond)
		h.kill(t)
		stop()
		wg.Wait()
		if round%5 == 4 {
			// The journal after the last checkpoint is replayed, not trusted.
			out, err := exec.Command(bin, "verify", "--data", dir).CombinedOutput()
			if err != nil || !bytes.Contains(out, []byte("OK")) {
				t.Fatalf("verify after kill %d: %v\n%s", round+1, err, out)
			}
		}

		h = startHub(t, bin, dir)
		checkOps(t, h, ops, fmt.Sprintf("after kill %d", round+1))
		if t.Failed() {
			t.Fatalf("stopping after round %d; hub log:\n%s", round+1, h.logs)
		}
	}
	checkBalances(t, h, participants, ops)

	// A clean stop, then the offline check of the whole journal.
	h.cmd.Process.Signal(syscall.SIGTERM)
	if err := h.cmd.Wait(); err != nil {
		t.Fatalf("hutong did not stop cleanly: %v\n%s", err, h.logs)
	}
	out, err := exec.Command(bin, "verify", "--data", dir).CombinedOutput()
	if err != nil || !bytes.Contains(out, []byte("OK")) {
		t.Fatalf("verify: %v\n%s", err, out)
	}
	t.Logf("%d operations over %d kills; %s", len(ops), *crashRounds, bytes.TrimSpace(out))
}

// adminStep is one admin API call of a test's set-up.
type adminStep struct {
	method, path string
	body         any
}

// admin makes the calls in order and fails the test at the first that is
// not answered 2xx.
func (h *hubProc) admin(t *testing.T, steps ...adminStep) {
	t.Helper()
	for _, s := range steps {
		if code, err := call(context.Background(), s.method, h.base+s.path, s.body, nil); err != nil || code/100 != 2 {
			t.Fatalf("%s %s: %d %v\n%s", s.method, s.path, code, err, h.logs)
		}
	}
}

func setMaybe(mu *sync.Mutex, o *op, s string) { mu.Lock(); o.maybe = s; mu.Unlock() }
func ack(mu *sync.Mutex, o *op, s string)      { mu.Lock(); o.state, o.maybe = s, ""; mu.Unlock() }

// checkOps asks the restarted hub for every operation and resolves the
// unknown outcomes to what the hub holds.
func checkOps(t *testing.T, h *hubProc, ops []*op, when string) {
	t.Helper()
	for _, o := range ops {
		var got struct{ State string }
		code, err := call(context.Background(), "GET", h.base+"/admin/v1/transfers/"+o.id, nil, &got)
		if err != nil {
			t.Fatalf("%s: GET transfer %s: %v", when, o.id, err)
		}
		state := got.State
		if code == http.StatusNotFound {
			state = ""
		} else if code != http.StatusOK {
			t.Fatalf("%s: GET transfer %s: status %d", when, o.id, code)
		}
		if state != o.state && (o.maybe == "" || state != o.maybe) {
			t.Errorf("%s: transfer %s (%s of %d) is %q; acknowledged %q, maybe %q", when, o.id, o.kind, o.amount, state, o.state, o.maybe)
			continue
		}
		o.state, o.maybe = state, ""
	}
}

// checkBalances compares each settlement balance with the sum of the
// committed movements: money applied twice or lost would show here.
func checkBalances(t *testing.T, h *hubProc, participants []string, ops []*op) {
	t.Helper()
	want := map[string]int64{}
	for _, o := range ops {
		switch {
		case o.kind == "in" && o.state == "COMMITTED":
			want[o.participant] += o.amount
		case o.kind == "out" && o.state == "COMMITTED":
			want[o.participant] -= o.amount
		}
	}
	for _, p := range participants {
		var got struct {
			Accounts []struct{ Type, Balance string }
		}
		if code, err := call(context.Background(), "GET", h.base+"/admin/v1/participants/"+p+"/accounts", nil, &got); err != nil || code != 200 {
			t.Fatalf("accounts of %s: %d %v", p, code, err)
		}
		found := false
		for _, a := range got.Accounts {
			if a.Type == "SETTLEMENT" {
				found = true
				if a.Balance != strconv.FormatInt(want[p], 10) {
					t.Errorf("%s settlement balance %s, want %d from the acknowledged movements", p, a.Balance, want[p])
				}
			}
		}
		if !found {
			t.Errorf("%s has no SETTLEMENT account in %+v", p, got)
		}
	}
}
