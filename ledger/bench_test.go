package ledger_test

import (
	"crypto/sha256"
	"encoding/binary"
	"testing"
	"time"

	"github.com/hutong/hutong/ledger"
)

// BenchmarkPrepareFulfil measures the ledger's own work for one two-phase
// payment: a prepare and a fulfil, with Changes and Forget every 1,000
// payments as the writer does at checkpoints. No storage.
func BenchmarkPrepareFulfil(b *testing.B) {
	l := ledger.New(nil)
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	for i, p := range []string{"a", "b"} {
		for _, c := range []ledger.Command{
			{Op: ledger.OpCreateParticipant, Participant: p, Name: p},
			{Op: ledger.OpEnableCurrency, Participant: p, Currency: "USD"},
			{Op: ledger.OpSetNDC, Participant: p, Currency: "USD", Amount: 1 << 50},
			{Op: ledger.OpFundsIn, ID: ledger.ID{0xff, byte(i)}, Participant: p, Currency: "USD", Amount: 1 << 50},
		} {
			if _, err := l.Apply(now, &c); err != nil {
				b.Fatal(err)
			}
		}
	}
	ful := [32]byte{1}
	cond := sha256.Sum256(ful[:])
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		var id ledger.ID
		binary.BigEndian.PutUint64(id[:], uint64(i+1))
		p := ledger.Command{Op: ledger.OpPrepare, ID: id, Payer: "a", Payee: "b", Currency: "USD",
			Amount: 100, Condition: cond, Expiry: now.Add(time.Minute)}
		if i%2 == 1 {
			p.Payer, p.Payee = "b", "a"
		}
		if _, err := l.Apply(now, &p); err != nil {
			b.Fatal(err)
		}
		f := ledger.Command{Op: ledger.OpFulfil, ID: id, Fulfilment: ful}
		if _, err := l.Apply(now, &f); err != nil {
			b.Fatal(err)
		}
		if i%1000 == 999 {
			l.Changes()
			l.Forget()
		}
	}
}
