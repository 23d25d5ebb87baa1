package sim

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/valyala/fasthttp"
)

// fakeHub is a test stand-in for the hub's FSPIOP server: it keeps the
// aliases FSPs register, routes GET /parties to the alias's owner and
// everything else by FSPIOP-Destination, and turns a payee's RESERVED into
// a COMMITTED callback to the payer plus a commit notification (PATCH) to
// the payee.
type fakeHub struct {
	t   testing.TB
	srv *httptest.Server

	wg sync.WaitGroup

	mu         sync.Mutex // guards the fields below
	fsps       map[string]string
	owners     map[Party]string
	refuseRegs string // errorCode to refuse registrations with, if set
	patchState string // state of commit notifications: COMMITTED (default) or ABORTED
	puts       []forwarded
	failures   []string // forwards the receiving FSP did not accept
}

// forwarded is a PUT /transfers/{ID} the hub received.
type forwarded struct {
	Source string
	Body   transfersPut
}

func newFakeHub(t *testing.T) *fakeHub { return newFakeHubB(t) }

func newFakeHubB(t testing.TB) *fakeHub {
	h := &fakeHub{t: t, fsps: map[string]string{}, owners: map[Party]string{}, patchState: "COMMITTED"}
	h.srv = httptest.NewServer(http.HandlerFunc(h.serve))
	t.Cleanup(func() {
		h.wg.Wait()
		h.srv.Close()
	})
	return h
}

func (h *fakeHub) add(f *FSP) {
	h.mu.Lock()
	h.fsps[f.ID()] = f.URL()
	h.mu.Unlock()
}

func (h *fakeHub) setOwner(p Party, fsp string) {
	h.mu.Lock()
	h.owners[p] = fsp
	h.mu.Unlock()
}

func (h *fakeHub) transferPuts() []forwarded {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]forwarded(nil), h.puts...)
}

func (h *fakeHub) forwardFailures() []string {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]string(nil), h.failures...)
}

func resourceOf(path string) string {
	s := strings.TrimPrefix(path, "/")
	r, _, _ := strings.Cut(s, "/")
	return r
}

// send sends a request from the hub (or forwards one) to FSP dest, in the
// background.
func (h *fakeHub) send(method, path, source, dest string, header http.Header, body []byte) {
	h.mu.Lock()
	base := h.fsps[dest]
	h.mu.Unlock()
	if base == "" {
		h.t.Errorf("fake hub: no FSP %q for %s %s", dest, method, path)
		return
	}
	h.wg.Add(1)
	go func() {
		defer h.wg.Done()
		req, resp := fasthttp.AcquireRequest(), fasthttp.AcquireResponse()
		defer func() {
			fasthttp.ReleaseRequest(req)
			fasthttp.ReleaseResponse(resp)
		}()
		req.Header.SetMethod(method)
		req.SetRequestURI(base + path)
		if header != nil {
			for k, vs := range header {
				for _, v := range vs {
					req.Header.Add(k, v)
				}
			}
		} else {
			ct := "application/vnd.interoperability." + resourceOf(path) + "+json;version=1.1"
			req.Header.SetContentType(ct)
			if method == http.MethodGet || method == http.MethodPost {
				req.Header.Set("Accept", ct)
			}
			req.Header.Set("Date", time.Now().UTC().Format(http.TimeFormat))
			req.Header.Set("FSPIOP-Source", source)
		}
		req.Header.Set("FSPIOP-Destination", dest)
		req.SetBody(body)
		if err := SharedClient().Do(req, resp); err != nil {
			h.t.Errorf("fake hub: %s %s to %s: %v", method, path, dest, err)
			return
		}
		if resp.StatusCode()/100 != 2 {
			h.mu.Lock()
			h.failures = append(h.failures, fmt.Sprintf("%s %s: %d %s", method, path, resp.StatusCode(), resp.Body()))
			h.mu.Unlock()
		}
	}()
}

func (h *fakeHub) serve(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	src := r.Header.Get("FSPIOP-Source")
	dest := r.Header.Get("FSPIOP-Destination")
	segs := strings.Split(strings.TrimPrefix(r.URL.Path, "/"), "/")
	ok := http.StatusOK
	if r.Method == http.MethodGet || r.Method == http.MethodPost {
		ok = http.StatusAccepted
	}
	w.WriteHeader(ok)

	h.mu.Lock()
	refuse, patchState := h.refuseRegs, h.patchState
	h.mu.Unlock()
	switch {
	case segs[0] == "participants" && r.Method == http.MethodPost && len(segs) == 1:
		var req participantsBatchPost
		json.Unmarshal(body, &req)
		put := participantsBatchPut{Currency: req.Currency}
		for _, pi := range req.PartyList {
			res := partyResult{PartyID: pi}
			if refuse != "" {
				res.ErrorInformation = &ErrorInformation{ErrorCode: refuse, ErrorDescription: "refused"}
			} else {
				h.setOwner(partyOf(&pi), src)
			}
			put.PartyList = append(put.PartyList, res)
		}
		b, _ := json.Marshal(put)
		h.send(http.MethodPut, "/participants/"+req.RequestID, "hub", src, nil, b)
	case segs[0] == "participants" && r.Method == http.MethodPost:
		p := Party{Type: segs[1], ID: segs[2]}
		if len(segs) > 3 {
			p.SubID = segs[3]
		}
		if refuse != "" {
			h.send(http.MethodPut, r.URL.Path+"/error", "hub", src, nil, appendErrorBody(nil, refuse, "refused"))
			return
		}
		h.setOwner(p, src)
		h.send(http.MethodPut, r.URL.Path, "hub", src, nil, []byte(`{"fspId":"`+src+`"}`))
	case segs[0] == "parties" && r.Method == http.MethodGet:
		p := Party{Type: segs[1], ID: segs[2]}
		if len(segs) > 3 {
			p.SubID = segs[3]
		}
		h.mu.Lock()
		owner := h.owners[p]
		h.mu.Unlock()
		if owner == "" {
			h.send(http.MethodPut, r.URL.Path+"/error", "hub", src, nil, appendErrorBody(nil, "3204", "Party not found"))
			return
		}
		h.send(r.Method, r.URL.Path, src, owner, r.Header, body)
	case segs[0] == "transfers" && r.Method == http.MethodPut && len(segs) == 2:
		var put transfersPut
		json.Unmarshal(body, &put)
		h.mu.Lock()
		h.puts = append(h.puts, forwarded{Source: src, Body: put})
		h.mu.Unlock()
		if put.TransferState != "RESERVED" {
			h.send(r.Method, r.URL.Path, src, dest, r.Header, body)
			return
		}
		patch := []byte(`{"completedTimestamp":"` + formatDateTime(time.Now()) + `","transferState":"` + patchState + `"}`)
		h.send(http.MethodPatch, r.URL.Path, "hub", src, nil, patch)
		if patchState == "COMMITTED" {
			put.TransferState = "COMMITTED"
			b, _ := json.Marshal(put)
			h.send(r.Method, r.URL.Path, src, dest, r.Header, b)
		} else {
			h.send(r.Method, r.URL.Path+"/error", "hub", dest, nil, appendErrorBody(nil, "2004", "aborted"))
		}
	default:
		h.send(r.Method, r.URL.Path, src, dest, r.Header, body)
	}
}
