package fspiop

import (
	"mime"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/valyala/fasthttp"
)

// Version is an API resource version, major.minor.
type Version struct{ Major, Minor int }

func (v Version) String() string { return strconv.Itoa(v.Major) + "." + strconv.Itoa(v.Minor) }

// Supported are the resource versions the hub speaks, oldest first. A
// version 1.0 client is served in 1.0; 1.1 adds PATCH /transfers/{ID}.
var Supported = []Version{{1, 0}, {1, 1}}

// Latest is the newest supported version, used in the hub's own callbacks
// when the request did not say otherwise.
var Latest = Supported[len(Supported)-1]

func supported(v Version) bool {
	for _, s := range Supported {
		if s == v {
			return true
		}
	}
	return false
}

// MediaType is the FSPIOP content type of resource in version v.
func MediaType(resource string, v Version) string {
	return "application/vnd.interoperability." + resource + "+json;version=" + v.String()
}

// unacceptable is the 406 answer: error 3001 with the supported versions
// in the extension list, major as key and minor as value.
func unacceptable(format string, args ...any) *Error {
	e := newError(http.StatusNotAcceptable, "3001", format, args...)
	for _, v := range Supported {
		e.Extensions = append(e.Extensions, Extension{Key: strconv.Itoa(v.Major), Value: strconv.Itoa(v.Minor)})
	}
	return e
}

// parseVersion reads "1" or "1.1". minor is -1 when only the major is given.
func parseVersion(s string) (major, minor int, ok bool) {
	maj, min, dot := strings.Cut(s, ".")
	major, err := strconv.Atoi(maj)
	if err != nil || major < 0 || len(maj) > 3 {
		return 0, 0, false
	}
	if !dot {
		return major, -1, true
	}
	minor, err = strconv.Atoi(min)
	if err != nil || minor < 0 || len(min) > 3 {
		return 0, 0, false
	}
	return major, minor, true
}

// contentType checks a request's Content-Type: the resource's FSPIOP media
// type with a supported version.
func contentType(h string, resource string) (Version, *Error) {
	if h == "" {
		return Version{}, missing("Content-Type header")
	}
	if v, ok := exactType(h, resource); ok {
		return v, nil
	}
	mt, params, err := mime.ParseMediaType(h)
	if err != nil {
		return Version{}, badRequest("3101", "Content-Type %q is not a media type", h)
	}
	if want := "application/vnd.interoperability." + strings.ToLower(resource) + "+json"; mt != want {
		return Version{}, badRequest("3101", "Content-Type must be %s;version=%s, not %q", want, Latest, mt)
	}
	vs, ok := params["version"]
	if !ok {
		return Version{}, badRequest("3102", "Content-Type has no version parameter")
	}
	major, minor, ok := parseVersion(vs)
	if !ok || minor < 0 {
		return Version{}, badRequest("3101", "Content-Type version %q is not major.minor", vs)
	}
	v := Version{major, minor}
	if !supported(v) {
		return Version{}, unacceptable("content version %s is not supported", vs)
	}
	return v, nil
}

// accept negotiates the version of the hub's callbacks from a request's
// Accept header: the newest supported version any of its media ranges
// allows. A range with no version allows any; "version=1" any 1.x.
func accept(h string, resource string) (Version, *Error) {
	if h == "" {
		return Version{}, missing("Accept header")
	}
	if v, ok := exactType(h, resource); ok {
		return v, nil
	}
	want := "application/vnd.interoperability." + strings.ToLower(resource) + "+json"
	best, found, matched := Version{}, false, false
	for _, part := range strings.Split(h, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		mt, params, err := mime.ParseMediaType(part)
		if err != nil || mt != want {
			continue
		}
		matched = true
		major, minor, any := -1, -1, true
		if vs, ok := params["version"]; ok {
			var ok2 bool
			major, minor, ok2 = parseVersion(vs)
			if !ok2 {
				continue
			}
			any = false
		}
		for _, v := range Supported {
			if any || (v.Major == major && (minor < 0 || v.Minor == minor)) {
				if !found || v.Major > best.Major || (v.Major == best.Major && v.Minor > best.Minor) {
					best, found = v, true
				}
			}
		}
	}
	if !matched {
		return Version{}, badRequest("3101", "Accept must name %s", want)
	}
	if !found {
		return Version{}, unacceptable("no version in Accept is supported")
	}
	return best, nil
}

// exactTypes are the media types connectors send, spelled as
// MediaType spells them, for a check without parsing.
var exactTypes = func() map[string]Version {
	m := make(map[string]Version)
	for _, r := range []string{"parties", "participants", "quotes", "transfers", "transactionRequests"} {
		for _, v := range Supported {
			m[MediaType(r, v)] = v
		}
	}
	return m
}()

// exactType reports the version of h when it is exactly the media type of
// resource in a supported version.
func exactType(h, resource string) (Version, bool) {
	v, ok := exactTypes[h]
	if !ok {
		return Version{}, false
	}
	// The map holds every resource; h must be this one's.
	const prefix = "application/vnd.interoperability."
	if len(h) < len(prefix)+len(resource) || h[len(prefix):len(prefix)+len(resource)] != resource || h[len(prefix)+len(resource)] != '+' {
		return Version{}, false
	}
	return v, true
}

// dateHeader checks the Date header: present and an HTTP date.
func dateHeader(h string) *Error {
	if h == "" {
		return missing("Date header")
	}
	if _, err := http.ParseTime(h); err != nil {
		return badRequest("3101", "Date %q is not an HTTP date (RFC 7231)", h)
	}
	return nil
}

// Headers passed through unchanged from a participant's message to the one
// the hub sends on.
var passThrough = []string{
	"Content-Type", "Accept", "Date", "X-Forwarded-For",
	"FSPIOP-Source", "FSPIOP-Destination", "FSPIOP-Encryption",
	"FSPIOP-Signature", "FSPIOP-URI", "FSPIOP-HTTP-Method",
	"Traceparent", "Tracestate",
}

// passThroughKeys maps the lower-case name of each pass-through header to
// its canonical form.
var passThroughKeys = func() map[string]string {
	keys := make(map[string]string, len(passThrough))
	for _, k := range passThrough {
		keys[strings.ToLower(k)] = http.CanonicalHeaderKey(k)
	}
	return keys
}()

// forwardHeader copies the pass-through headers of h, every value of each.
func forwardHeader(h *fasthttp.RequestHeader) http.Header {
	out := make(http.Header, len(passThrough))
	var lower [32]byte
	for k, v := range h.All() {
		if len(k) > len(lower) {
			continue
		}
		for i, b := range k {
			if 'A' <= b && b <= 'Z' {
				b += 'a' - 'A'
			}
			lower[i] = b
		}
		if canon, ok := passThroughKeys[string(lower[:len(k)])]; ok {
			out[canon] = append(out[canon], string(v))
		}
	}
	return out
}

// DateTime formats t as the specification's DateTime, in UTC with
// milliseconds.
func DateTime(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.000Z") }
