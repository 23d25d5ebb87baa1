package outbox_test

import (
	"bytes"
	"context"
	"errors"
	"net/http"
	"reflect"
	"sync"
	"testing"
	"time"

	"github.com/hutong/hutong/callback"
	"github.com/hutong/hutong/journal"
	"github.com/hutong/hutong/ledger"
	"github.com/hutong/hutong/outbox"
	"github.com/hutong/hutong/store"
	"github.com/hutong/hutong/store/pebble"
)

func request(n int) *callback.Request {
	return &callback.Request{To: "dfsp2", Kind: callback.TransferPost, Method: http.MethodPost, Path: "/transfers",
		Vars:   callback.Vars{ID: "id-" + string(rune('a'+n))},
		Header: http.Header{"Content-Type": {"application/vnd.interoperability.transfers+json;version=1.1"}, "Fspiop-Source": {"dfsp1"}},
		Body:   []byte(`{"transferId":"` + string(rune('a'+n)) + `"}`)}
}

// sender records what it is handed and, when it is handed it, whether the
// store already held it.
type sender struct {
	t  *testing.T
	st store.Store

	mu   sync.Mutex
	got  []*callback.Request
	kept []bool
}

func (s *sender) Send(r *callback.Request) {
	held := false
	if s.st != nil {
		err := s.st.Owed(context.Background(), func(_ uint64, v []byte) error {
			if bytes.Equal(v, outbox.Append(nil, r)) {
				held = true
			}
			return nil
		})
		if err != nil {
			s.t.Errorf("Owed: %v", err)
		}
	}
	s.mu.Lock()
	s.got = append(s.got, r)
	s.kept = append(s.kept, held)
	s.mu.Unlock()
}

func (s *sender) deliverAll() {
	s.mu.Lock()
	got := s.got
	s.got, s.kept = nil, nil
	s.mu.Unlock()
	for _, r := range got {
		r.Done()
	}
}

func openStore(t *testing.T, dir string) *pebble.Store {
	t.Helper()
	st, err := pebble.Open(dir, pebble.Options{CacheSize: 8 << 20, MemTableSize: 1 << 20})
	if err != nil {
		t.Fatal(err)
	}
	return st
}

func kept(t *testing.T, st store.Store) int {
	t.Helper()
	n := 0
	if err := st.Owed(t.Context(), func(uint64, []byte) error { n++; return nil }); err != nil {
		t.Fatal(err)
	}
	return n
}

func TestSendStoresAndRemovesWhenDone(t *testing.T) {
	st := openStore(t, t.TempDir())
	defer st.Close()
	snd := &sender{t: t}
	o, err := outbox.Open(t.Context(), st, snd, outbox.Config{})
	if err != nil {
		t.Fatal(err)
	}
	if err := o.SendAll(t.Context(), request(0), request(1)); err != nil {
		t.Fatal(err)
	}
	if len(snd.got) != 2 {
		t.Fatalf("sender got %d messages, want 2", len(snd.got))
	}
	if n := kept(t, st); n != 2 {
		t.Errorf("store keeps %d messages once SendAll returned, before delivery; want 2", n)
	}
	snd.deliverAll()
	if err := o.Close(); err != nil {
		t.Fatal(err)
	}
	if n := kept(t, st); n != 0 {
		t.Errorf("store keeps %d messages after delivery, want 0", n)
	}
	if s := o.Stats(); s.Stored != 2 || s.Delivered != 2 || s.Owed != 0 {
		t.Errorf("Stats = %+v, want 2 stored, 2 delivered, 0 owed", s)
	}
}

// instant delivers every message as it is handed one, before the outbox's
// store of it is done.
type instant struct{ n int }

func (s *instant) Send(r *callback.Request) { s.n++; r.Done() }

// TestDeliveredBeforeStored: a message delivered while its store is under
// way is removed once the store is done, not before (which would leave it
// kept, to be sent again by every start).
func TestDeliveredBeforeStored(t *testing.T) {
	st := openStore(t, t.TempDir())
	defer st.Close()
	snd := &instant{}
	o, err := outbox.Open(t.Context(), st, snd, outbox.Config{})
	if err != nil {
		t.Fatal(err)
	}
	if err := o.SendAll(t.Context(), request(0), request(1), request(2)); err != nil {
		t.Fatal(err)
	}
	if err := o.Close(); err != nil {
		t.Fatal(err)
	}
	if n := kept(t, st); snd.n != 3 || n != 0 {
		t.Errorf("sent %d, store keeps %d; want 3 sent, none kept", snd.n, n)
	}
}

// TestOwedWithEntry stores messages with a journal entry, as the writer
// does, and sends them only once Stored says the commit is durable.
func TestOwedWithEntry(t *testing.T) {
	st := openStore(t, t.TempDir())
	defer st.Close()
	snd := &sender{t: t, st: st}
	o, err := outbox.Open(t.Context(), st, snd, outbox.Config{})
	if err != nil {
		t.Fatal(err)
	}
	defer o.Close()
	msgs := o.Owe(request(0), request(1))
	if len(snd.got) != 0 {
		t.Fatalf("Owe sent %d messages before the commit", len(snd.got))
	}
	e := journal.Entry{Time: time.Unix(1, 0), Commands: ledger.AppendCommand(nil, &ledger.Command{Op: ledger.OpFulfil, ID: ledger.ID{1}})}
	e.Seal(journal.Head{})
	if err := st.AppendOwed(t.Context(), msgs, &e); err != nil {
		t.Fatal(err)
	}
	o.Stored(msgs)
	if len(snd.got) != 2 || !reflect.DeepEqual(snd.got[0].Vars, request(0).Vars) || !reflect.DeepEqual(snd.got[1].Vars, request(1).Vars) {
		t.Fatalf("sent %d messages after Stored, want 2 in order", len(snd.got))
	}
	if !snd.kept[0] || !snd.kept[1] {
		t.Errorf("messages owed by a command were sent before the store held them: %v", snd.kept)
	}
	// Stored again (a duplicate event) sends nothing twice.
	o.Stored(msgs)
	if len(snd.got) != 2 {
		t.Errorf("a second Stored sent %d messages, want still 2", len(snd.got))
	}
}

// TestRestartSendsWhatWasKept: messages not done with at a crash or Close
// are sent by the next Start, once, and only those.
func TestRestartSendsWhatWasKept(t *testing.T) {
	dir := t.TempDir()
	st := openStore(t, dir)
	snd := &sender{t: t}
	o, err := outbox.Open(t.Context(), st, snd, outbox.Config{})
	if err != nil {
		t.Fatal(err)
	}
	if err := o.SendAll(t.Context(), request(0), request(1), request(2)); err != nil {
		t.Fatal(err)
	}
	snd.got[1].Done() // delivered
	o.Close()
	st.Close()

	st = openStore(t, dir)
	defer st.Close()
	snd = &sender{t: t}
	o, err = outbox.Open(t.Context(), st, snd, outbox.Config{})
	if err != nil {
		t.Fatal(err)
	}
	defer o.Close()
	if len(snd.got) != 0 {
		t.Fatalf("Open sent %d messages; only Start may", len(snd.got))
	}
	// A message owed after Open is not one to recover.
	if err := o.SendAll(t.Context(), request(3)); err != nil {
		t.Fatal(err)
	}
	snd.got = nil
	if err := o.Start(t.Context()); err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, r := range snd.got {
		ids = append(ids, r.Vars.ID)
	}
	if want := []string{request(0).Vars.ID, request(2).Vars.ID}; !reflect.DeepEqual(ids, want) {
		t.Errorf("Start sent %v, want %v", ids, want)
	}
	if got := snd.got[0]; !reflect.DeepEqual(got.Header, request(0).Header) || !bytes.Equal(got.Body, request(0).Body) {
		t.Errorf("Start sent %+v, want %+v", got, request(0))
	}
	if s := o.Stats(); s.Recovered != 2 || s.Owed != 3 {
		t.Errorf("Stats = %+v, want 2 recovered, 3 owed", s)
	}
}

func TestCorruptRecordLeftAndCounted(t *testing.T) {
	st := openStore(t, t.TempDir())
	defer st.Close()
	good := outbox.Append(nil, request(0))
	if err := st.AppendOwed(t.Context(), []store.Message{{ID: 1, Value: []byte{9, 9}}, {ID: 2, Value: good}}); err != nil {
		t.Fatal(err)
	}
	snd := &sender{t: t}
	o, err := outbox.Open(t.Context(), st, snd, outbox.Config{})
	if err != nil {
		t.Fatal(err)
	}
	defer o.Close()
	if err := o.Start(t.Context()); err != nil {
		t.Fatal(err)
	}
	if s := o.Stats(); s.Corrupt != 1 || s.Recovered != 1 || len(snd.got) != 1 {
		t.Errorf("Stats = %+v, sent %d; want 1 corrupt, 1 recovered and sent", s, len(snd.got))
	}
	if n := kept(t, st); n != 2 {
		t.Errorf("store keeps %d, want both (the corrupt one left for the operator)", n)
	}
}

func TestRecordRoundTrip(t *testing.T) {
	for _, r := range []*callback.Request{
		request(0),
		{To: "x", Method: http.MethodGet, Path: "/parties/MSISDN/1", Vars: callback.Vars{PartyIDType: "MSISDN", PartyIdentifier: "1", PartySubIDOrType: "s"}},
		{To: "y", Body: []byte{}, Header: http.Header{"A": {}, "B": {"1", "2"}}},
	} {
		got, err := outbox.Decode(outbox.Append(nil, r))
		if err != nil {
			t.Fatalf("Decode: %v", err)
		}
		if !reflect.DeepEqual(got, r) {
			t.Errorf("round trip = %+v, want %+v", got, r)
		}
	}
}

func TestDecodeCorrupt(t *testing.T) {
	good := outbox.Append(nil, request(0))
	for name, b := range map[string][]byte{
		"empty":         nil,
		"version":       append([]byte{2}, good[1:]...),
		"truncated":     good[:len(good)-1],
		"trailing":      append(append([]byte(nil), good...), 0),
		"huge count":    {1, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 0x03},
		"long string":   {1, 50, 'a'},
		"body marker 2": append(append([]byte(nil), good[:len(good)-len(request(0).Body)-2]...), 2),
	} {
		if _, err := outbox.Decode(b); !errors.Is(err, store.ErrCorrupt) {
			t.Errorf("%s: Decode = %v, want ErrCorrupt", name, err)
		}
	}
}

func FuzzDecode(f *testing.F) {
	f.Add(outbox.Append(nil, request(0)))
	f.Add([]byte{1})
	f.Fuzz(func(t *testing.T, b []byte) {
		r, err := outbox.Decode(b)
		if err != nil {
			return
		}
		// What decodes encodes back to what decodes the same.
		again, err := outbox.Decode(outbox.Append(nil, r))
		if err != nil || !reflect.DeepEqual(again, r) {
			t.Fatalf("re-decode = %+v, %v; want %+v", again, err, r)
		}
	})
}

func BenchmarkAppend(b *testing.B) {
	r := request(0)
	r.Body = bytes.Repeat([]byte("x"), 1500)
	b.ReportAllocs()
	var buf []byte
	for b.Loop() {
		buf = outbox.Append(buf[:0], r)
	}
}

// TestManyHeaderValues: whatever Append writes, Decode reads, however many
// header values a participant sent.
func TestManyHeaderValues(t *testing.T) {
	vs := make([]string, 5000)
	for i := range vs {
		vs[i] = "1"
	}
	r := &callback.Request{To: "dfsp2", Kind: callback.Quotes, Method: http.MethodPost, Path: "/quotes",
		Header: http.Header{"X-Forwarded-For": vs}, Body: []byte("{}")}
	got, err := outbox.Decode(outbox.Append(nil, r))
	if err != nil || !reflect.DeepEqual(got, r) {
		t.Fatalf("Decode(Append(r)) = %v; want r back", err)
	}
}

// failing fails every store of messages.
type failing struct{ store.Store }

var errDisk = errors.New("disk unplugged")

func (failing) AppendOwed(context.Context, []store.Message, ...*journal.Entry) error { return errDisk }

// TestStoreFails: a message that could not be stored is still sent, the
// caller is told, and Err reports it from then on.
func TestStoreFails(t *testing.T) {
	st := openStore(t, t.TempDir())
	defer st.Close()
	snd := &sender{t: t}
	o, err := outbox.Open(t.Context(), failing{st}, snd, outbox.Config{})
	if err != nil {
		t.Fatal(err)
	}
	defer o.Close()
	if err := o.Err(); err != nil {
		t.Fatalf("Err before any failure = %v", err)
	}
	if err := o.SendAll(t.Context(), request(0)); !errors.Is(err, errDisk) {
		t.Errorf("SendAll = %v, want the store's error", err)
	}
	o.Send(request(1))
	if err := o.Err(); !errors.Is(err, errDisk) {
		t.Errorf("Err = %v, want the store's error", err)
	}
	if s := o.Stats(); len(snd.got) != 2 || s.Unstored != 2 {
		t.Errorf("sent %d, Stats %+v; want both sent, 2 unstored", len(snd.got), s)
	}
}
