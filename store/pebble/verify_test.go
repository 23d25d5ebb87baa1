package pebble

import (
	"context"
	"crypto/sha256"
	"errors"
	"strings"
	"testing"
	"time"

	pdb "github.com/cockroachdb/pebble/v2"

	"github.com/hutong/hutong/audit"
	"github.com/hutong/hutong/clock"
	"github.com/hutong/hutong/ledger"
	"github.com/hutong/hutong/store"
	"github.com/hutong/hutong/writer"
)

// ledgerWithTransfers makes a store holding two participants and a few
// committed payments, closed cleanly, and returns its directory and one
// payment.
func ledgerWithTransfers(t *testing.T) (string, ledger.Transfer) {
	t.Helper()
	dir := t.TempDir()
	st, err := Open(dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	clk := clock.NewFake(time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC))
	w, err := writer.Open(ctx, st, writer.Config{Clock: clk})
	if err != nil {
		t.Fatal(err)
	}
	for i, p := range []string{"payer", "payee"} {
		for _, c := range []ledger.Command{
			{Op: ledger.OpCreateParticipant, Participant: p, Name: p},
			{Op: ledger.OpEnableCurrency, Participant: p, Currency: "EUR"},
			{Op: ledger.OpSetNDC, Participant: p, Currency: "EUR", Amount: 1_000_000},
			{Op: ledger.OpFundsIn, ID: ledger.ID{0xf0, byte(i + 1)}, Participant: p, Currency: "EUR", Amount: 1_000_000},
		} {
			if _, err := w.Submit(ctx, c); err != nil {
				t.Fatal(err)
			}
		}
	}
	var last ledger.Transfer
	for i := range 5 {
		ful := [32]byte{byte(i + 1)}
		id := ledger.ID{0xaa, byte(i + 1)}
		if _, err := w.Submit(ctx, ledger.Command{Op: ledger.OpPrepare, ID: id, Payer: "payer", Payee: "payee",
			Currency: "EUR", Amount: int64(100 * (i + 1)), Condition: sha256.Sum256(ful[:]), Expiry: clk.Now().Add(time.Minute)}); err != nil {
			t.Fatal(err)
		}
		r, err := w.Submit(ctx, ledger.Command{Op: ledger.OpFulfil, ID: id, Fulfilment: ful})
		if err != nil {
			t.Fatal(err)
		}
		last = r.Transfer
		clk.Advance(time.Second)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}
	return dir, last
}

func verify(t *testing.T, dir string) error {
	t.Helper()
	st, err := Open(dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	_, err = audit.Verify(context.Background(), st, nil)
	return err
}

// tamper rewrites the value under key with fn, optionally sealing it again
// with a valid checksum as a deliberate forger would.
func tamper(t *testing.T, dir string, key []byte, reseal bool, fn func(rec []byte)) {
	t.Helper()
	st, err := Open(dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	db := map[byte]*pdb.DB{prefixJournal: st.jdb, prefixTransfer: st.rdb}[key[0]]
	if db == nil {
		db = st.db
	}
	v, closer, err := db.Get(key)
	if err != nil {
		t.Fatalf("get %x: %v", key, err)
	}
	val := append([]byte(nil), v...)
	closer.Close()
	if reseal {
		rec := val[:len(val)-4]
		fn(rec)
		val = seal(key, rec)
	} else {
		fn(val)
	}
	if err := db.Set(key, val, pdb.NoSync); err != nil {
		t.Fatal(err)
	}
	if err := db.Flush(); err != nil {
		t.Fatal(err)
	}
}

func TestVerifyCleanLedger(t *testing.T) {
	dir, _ := ledgerWithTransfers(t)
	if err := verify(t, dir); err != nil {
		t.Fatalf("verify of an untouched ledger: %v", err)
	}
}

func TestVerifyFindsChangedTransfer(t *testing.T) {
	for _, reseal := range []bool{false, true} {
		name := map[bool]string{false: "changed byte", true: "changed byte with a valid checksum"}[reseal]
		t.Run(name, func(t *testing.T) {
			dir, tr := ledgerWithTransfers(t)
			// Byte 20 is inside the amount varint of the record.
			tamper(t, dir, TransferKey(&tr), reseal, func(rec []byte) { rec[20] ^= 0x01 })
			err := verify(t, dir)
			var f *audit.Failure
			if !errors.As(err, &f) {
				t.Fatalf("verify = %v, want an *audit.Failure", err)
			}
			if !strings.Contains(err.Error(), tr.ID.String()) {
				t.Errorf("failure %q does not name transfer %s", err, tr.ID)
			}
			if !reseal && !errors.Is(err, store.ErrCorrupt) {
				t.Errorf("failure %q does not wrap store.ErrCorrupt", err)
			}
		})
	}
}

func TestVerifyFindsChangedJournalEntry(t *testing.T) {
	dir, _ := ledgerWithTransfers(t)
	// Entry 3's last byte is inside its commands.
	tamper(t, dir, journalKey(3), false, func(rec []byte) { rec[len(rec)-1] ^= 0x80 })
	err := verify(t, dir)
	var f *audit.Failure
	if !errors.As(err, &f) || f.Seq != 3 {
		t.Fatalf("verify = %v, want a failure at journal entry 3", err)
	}
}

func TestVerifyFindsChangedAccount(t *testing.T) {
	dir, _ := ledgerWithTransfers(t)
	key := accountKey(ledger.AccountKey{Participant: "payee", Currency: "EUR", Type: ledger.AccountPosition})
	tamper(t, dir, key, true, func(rec []byte) { rec[len(rec)-1] ^= 0x02 })
	err := verify(t, dir)
	if err == nil || !strings.Contains(err.Error(), "payee/EUR/POSITION") {
		t.Fatalf("verify = %v, want a failure naming payee/EUR/POSITION", err)
	}
}
