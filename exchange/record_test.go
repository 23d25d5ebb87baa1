package exchange

import (
	"errors"
	"reflect"
	"testing"
	"time"

	"github.com/hutong/hutong/store"
)

func TestRecordCodec(t *testing.T) {
	for _, x := range []*Record{
		{Requester: "a", Responder: "b", Made: time.Unix(1, 2).UTC()},
		{Requester: "payer-1", Responder: "payee.2", Fingerprint: [32]byte{1, 2, 3}, State: Answered,
			Made:   time.Date(2026, 11, 22, 1, 2, 3, 4000, time.UTC),
			Header: map[string][]string{"Content-Type": {"x"}, "Fspiop-Signature": {"sig", "two"}},
			Body:   []byte(`{"transferAmount":{"amount":"1","currency":"USD"}}`)},
		{Requester: "p", Responder: "q", State: Failed, Made: time.Unix(-1, 0).UTC(), Header: map[string][]string{"Empty": {}}, Body: []byte{0}},
	} {
		b := x.encode()
		got, err := decode(b)
		if err != nil {
			t.Fatalf("decode: %v", err)
		}
		if !reflect.DeepEqual(got, x) {
			t.Errorf("round trip\n got %+v\nwant %+v", got, x)
		}
		for i := range b {
			if _, err := decode(b[:i]); !errors.Is(err, store.ErrCorrupt) {
				t.Errorf("decoding %d of %d bytes: %v, want %v", i, len(b), err, store.ErrCorrupt)
			}
		}
		if _, err := decode(append(b, 0)); !errors.Is(err, store.ErrCorrupt) {
			t.Errorf("decoding with a byte too many: %v, want %v", err, store.ErrCorrupt)
		}
	}
}

// TestRecordFormat holds the stored format to the package comment: records
// written before stay readable.
func TestRecordFormat(t *testing.T) {
	x := &Record{Requester: "ab", Responder: "c", Fingerprint: [32]byte{31: 9}, State: Answered, Made: time.Unix(0, 3).UTC(),
		Header: map[string][]string{"K": {"v"}}, Body: []byte("xy")}
	want := []byte{1, 2, 'a', 'b', 1, 'c'}
	want = append(want, x.Fingerprint[:]...)
	want = append(want, 1 /* answered */, 6 /* zigzag varint of 3 */, 1, 1, 'K', 1, 1, 'v', 2, 'x', 'y')
	if got := x.encode(); !reflect.DeepEqual(got, want) {
		t.Errorf("encode =\n %v\nwant\n %v", got, want)
	}
	// A state this version does not know is corrupt.
	bad := append([]byte(nil), want...)
	bad[6+32] = 3
	if _, err := decode(bad); !errors.Is(err, store.ErrCorrupt) {
		t.Errorf("state 3: %v, want %v", err, store.ErrCorrupt)
	}
}

func TestIndexKey(t *testing.T) {
	k := indexKey(time.Unix(0, 0x0102030405060708), "tr/x")
	if want := "qx/\x01\x02\x03\x04\x05\x06\x07\x08tr/x"; string(k) != want {
		t.Errorf("indexKey = %q, want %q", k, want)
	}
	made, key, ok := indexEntry(k)
	if !ok || made != 0x0102030405060708 || string(key) != "tr/x" {
		t.Errorf("indexEntry = %d, %q, %v", made, key, ok)
	}
	if _, _, ok := indexEntry([]byte("qx/short")); ok {
		t.Error("indexEntry of a short key: ok")
	}
}

func TestLockAll(t *testing.T) {
	l := newLocks()
	keys := []string{"a", "b", "c", "a"}
	unlock := l.lockAll(keys)
	for _, k := range keys {
		if m := &l.mu[l.index(k)]; m.TryLock() {
			t.Errorf("lock of %q free while lockAll holds it", k)
			m.Unlock()
		}
	}
	unlock()
	for _, k := range keys {
		l.lock(k)()
	}
}

func TestPendingCache(t *testing.T) {
	c := pendingCache{max: 2}
	a, b, d := &Record{Requester: "a"}, &Record{Requester: "b"}, &Record{Requester: "d"}
	c.put("a", a)
	c.put("b", b)
	if c.len() != 2 {
		t.Fatalf("len = %d, want 2", c.len())
	}
	c.put("d", d) // full: emptied first
	if c.len() != 1 || c.take("a") != nil || c.take("d") != d || c.take("d") != nil {
		t.Error("a full cache was not emptied before the next put, or take did not remove")
	}
}
