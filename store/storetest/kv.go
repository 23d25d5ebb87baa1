package storetest

import (
	"bytes"
	"errors"
	"fmt"
	"testing"

	"github.com/hutong/hutong/store"
	"github.com/hutong/hutong/store/kv"
)

func testKV(t *testing.T, h *harness) {
	space := h.s.KV()
	if _, err := space.Get(ctx(t), []byte("a/1")); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("Get of a missing key: %v, want ErrNotFound", err)
	}
	var b kv.Batch
	b.Durable = true
	for _, k := range []string{"b/2", "a/2", "a/1", "a/3", "c"} {
		b.Set([]byte(k), []byte("v"+k))
	}
	if err := space.Apply(ctx(t), &b); err != nil {
		t.Fatalf("Apply: %v", err)
	}
	got, err := space.Get(ctx(t), []byte("a/2"))
	if err != nil || string(got) != "va/2" {
		t.Fatalf("Get a/2 = %q, %v; want va/2", got, err)
	}
	scan := func(prefix string, limit int) string {
		var out bytes.Buffer
		err := space.Scan(ctx(t), []byte(prefix), limit, func(k, v []byte) error {
			fmt.Fprintf(&out, "%s=%s ", k, v)
			return nil
		})
		if err != nil {
			t.Fatalf("Scan %q: %v", prefix, err)
		}
		return out.String()
	}
	if got, want := scan("a/", 0), "a/1=va/1 a/2=va/2 a/3=va/3 "; got != want {
		t.Errorf("Scan a/ = %q, want %q", got, want)
	}
	if got, want := scan("a/", 2), "a/1=va/1 a/2=va/2 "; got != want {
		t.Errorf("Scan a/ limit 2 = %q, want %q", got, want)
	}
	if got, want := scan("", 0), "a/1=va/1 a/2=va/2 a/3=va/3 b/2=vb/2 c=vc "; got != want {
		t.Errorf("Scan all = %q, want %q", got, want)
	}

	// A batch is all or nothing: an invalid key refuses the whole batch.
	bad := kv.Batch{Durable: true}
	bad.Delete([]byte("a/1"))
	bad.Set(nil, []byte("x"))
	if err := space.Apply(ctx(t), &bad); err == nil {
		t.Fatalf("Apply with an empty key: no error")
	}
	if _, err := space.Get(ctx(t), []byte("a/1")); err != nil {
		t.Fatalf("a/1 after a refused batch: %v", err)
	}

	del := kv.Batch{Durable: true}
	del.Delete([]byte("a/1"))
	del.Set([]byte("a/2"), []byte("new"))
	if err := space.Apply(ctx(t), &del); err != nil {
		t.Fatalf("Apply: %v", err)
	}
	h.reopen()
	space = h.s.KV()
	if got, want := scan("a/", 0), "a/2=new a/3=va/3 "; got != want {
		t.Errorf("after reopen, Scan a/ = %q, want %q", got, want)
	}
	h.close()
	if _, err := space.Get(ctx(t), []byte("a/2")); !errors.Is(err, store.ErrClosed) {
		t.Errorf("Get after Close: %v, want ErrClosed", err)
	}
	if err := space.Apply(ctx(t), &del); !errors.Is(err, store.ErrClosed) {
		t.Errorf("Apply after Close: %v, want ErrClosed", err)
	}
}
