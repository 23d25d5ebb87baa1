package settlement_test

import (
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/hutong/hutong/ledger"
	"github.com/hutong/hutong/settlement"
)

const (
	id1 = "9a3c1d4e-2b7f-4c1a-8e5d-0f6a7b8c9d0e"
	id2 = "0b5e7c2a-1d3f-4e6a-9b8c-7d6e5f4a3b2c"
	id3 = "f0e1d2c3-b4a5-4968-8776-655443322110"
)

func mustID(t *testing.T, s string) ledger.ID {
	t.Helper()
	id, err := ledger.ParseID(s)
	if err != nil {
		t.Fatal(err)
	}
	return id
}

func TestParseRecords(t *testing.T) {
	at := time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)
	tests := []struct {
		name string
		in   string
		want []settlement.Record
	}{
		{
			name: "every column",
			in: "transfer_id,currency,amount,state,direction,completed_at\n" +
				id1 + ",USD,12.5,COMMITTED,SENT,2030-01-02T03:04:05Z\n" +
				id2 + ",JPY,100,ABORTED,,\n" +
				id3 + ",KWD,0.125,RESERVED,RECEIVED,2030-01-02T04:04:05.5+01:00\n",
			want: []settlement.Record{
				{Line: 2, TransferID: mustID(t, id1), Currency: "USD", Amount: 1250, State: "COMMITTED", Direction: "SENT", Completed: at},
				{Line: 3, TransferID: mustID(t, id2), Currency: "JPY", Amount: 100, State: "ABORTED"},
				{Line: 4, TransferID: mustID(t, id3), Currency: "KWD", Amount: 125, State: "RESERVED", Direction: "RECEIVED", Completed: at.Add(time.Second / 2)},
			},
		},
		{
			name: "required columns in another order, CRLF, quotes, a blank line",
			in: "state,amount,currency,transfer_id\r\n" +
				"COMMITTED,\"1\",USD," + id1 + "\r\n\r\n" +
				"RECEIVED,0.01,USD,\"" + id2 + "\"\r\n",
			want: []settlement.Record{
				{Line: 2, TransferID: mustID(t, id1), Currency: "USD", Amount: 100, State: "COMMITTED"},
				{Line: 4, TransferID: mustID(t, id2), Currency: "USD", Amount: 1, State: "RECEIVED"},
			},
		},
		{
			name: "byte order mark",
			in:   "\xef\xbb\xbftransfer_id,currency,amount,state\n" + id1 + ",USD,3,COMMITTED\n",
			want: []settlement.Record{{Line: 2, TransferID: mustID(t, id1), Currency: "USD", Amount: 300, State: "COMMITTED"}},
		},
		{
			name: "header only",
			in:   "transfer_id,currency,amount,state,completed_at\n",
			want: nil,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := settlement.ParseRecords(strings.NewReader(tt.in))
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got\n%+v\nwant\n%+v", got, tt.want)
			}
		})
	}
}

func TestParseRecordsErrors(t *testing.T) {
	const header = "transfer_id,currency,amount,state,direction,completed_at\n"
	good := id1 + ",USD,12.5,COMMITTED,SENT,2030-01-02T03:04:05Z\n"
	tests := []struct {
		name string
		in   string
		want []settlement.LineError // Msg holds a part of the message
	}{
		{"empty", "", []settlement.LineError{{Line: 1, Msg: "empty"}}},
		{"blank lines only", "\n\n", []settlement.LineError{{Line: 1, Msg: "empty"}}},
		{"no header", good, []settlement.LineError{{Line: 1, Msg: "header"}}},
		{"unknown column", "transfer_id,currency,amount,state,memo\n" + id1 + ",USD,1,COMMITTED,x\n", []settlement.LineError{{Line: 1, Msg: `unknown column "memo"`}}},
		{"upper case column", "TRANSFER_ID,currency,amount,state\n", []settlement.LineError{{Line: 1, Msg: `unknown column "TRANSFER_ID"`}}},
		{"column twice", "transfer_id,currency,amount,state,amount\n", []settlement.LineError{{Line: 1, Msg: `column "amount" is named twice`}}},
		{"column missing", "transfer_id,currency,amount\n", []settlement.LineError{{Line: 1, Msg: `required column "state" is missing`}}},
		{"spaced column", "transfer_id, currency,amount,state\n", []settlement.LineError{{Line: 1, Msg: `unknown column " currency"`}}},
		{"bad CSV in the header", "transfer_id,\"currency,amount,state\n", []settlement.LineError{{Line: 1, Msg: "not valid CSV"}}},
		{"every bad line", header + good +
			id2 + ",USD,1.0,COMMITTED,,\n" + // 3
			id2 + ",usd,1,COMMITTED,,\n" + // 4
			id2 + ",USD,1,COMMITTED\n" + // 5
			strings.ToUpper(id2) + ",USD,1,COMMITTED,,\n" + // 6
			id1 + ",USD,1,COMMITTED,,\n" + // 7
			id2 + ",USD,0,COMMITTED,,\n" + // 8
			id3 + ",USD,1,FAILED,,\n" + // 9
			id3 + ",USD,1,COMMITTED,OUT,\n" + // 10
			id3 + ",USD,1,COMMITTED,,yesterday\n" + // 11
			id3 + ",USD,1 ,COMMITTED,,\n" + // 12
			"\"a\nb\",USD,1,COMMITTED,,\n" + // 13-14
			id3 + ",USD,1.001,COMMITTED,,\n" + // 15
			id3 + ",JPY,1.5,COMMITTED,,\n" + // 16
			id3 + ",XXX,1,COMMITTED,,\n" + // 17
			id3 + ",US\"D,1,COMMITTED,,\n" + // 18
			id3 + ",USD,99999999999999999,COMMITTED,,\n" + // 19
			"00000000-0000-0000-0000-000000000000,EUR,2,ABORTED,,\n" + // 20
			id3 + ",EUR,1,COMMITTED,RECEIVED,2030-01-02 03:04:05\n" + // 21
			id3 + ",EUR,x,committed,both,\n", // 22
			[]settlement.LineError{
				{Line: 3, Msg: `amount "1.0" is not an FSPIOP amount`},
				{Line: 4, Msg: `currency "usd"`},
				{Line: 5, Msg: "4 values, the header names 6 columns"},
				{Line: 6, Msg: "transfer_id"},
				{Line: 7, Msg: "already on line 2"},
				{Line: 8, Msg: "greater than zero"},
				{Line: 9, Msg: `state "FAILED"`},
				{Line: 10, Msg: `direction "OUT"`},
				{Line: 11, Msg: `completed_at "yesterday"`},
				{Line: 12, Msg: `amount "1 "`},
				{Line: 13, Msg: "transfer_id"},
				{Line: 15, Msg: "has 3 decimals but USD allows 2"},
				{Line: 16, Msg: "JPY allows 0"},
				{Line: 17, Msg: `currency "XXX"`},
				{Line: 18, Msg: "not valid CSV"},
				{Line: 19, Msg: "too large"},
				{Line: 20, Msg: "zero UUID"},
				{Line: 21, Msg: "completed_at"},
				{Line: 22, Msg: `allowed; state "committed" is not RECEIVED, RESERVED, COMMITTED or ABORTED; direction "both" is not SENT or RECEIVED; transfer id ` + id3 + " is already on line 9"},
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := settlement.ParseRecords(strings.NewReader(tt.in))
			var re *settlement.RecordsError
			if !errors.As(err, &re) || !errors.Is(err, settlement.ErrInvalidRecords) || got != nil {
				t.Fatalf("ParseRecords = %+v, %v; want no records and a *RecordsError", got, err)
			}
			if len(re.Lines) != len(tt.want) {
				t.Fatalf("%d bad lines, want %d:\n%v", len(re.Lines), len(tt.want), re.Lines)
			}
			for i, w := range tt.want {
				if g := re.Lines[i]; g.Line != w.Line || !strings.Contains(g.Msg, w.Msg) {
					t.Errorf("bad line %d = %v, want line %d containing %q", i, g, w.Line, w.Msg)
				}
			}
			if msg := err.Error(); !strings.HasPrefix(msg, "settlement: invalid records file; line ") {
				t.Errorf("message %q", msg)
			}
		})
	}
}

func TestRecordsErrorMessage(t *testing.T) {
	var b strings.Builder
	b.WriteString("transfer_id,currency,amount,state\n")
	for range 25 {
		b.WriteString("x,USD,1,COMMITTED\n")
	}
	_, err := settlement.ParseRecords(strings.NewReader(b.String()))
	var re *settlement.RecordsError
	if !errors.As(err, &re) || len(re.Lines) != 25 {
		t.Fatalf("%v", err)
	}
	msg := err.Error()
	if !strings.Contains(msg, "line 11:") || strings.Contains(msg, "line 12:") || !strings.HasSuffix(msg, "and 15 more bad lines") {
		t.Errorf("message %q: want the first 10 lines and a count of the rest", msg)
	}
}

type errReader struct{ err error }

func (r errReader) Read([]byte) (int, error) { return 0, r.err }

func TestParseRecordsReadError(t *testing.T) {
	boom := errors.New("connection reset")
	if _, err := settlement.ParseRecords(errReader{boom}); !errors.Is(err, boom) || errors.Is(err, settlement.ErrInvalidRecords) {
		t.Errorf("error %v, want the read error", err)
	}
}
