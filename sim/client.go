package sim

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/valyala/fasthttp"
)

var (
	sharedClientOnce sync.Once
	sharedClient     *fasthttp.Client
)

// SharedClient returns the client FSPs send with when Config.Client is
// nil, one for the whole process, made by NewClient.
func SharedClient() *fasthttp.Client {
	sharedClientOnce.Do(func() { sharedClient = NewClient() })
	return sharedClient
}

// NewClient returns a new client with the settings of SharedClient:
// keep-alive connections, up to 256 per host (a request waits up to 30 s
// for one to be free), closed after 90 s idle; 5 s to dial, 30 s to write a
// request and 30 s to read its answer, of at most 1 MiB; paths sent as
// built, no User-Agent. Only a GET that failed for another reason than a
// timeout is tried again: a POST, PUT or PATCH may have reached the hub.
func NewClient() *fasthttp.Client {
	return &fasthttp.Client{
		NoDefaultUserAgentHeader: true,
		MaxConnsPerHost:          256,
		MaxConnWaitTimeout:       30 * time.Second,
		MaxIdleConnDuration:      90 * time.Second,
		ReadTimeout:              30 * time.Second,
		WriteTimeout:             30 * time.Second,
		MaxResponseBodySize:      1 << 20,
		DialTimeout:              dial,
		RetryIfErr:               retryIfErr,
		// Segments are escaped by partyPath and the like; fasthttp's
		// normalizing would unescape %2F.
		DisablePathNormalizing: true,
	}
}

// dialTimeout bounds dialing the hub, whatever the request's own deadline.
const dialTimeout = 5 * time.Second

func dial(addr string, timeout time.Duration) (net.Conn, error) {
	if timeout <= 0 || timeout > dialTimeout {
		timeout = dialTimeout
	}
	d := net.Dialer{Timeout: timeout, KeepAlive: 30 * time.Second}
	return d.Dial("tcp", addr)
}

// retryIfErr tries a GET again after an error that is not a timeout: a
// lookup sent twice is answered twice, which is harmless; anything else
// sent twice could be taken twice.
func retryIfErr(req *fasthttp.Request, attempts int, err error) (resetTimeout, retry bool) {
	if !req.Header.IsGet() {
		return false, false
	}
	if t, ok := err.(interface{ Timeout() bool }); ok && t.Timeout() {
		return false, false
	}
	return false, true
}

// contentTypes holds the media type of each resource.
var contentTypes = func() map[string]string {
	m := make(map[string]string)
	for _, r := range []string{"participants", "parties", "quotes", "transfers", "transactionRequests"} {
		m[r] = "application/vnd.interoperability." + r + "+json;version=1.1"
	}
	return m
}()

// send sends method path (under the hub's URL) with body, FSPIOP-Source set
// to the FSP and FSPIOP-Destination to dest when not empty. It expects 202
// for GET and POST, 200 for PUT and PATCH, and returns an *Error wrapping
// ErrRefused otherwise; when ctx has ended, before or while sending, the
// *Error wraps ctx's error too. The request is sent with ctx's deadline, if
// it has one.
func (f *FSP) send(ctx context.Context, phase Phase, method, resource, path, dest string, body []byte) error {
	if err := ctx.Err(); err != nil {
		return &Error{Phase: phase, Err: fmt.Errorf("%w: %w", ErrRefused, err)}
	}
	req := fasthttp.AcquireRequest()
	resp := fasthttp.AcquireResponse()
	defer func() {
		fasthttp.ReleaseRequest(req)
		fasthttp.ReleaseResponse(resp)
	}()
	req.Header.SetMethod(method)
	req.SetRequestURI(f.hub + path)
	ct := contentTypes[resource]
	req.Header.SetContentType(ct)
	request := method == http.MethodGet || method == http.MethodPost
	if request {
		req.Header.Set("Accept", ct)
	}
	req.Header.Set("Date", f.date())
	req.Header.Set("FSPIOP-Source", f.id)
	if dest != "" {
		req.Header.Set("FSPIOP-Destination", dest)
	}
	if body != nil {
		// body is not changed until req is released.
		req.SetBodyRaw(body)
	}
	f.stats.sent.Add(1)
	var err error
	if deadline, ok := ctx.Deadline(); ok {
		err = f.client.DoDeadline(req, resp, deadline)
	} else {
		err = f.client.Do(req, resp)
	}
	if err != nil {
		f.stats.sendFailures.Add(1)
		e := &Error{Phase: phase, Description: err.Error(), Err: ErrRefused}
		if cerr := ctx.Err(); cerr != nil {
			e.Err = fmt.Errorf("%w: %w", ErrRefused, cerr)
		}
		return e
	}
	want := http.StatusOK
	if request {
		want = http.StatusAccepted
	}
	status := resp.StatusCode()
	if status == want {
		return nil
	}
	f.stats.sendFailures.Add(1)
	data := resp.Body()
	e := &Error{Phase: phase, Status: status, Err: ErrRefused}
	var eb errorBody
	if json.Unmarshal(data, &eb) == nil && eb.ErrorInformation != nil {
		e.Code, e.Description = eb.ErrorInformation.ErrorCode, eb.ErrorInformation.ErrorDescription
	} else {
		e.Description = fmt.Sprintf("%s %s: %.200s", method, path, strings.TrimSpace(string(data)))
	}
	return e
}
