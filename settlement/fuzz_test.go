package settlement_test

import (
	"bytes"
	"encoding/csv"
	"errors"
	"reflect"
	"testing"
	"time"

	"github.com/hutong/hutong/money"
	"github.com/hutong/hutong/settlement"
)

// writeRecords writes records in the file format, every column present.
func writeRecords(t testing.TB, recs []settlement.Record) []byte {
	var b bytes.Buffer
	w := csv.NewWriter(&b)
	w.Write([]string{"completed_at", "direction", "state", "amount", "currency", "transfer_id"})
	for _, r := range recs {
		c, _ := money.Lookup(r.Currency)
		done := ""
		if !r.Completed.IsZero() {
			done = r.Completed.Format(time.RFC3339Nano)
		}
		w.Write([]string{done, r.Direction, r.State, money.FormatAmount(r.Amount, c), r.Currency, r.TransferID.String()})
	}
	w.Flush()
	if err := w.Error(); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// FuzzParseRecords checks that ParseRecords never panics, that what it
// accepts is valid and reads back the same once written out again, and that
// what it rejects it rejects with every bad line in order and no records.
func FuzzParseRecords(f *testing.F) {
	for _, s := range []string{
		"transfer_id,currency,amount,state,direction,completed_at\n" + id1 + ",USD,12.5,COMMITTED,SENT,2030-01-02T03:04:05Z\n",
		"state,amount,currency,transfer_id\r\nCOMMITTED,\"1\",USD," + id1 + "\r\n\r\nRECEIVED,0.01,USD,\"" + id2 + "\"\r\n",
		"\xef\xbb\xbftransfer_id,currency,amount,state\n" + id1 + ",KWD,0.125,ABORTED\n" + id2 + ",JPY,7,RESERVED\n",
		"transfer_id,currency,amount,state\n" + id1 + ",USD,1.0,COMMITTED\n\"a\nb\",USD,1,COMMITTED\n" + id1 + ",US\"D,1,X\n",
		"transfer_id,currency,amount,state,completed_at\n" + id3 + ",USD,1,COMMITTED,2030-01-02T03:04:05.123456789+05:30\n",
		"",
		"transfer_id\n",
		"\"",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		recs, err := settlement.ParseRecords(bytes.NewReader(in))
		if err != nil {
			var re *settlement.RecordsError
			if !errors.As(err, &re) || len(re.Lines) == 0 || recs != nil {
				t.Fatalf("ParseRecords = %d records, %v; want none and a *RecordsError with lines", len(recs), err)
			}
			for i, l := range re.Lines {
				if l.Line < 1 || (i > 0 && l.Line <= re.Lines[i-1].Line) || l.Msg == "" {
					t.Fatalf("bad lines out of order or empty: %v", re.Lines)
				}
			}
			return
		}
		seen := make(map[[16]byte]bool)
		for i, r := range recs {
			c, ok := money.Lookup(r.Currency)
			switch {
			case r.Line < 2 || (i > 0 && r.Line <= recs[i-1].Line):
				t.Fatalf("record %d on line %d", i, r.Line)
			case r.TransferID.IsZero() || seen[r.TransferID]:
				t.Fatalf("record %d has id %s, zero or repeated", i, r.TransferID)
			case !ok || r.Amount <= 0:
				t.Fatalf("record %d: %s %d", i, r.Currency, r.Amount)
			case r.State != "RECEIVED" && r.State != "RESERVED" && r.State != "COMMITTED" && r.State != "ABORTED":
				t.Fatalf("record %d: state %q", i, r.State)
			case r.Direction != "" && r.Direction != settlement.DirectionSent && r.Direction != settlement.DirectionReceived:
				t.Fatalf("record %d: direction %q", i, r.Direction)
			}
			if v, err := money.ParseAmount(money.FormatAmount(r.Amount, c), c); err != nil || v != r.Amount {
				t.Fatalf("record %d: amount %d does not round-trip: %d, %v", i, r.Amount, v, err)
			}
			seen[r.TransferID] = true
		}
		again, err := settlement.ParseRecords(bytes.NewReader(writeRecords(t, recs)))
		if err != nil {
			t.Fatalf("written back: %v", err)
		}
		if len(again) != len(recs) {
			t.Fatalf("written back: %d records, want %d", len(again), len(recs))
		}
		for i := range recs {
			a, b := recs[i], again[i]
			a.Line, b.Line = 0, 0
			if !a.Completed.Equal(b.Completed) {
				t.Fatalf("record %d completed %s, written back %s", i, a.Completed, b.Completed)
			}
			a.Completed, b.Completed = time.Time{}, time.Time{}
			if !reflect.DeepEqual(a, b) {
				t.Fatalf("record %d %+v, written back %+v", i, a, b)
			}
		}
	})
}
