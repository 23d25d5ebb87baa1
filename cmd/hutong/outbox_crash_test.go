package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"flag"
	"fmt"
	"github.com/hutong/hutong/internal/testseed"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

var outboxRounds = flag.Int("outbox.rounds", 20, "SIGKILLs in TestOutboxCrash")

const transfersType = "application/vnd.interoperability.transfers+json;version=1.1"

// fsp is a participant's server in TestOutboxCrash: it records every
// message the hub delivers to it and, as a payee, answers transfers through
// the hub as a wallet would, resending its answer until the hub takes it.
type fsp struct {
	id  string
	hub *atomic.Pointer[string] // the FSPIOP API's base URL
	rng func() int              // 0..99, how to answer a transfer
	srv *http.Server
	url string
	wg  sync.WaitGroup
	ctx context.Context

	mu       sync.Mutex
	prepares map[string]int // POST /transfers received, by transfer id
	commits  map[string]int // PUT /transfers/{id} received
	errors   map[string]int // PUT /transfers/{id}/error received
}

func startFSP(t *testing.T, ctx context.Context, id string, hub *atomic.Pointer[string], seed uint64) *fsp {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	r := rand.New(rand.NewPCG(seed, 7))
	f := &fsp{id: id, hub: hub, url: "http://" + ln.Addr().String(), ctx: ctx,
		rng:      func() int { mu.Lock(); defer mu.Unlock(); return r.IntN(100) },
		prepares: map[string]int{}, commits: map[string]int{}, errors: map[string]int{}}
	f.srv = &http.Server{Handler: http.HandlerFunc(f.serve), ReadHeaderTimeout: 5 * time.Second}
	go f.srv.Serve(ln)
	t.Cleanup(func() {
		f.srv.Close()
		f.wg.Wait()
	})
	return f
}

func (f *fsp) serve(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	path := strings.TrimPrefix(r.URL.Path, "/transfers")
	switch {
	case r.Method == http.MethodPost && path == "":
		var b struct{ TransferID, PayerFsp string }
		if json.Unmarshal(body, &b) != nil || b.TransferID == "" {
			w.WriteHeader(http.StatusBadRequest)
			return
		}
		f.mu.Lock()
		f.prepares[b.TransferID]++
		first := f.prepares[b.TransferID] == 1
		f.mu.Unlock()
		w.WriteHeader(http.StatusAccepted)
		if first {
			f.wg.Add(1)
			go f.answer(b.TransferID, b.PayerFsp)
		}
	case r.Method == http.MethodPut && strings.HasSuffix(path, "/error"):
		f.mu.Lock()
		f.errors[strings.TrimSuffix(strings.TrimPrefix(path, "/"), "/error")]++
		f.mu.Unlock()
		w.WriteHeader(http.StatusOK)
	case r.Method == http.MethodPut || r.Method == http.MethodPatch:
		f.mu.Lock()
		f.commits[strings.TrimPrefix(path, "/")]++
		f.mu.Unlock()
		w.WriteHeader(http.StatusOK)
	default:
		w.WriteHeader(http.StatusNotFound)
	}
}

// answer fulfils most transfers, refuses some and leaves a few to expire;
// it resends while the hub is down.
func (f *fsp) answer(id, payer string) {
	defer f.wg.Done()
	n := f.rng()
	var path string
	var body []byte
	switch {
	case n < 85:
		path = "/transfers/" + id
		body, _ = json.Marshal(map[string]string{"fulfilment": fulfilment(id), "completedTimestamp": stamp(time.Now()), "transferState": "COMMITTED"})
	case n < 95:
		path = "/transfers/" + id + "/error"
		body = []byte(`{"errorInformation":{"errorCode":"5100","errorDescription":"Payee rejection"}}`)
	default:
		return // never answered: the transfer expires
	}
	for f.ctx.Err() == nil {
		req, _ := http.NewRequestWithContext(f.ctx, http.MethodPut, *f.hub.Load()+path, bytes.NewReader(body))
		fspiopHeaders(req, f.id, payer)
		resp, err := client.Do(req)
		if err == nil {
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode/100 == 2 || resp.StatusCode/100 == 4 {
				return
			}
		}
		select {
		case <-f.ctx.Done():
		case <-time.After(100 * time.Millisecond):
		}
	}
}

func (f *fsp) count(m map[string]int, id string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return m[id]
}

func fspiopHeaders(req *http.Request, from, to string) {
	req.Header.Set("Content-Type", transfersType)
	if req.Method == http.MethodPost {
		req.Header.Set("Accept", transfersType)
	}
	req.Header.Set("Date", time.Now().UTC().Format(http.TimeFormat))
	req.Header.Set("FSPIOP-Source", from)
	req.Header.Set("FSPIOP-Destination", to)
}

func stamp(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.000Z") }

func fulfilment(id string) string {
	d := sha256.Sum256([]byte("fulfilment of " + id))
	return base64.RawURLEncoding.EncodeToString(d[:])
}

func condition(id string) string {
	f, _ := base64.RawURLEncoding.DecodeString(fulfilment(id))
	d := sha256.Sum256(f)
	return base64.RawURLEncoding.EncodeToString(d[:])
}

// freeAddr returns a loopback address with a port free now, for a hub that
// must keep its FSPIOP address across restarts.
func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// sentTransfer is one POST /transfers of the load: answered is whether the
// hub answered it 202.
type sentTransfer struct {
	id, payer, payee string
	answered         bool
}

// TestOutboxCrash kills a real hutong process with SIGKILL at random moments
// while participants pay each other through its FSPIOP API, restarts it on
// the same data each time, and then checks that no message the hub owed was
// lost: every transfer answered 202 reached its payee or was aborted with an
// error to its payer, every committed transfer reached its payer's callback,
// every aborted or expired one its payer's error callback, and verify
// passes.
func TestOutboxCrash(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and kills a real process; skipped with -short")
	}
	seed := testseed.Seed(t)
	rng := rand.New(rand.NewPCG(seed, 0))
	bin := buildHutong(t)
	dir := filepath.Join(t.TempDir(), "data")
	apiAddr := freeAddr(t)
	var hubURL atomic.Pointer[string]
	u := "http://" + apiAddr
	hubURL.Store(&u)
	serve := func() *hubProc {
		return startCmd(t, exec.Command(bin, "serve", "--data", dir, "--addr", "127.0.0.1:0", "--fspiop-addr", apiAddr))
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	ids := []string{"alpha", "bravo", "charlie", "delta"}
	fsps := map[string]*fsp{}
	h := serve()
	for i, p := range ids {
		fsps[p] = startFSP(t, ctx, p, &hubURL, seed+uint64(i))
		h.admin(t,
			adminStep{"POST", "/admin/v1/participants", map[string]string{"id": p, "name": "Wallet " + p}},
			adminStep{"POST", "/admin/v1/participants/" + p + "/currencies", map[string]string{"currency": "JPY"}},
			adminStep{"PUT", "/admin/v1/participants/" + p + "/currencies/JPY/ndc", map[string]string{"amount": "1000000000"}},
			adminStep{"POST", "/admin/v1/participants/" + p + "/funds-in", map[string]string{"id": uuid(rng), "currency": "JPY", "amount": "1000000000"}},
			adminStep{"PUT", "/admin/v1/participants/" + p + "/endpoints", map[string]string{"base": fsps[p].url}})
	}

	var (
		mu   sync.Mutex
		sent []*sentTransfer
	)
	for round := 0; round < *outboxRounds; round++ {
		loadCtx, stop := context.WithCancel(ctx)
		var wg sync.WaitGroup
		for w := 0; w < 8; w++ {
			wrng := rand.New(rand.NewPCG(seed, uint64(round*100+w+1)))
			wg.Add(1)
			go func() {
				defer wg.Done()
				for loadCtx.Err() == nil {
					i := wrng.IntN(len(ids))
					tr := &sentTransfer{id: uuid(wrng), payer: ids[i], payee: ids[(i+1+wrng.IntN(len(ids)-1))%len(ids)]}
					body, _ := json.Marshal(map[string]any{
						"transferId": tr.id, "payerFsp": tr.payer, "payeeFsp": tr.payee,
						"amount":    map[string]string{"currency": "JPY", "amount": fmt.Sprint(1 + wrng.IntN(100))},
						"ilpPacket": "AYIBgQAAAAAAAASwNGxldmVsb25lLmRmc3AxLm1lci45T2RTOF81MDdqUUZERmZlakgyOVc4bXFmNEpLMHlGTFGCAUBQU0svMS4wCk5vbmNlOiB1SXlweUYzY3pYSXBFdzVVc05TYWh3CkVuY3J5cHRpb246IG5vbmUKUGF5bWVudC1JZDogMTMyMzZhM2ItOGZhOC00MTYzLTg0NDctNGMzZWQzZGE5OGE3",
						"condition": condition(tr.id), "expiration": stamp(time.Now().Add(8 * time.Second)),
					})
					mu.Lock()
					sent = append(sent, tr)
					mu.Unlock()
					req, _ := http.NewRequestWithContext(loadCtx, http.MethodPost, *hubURL.Load()+"/transfers", bytes.NewReader(body))
					fspiopHeaders(req, tr.payer, tr.payee)
					resp, err := client.Do(req)
					if err != nil {
						return // the hub is gone; the transfer may or may not be there
					}
					io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
					if resp.StatusCode != http.StatusAccepted {
						t.Errorf("POST /transfers %s: %d", tr.id, resp.StatusCode)
						return
					}
					mu.Lock()
					tr.answered = true
					mu.Unlock()
				}
			}()
		}
		time.Sleep(time.Duration(200+rng.IntN(800)) * time.Millisecond)
		h.kill(t)
		stop()
		wg.Wait()
		h = serve()
		if t.Failed() {
			t.Fatalf("stopping after round %d; hub log:\n%s", round+1, h.logs)
		}
	}

	// Every transfer ends, by its payee's answer or its expiry, and every
	// message the hub owes for it arrives.
	states := map[string]string{}
	deadline := time.Now().Add(60 * time.Second)
	var missing []string
	for {
		missing = missing[:0]
		for _, tr := range sent {
			state, ok := states[tr.id]
			if !ok || state == "RESERVED" {
				var got struct{ State string }
				code, err := call(ctx, "GET", h.base+"/admin/v1/transfers/"+tr.id, nil, &got)
				switch {
				case err != nil:
					t.Fatalf("GET transfer %s: %v", tr.id, err)
				case code == http.StatusNotFound:
					state = ""
				case code == http.StatusOK:
					state = got.State
				default:
					t.Fatalf("GET transfer %s: status %d", tr.id, code)
				}
				states[tr.id] = state
			}
			payer, payee := fsps[tr.payer], fsps[tr.payee]
			switch {
			case state == "" && tr.answered:
				missing = append(missing, tr.id+": answered 202, unknown to the hub")
			case state == "":
				// Never reached the ledger: nobody is owed anything.
			case state == "RESERVED":
				missing = append(missing, tr.id+": still reserved")
			case tr.answered && payee.count(payee.prepares, tr.id) == 0 && payer.count(payer.errors, tr.id) == 0:
				missing = append(missing, tr.id+": answered 202, neither at the payee nor an error to the payer")
			case state == "COMMITTED" && payer.count(payer.commits, tr.id) == 0:
				missing = append(missing, tr.id+": committed, the payer was not told")
			case state != "COMMITTED" && payer.count(payer.errors, tr.id) == 0:
				missing = append(missing, tr.id+": "+state+", the payer was not told")
			}
		}
		if len(missing) == 0 || time.Now().After(deadline) {
			break
		}
		time.Sleep(500 * time.Millisecond)
	}
	for i, m := range missing {
		if i == 20 {
			t.Errorf("... and %d more", len(missing)-20)
			break
		}
		t.Error(m)
	}

	counts := map[string]int{}
	answered, dupes := 0, 0
	for _, tr := range sent {
		counts[states[tr.id]]++
		if tr.answered {
			answered++
		}
		if n := fsps[tr.payee].count(fsps[tr.payee].prepares, tr.id); n > 1 {
			dupes += n - 1
		}
	}
	h.cmd.Process.Signal(syscall.SIGTERM)
	if err := h.cmd.Wait(); err != nil {
		t.Fatalf("hutong did not stop cleanly: %v\n%s", err, h.logs)
	}
	out, err := exec.Command(bin, "verify", "--data", dir).CombinedOutput()
	if err != nil || !bytes.Contains(out, []byte("OK")) {
		t.Fatalf("verify: %v\n%s", err, out)
	}
	t.Logf("seed %d, %d kills: %d transfers sent, %d answered 202, %d unknown to the hub, %d committed, %d aborted, %d expired; %d transfers forwarded twice to their payee; %s",
		seed, *outboxRounds, len(sent), answered, counts[""], counts["COMMITTED"], counts["ABORTED"], counts["EXPIRED"], dupes, bytes.TrimSpace(out))
	if counts["COMMITTED"] == 0 || counts["ABORTED"]+counts["EXPIRED"] == 0 {
		t.Errorf("the load committed %d and aborted or expired %d transfers; want some of each", counts["COMMITTED"], counts["ABORTED"]+counts["EXPIRED"])
	}
}
