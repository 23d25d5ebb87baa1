package hub_test

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/hutong/hutong/fspiop"
)

// rawHead sends the request line and headers of method path with a
// Content-Length of n and no body yet, on a connection of its own, and
// returns the connection with a reader of the answers.
func rawHead(t *testing.T, e *env, method, path string, n int) (net.Conn, *bufio.Reader) {
	t.Helper()
	c, err := net.Dial("tcp", strings.TrimPrefix(e.h.APIURL, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	resource, _, _ := strings.Cut(strings.TrimPrefix(path, "/"), "/")
	mt := fspiop.MediaType(resource, fspiop.Version{Major: 1, Minor: 1})
	fmt.Fprintf(c, "%s %s HTTP/1.1\r\nHost: hub\r\nContent-Type: %s\r\nAccept: %s\r\nDate: %s\r\nFSPIOP-Source: bl-fsp\r\nContent-Length: %d\r\n\r\n",
		method, path, mt, mt, time.Now().UTC().Format(http.TimeFormat), n)
	c.SetDeadline(time.Now().Add(20 * time.Second))
	return c, bufio.NewReader(c)
}

// TestBodyLimitBeforeReading: a body longer than its route takes is
// refused from its Content-Length, before it is read, as it was before the
// API moved to fasthttp: the hub does not buffer 4 MiB (the batch limit)
// for a POST /transfers of at most 128 KiB.
func TestBodyLimitBeforeReading(t *testing.T) {
	e := newEnv(t)
	e.onboard("bl-fsp", "100", "100", closedURL(t))
	for _, path := range []string{"/transfers", "/quotes", "/parties/MSISDN/123"} {
		method := http.MethodPost
		if strings.HasPrefix(path, "/parties") {
			method = http.MethodPut
		}
		t.Run(method+" "+path, func(t *testing.T) {
			_, br := rawHead(t, e, method, path, 1<<20)
			resp, err := http.ReadResponse(br, nil)
			if err != nil {
				t.Fatalf("no answer before the body was sent: %v", err)
			}
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != http.StatusRequestEntityTooLarge || !strings.Contains(string(b), `"3104"`) ||
				!strings.Contains(string(b), fmt.Sprint(fspiop.DefaultMaxBody)) {
				t.Errorf("answer %d %s, want 413 with 3104 naming the limit %d", resp.StatusCode, b, fspiop.DefaultMaxBody)
			}
		})
	}
	// The batch route takes more than the others.
	body := strings.Repeat(" ", 2*fspiop.DefaultMaxBody) + "{}"
	c, br := rawHead(t, e, http.MethodPost, "/participants", len(body))
	io.WriteString(c, body)
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode == http.StatusRequestEntityTooLarge {
		t.Errorf("POST /participants of %d bytes answered 413, want it read (limit %d)", len(body), fspiop.MaxBatchBody)
	}
	e.finish(nil)
}
