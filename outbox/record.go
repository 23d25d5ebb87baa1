package outbox

import (
	"encoding/binary"
	"fmt"
	"net/http"
	"slices"

	"github.com/hutong/hutong/callback"
	"github.com/hutong/hutong/store"
)

// version is the record format this package writes and reads.
const version = 1

// Append appends r's record to b and returns the result. Done is not kept.
func Append(b []byte, r *callback.Request) []byte {
	strs := [...]string{r.To, string(r.Kind), r.Method, r.Path,
		r.Vars.ID, r.Vars.PartyIDType, r.Vars.PartyIdentifier, r.Vars.PartySubIDOrType}
	// In name order, so that a request always has the same record.
	var keysBuf [24]string
	keys := keysBuf[:0]
	size := 2 + len(r.Body) + binary.MaxVarintLen64*(len(strs)+2)
	for k, vs := range r.Header {
		keys = append(keys, k)
		size += len(k) + binary.MaxVarintLen64*(2+len(vs))
		for _, v := range vs {
			size += len(v)
		}
	}
	slices.Sort(keys)
	for _, s := range strs {
		size += len(s)
	}
	b = slices.Grow(b, size)
	b = append(b, version)
	for _, s := range strs {
		b = appendString(b, s)
	}
	b = binary.AppendUvarint(b, uint64(len(keys)))
	for _, k := range keys {
		vs := r.Header[k]
		b = appendString(b, k)
		b = binary.AppendUvarint(b, uint64(len(vs)))
		for _, v := range vs {
			b = appendString(b, v)
		}
	}
	if r.Body == nil {
		return append(b, 0)
	}
	b = append(b, 1)
	b = binary.AppendUvarint(b, uint64(len(r.Body)))
	return append(b, r.Body...)
}

func appendString(b []byte, s string) []byte {
	b = binary.AppendUvarint(b, uint64(len(s)))
	return append(b, s...)
}

// Decode reads a record made by Append. It returns an error wrapping
// store.ErrCorrupt for anything else.
func Decode(b []byte) (*callback.Request, error) {
	d := decoder{b: b}
	if v := d.byte(); v != version && d.err == nil {
		return nil, fmt.Errorf("%w: outbox record of version %d, want %d", store.ErrCorrupt, v, version)
	}
	r := &callback.Request{}
	var kind string
	for _, p := range [...]*string{&r.To, &kind, &r.Method, &r.Path,
		&r.Vars.ID, &r.Vars.PartyIDType, &r.Vars.PartyIdentifier, &r.Vars.PartySubIDOrType} {
		*p = d.string()
	}
	r.Kind = callback.Kind(kind)
	n := d.count()
	if n > 0 {
		r.Header = make(http.Header, n)
	}
	for range n {
		k := d.string()
		m := d.count()
		vs := make([]string, 0, m)
		for range m {
			vs = append(vs, d.string())
		}
		if _, dup := r.Header[k]; dup && d.err == nil {
			d.err = fmt.Errorf("header %q twice", k)
		}
		r.Header[k] = vs
	}
	switch d.byte() {
	case 0:
	case 1:
		r.Body = []byte(d.string())
	default:
		if d.err == nil {
			d.err = fmt.Errorf("bad body marker")
		}
	}
	if d.err == nil && len(d.b) > 0 {
		d.err = fmt.Errorf("%d bytes after the body", len(d.b))
	}
	if d.err != nil {
		return nil, fmt.Errorf("%w: outbox record: %v", store.ErrCorrupt, d.err)
	}
	return r, nil
}

// decoder reads a record, remembering the first error.
type decoder struct {
	b   []byte
	err error
}

func (d *decoder) byte() byte {
	if d.err != nil {
		return 0
	}
	if len(d.b) == 0 {
		d.err = fmt.Errorf("truncated")
		return 0
	}
	c := d.b[0]
	d.b = d.b[1:]
	return c
}

func (d *decoder) uvarint() uint64 {
	if d.err != nil {
		return 0
	}
	v, n := binary.Uvarint(d.b)
	if n <= 0 {
		d.err = fmt.Errorf("bad length")
		return 0
	}
	d.b = d.b[n:]
	return v
}

// count reads a count of items of at least a byte each: a damaged count
// larger than the bytes left is corrupt, so Decode never allocates beyond
// the record's own size.
func (d *decoder) count() int {
	v := d.uvarint()
	if v > uint64(len(d.b)) {
		if d.err == nil {
			d.err = fmt.Errorf("count %d with %d bytes left", v, len(d.b))
		}
		return 0
	}
	return int(v)
}

func (d *decoder) string() string {
	n := d.uvarint()
	if d.err != nil {
		return ""
	}
	if n > uint64(len(d.b)) {
		d.err = fmt.Errorf("string of %d bytes, %d left", n, len(d.b))
		return ""
	}
	s := string(d.b[:n])
	d.b = d.b[n:]
	return s
}
