package fspiop

import (
	"net/http"
	"reflect"
	"testing"
	"time"
)

func TestExchangeCodec(t *testing.T) {
	for _, x := range []*exchange{
		{Source: "a", Dest: "b", Created: time.Unix(1, 2).UTC()},
		{Source: "payer-1", Dest: "payee.2", Fingerprint: [32]byte{1, 2, 3}, State: exchangeAnswered,
			Created: time.Date(2026, 11, 22, 1, 2, 3, 4000, time.UTC),
			Header:  http.Header{"Content-Type": {"x"}, "Fspiop-Signature": {"sig", "two"}},
			Body:    []byte(`{"transferAmount":{"amount":"1","currency":"USD"}}`)},
	} {
		b := x.encode()
		got, err := decodeExchange(b)
		if err != nil {
			t.Fatalf("decode: %v", err)
		}
		if !reflect.DeepEqual(got, x) {
			t.Errorf("round trip\n got %+v\nwant %+v", got, x)
		}
		for i := range b {
			if _, err := decodeExchange(b[:i]); err == nil {
				t.Errorf("decoding %d of %d bytes: no error", i, len(b))
			}
		}
	}
}
