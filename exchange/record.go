package exchange

import (
	"encoding/binary"
	"fmt"
	"time"

	"github.com/hutong/hutong/store"
)

// recordVersion is the first byte of every record; see the package
// comment for the rest.
const recordVersion = 1

func (x *Record) encode() []byte {
	n := 64 + len(x.Requester) + len(x.Responder) + len(x.Body)
	for k, vs := range x.Header {
		n += len(k) + 8
		for _, v := range vs {
			n += len(v) + 4
		}
	}
	b := make([]byte, 0, n)
	b = append(b, recordVersion)
	b = appendString(b, x.Requester)
	b = appendString(b, x.Responder)
	b = append(b, x.Fingerprint[:]...)
	b = append(b, byte(x.State))
	b = binary.AppendVarint(b, x.Made.UnixNano())
	b = binary.AppendUvarint(b, uint64(len(x.Header)))
	for k, vs := range x.Header {
		b = appendString(b, k)
		b = binary.AppendUvarint(b, uint64(len(vs)))
		for _, v := range vs {
			b = appendString(b, v)
		}
	}
	b = binary.AppendUvarint(b, uint64(len(x.Body)))
	return append(b, x.Body...)
}

func appendString(b []byte, s string) []byte {
	b = binary.AppendUvarint(b, uint64(len(s)))
	return append(b, s...)
}

// errCorrupt is what decode returns for a value it cannot read.
var errCorrupt = fmt.Errorf("exchange: %w", store.ErrCorrupt)

// decode reads a record; the record holds no reference to b.
func decode(b []byte) (*Record, error) {
	if len(b) == 0 || b[0] != recordVersion {
		return nil, errCorrupt
	}
	d := decoder{b: b[1:]}
	x := &Record{Requester: d.string(), Responder: d.string()}
	if d.bad || len(d.b) < 33 {
		return nil, errCorrupt
	}
	copy(x.Fingerprint[:], d.b)
	x.State = State(d.b[32])
	d.b = d.b[33:]
	if x.State > Failed {
		return nil, errCorrupt
	}
	ns, k := binary.Varint(d.b)
	if k <= 0 {
		return nil, errCorrupt
	}
	d.b = d.b[k:]
	x.Made = time.Unix(0, ns).UTC()
	if nh := d.count(); nh > 0 && !d.bad {
		x.Header = make(map[string][]string, nh)
		for range nh {
			name := d.string()
			nv := d.count()
			if d.bad {
				break
			}
			vs := make([]string, 0, nv)
			for range nv {
				vs = append(vs, d.string())
			}
			x.Header[name] = vs
		}
	}
	if body := d.bytes(); len(body) > 0 {
		x.Body = append([]byte(nil), body...)
	}
	if d.bad || len(d.b) != 0 {
		return nil, errCorrupt
	}
	return x, nil
}

// decoder reads a record's fields; bad is set, and stays set, at the first
// that does not fit.
type decoder struct {
	b   []byte
	bad bool
}

func (d *decoder) bytes() []byte {
	n, k := binary.Uvarint(d.b)
	if k <= 0 || n > uint64(len(d.b)-k) {
		d.bad = true
		return nil
	}
	s := d.b[k : k+int(n)]
	d.b = d.b[k+int(n):]
	return s
}

func (d *decoder) string() string { return string(d.bytes()) }

// count reads a number of items that follow, each at least one byte.
func (d *decoder) count() int {
	n, k := binary.Uvarint(d.b)
	if k <= 0 || n > uint64(len(d.b)) {
		d.bad = true
		return 0
	}
	d.b = d.b[k:]
	return int(n)
}
