package directory

import (
	"fmt"
	"testing"

	"github.com/hutong/hutong/clock"
	"github.com/hutong/hutong/store/pebble"
)

// benchDirectory returns a directory holding n MSISDNs, 2550000000 to
// 2550000000+n-1, spread over four FSPs, in a store whose block cache holds
// them all, as a server's default cache would.
func benchDirectory(b *testing.B, n int) *Directory {
	s, err := pebble.Open(b.TempDir(), pebble.Options{CacheSize: 128 << 20, Logger: quiet})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { s.Close() })
	d := New(s.KV(), clock.NewFake(t0))
	for start := 0; start < n; start += 1000 {
		var batch []Entry
		for i := start; i < min(n, start+1000); i++ {
			batch = append(batch, Entry{Party: msisdn(fmt.Sprint(2550000000 + i)), FSP: fmt.Sprintf("dfsp%d", i%4)})
		}
		for _, err := range d.RegisterMany(b.Context(), batch) {
			if err != nil {
				b.Fatal(err)
			}
		}
	}
	return d
}

// BenchmarkLookup measures the hot path of GET /parties: normalize, one
// store read, decode.
func BenchmarkLookup(b *testing.B) {
	const n = 100_000
	d := benchDirectory(b, n)
	parties := make([]Party, 1024)
	for i := range parties {
		parties[i] = msisdn(fmt.Sprintf("+%d", 2550000000+(i*7919)%n))
	}
	ctx := b.Context()
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		if _, err := d.Lookup(ctx, parties[i%len(parties)], ""); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkLookupParallel is BenchmarkLookup from GOMAXPROCS goroutines.
func BenchmarkLookupParallel(b *testing.B) {
	const n = 100_000
	d := benchDirectory(b, n)
	ctx := b.Context()
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		i := 0
		for pb.Next() {
			if _, err := d.Lookup(ctx, msisdn(fmt.Sprint(2550000000+(i*7919)%n)), ""); err != nil {
				b.Error(err)
				return
			}
			i++
		}
	})
}

// BenchmarkLookupMissing is a lookup of a party nobody holds.
func BenchmarkLookupMissing(b *testing.B) {
	d := benchDirectory(b, 10_000)
	ctx := b.Context()
	p := msisdn("19995550123")
	b.ReportAllocs()
	for b.Loop() {
		if _, err := d.Lookup(ctx, p, ""); err != ErrNotFound {
			b.Fatal(err)
		}
	}
}

// BenchmarkRegister is one durable registration: it measures the store's
// sync more than the directory.
func BenchmarkRegister(b *testing.B) {
	d, _, _ := newDirectory(b)
	ctx := b.Context()
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		if _, err := d.Register(ctx, Entry{Party: msisdn(fmt.Sprint(2560000000 + i)), FSP: "dfsp1"}); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkNormalize(b *testing.B) {
	for _, p := range []Party{
		msisdn("+255712345678"),
		{TypeEmail, "John.Doe@Example.COM", ""},
		{TypeIBAN, "GB82 WEST 1234 5698 7654 32", ""},
		{TypeIBAN, "GB82WEST12345698765432", ""},
		{TypePersonalID, "12345678", "NATIONAL_ID_CARD"},
		{TypeAlias, "Mama Mboga", ""},
	} {
		b.Run(p.Type, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := p.Normalize(); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
