package fspiop

import (
	"encoding/json"
	"reflect"
	"testing"
)

// decodeTargets are the bodies the server decodes; each fuzz input is
// decoded into each.
var decodeTargets = []func() any{
	func() any { return new(quotePost) },
	func() any { return new(quotePut) },
	func() any { return new(transferPost) },
	func() any { return new(transferPut) },
	func() any { return new(participantPut) },
	func() any { return new(batchPost) },
	func() any { return new(transactionRequestPost) },
	func() any { return new(errorBody) },
	func() any {
		return new(struct {
			Party *json.RawMessage `json:"party"`
		})
	},
}

// FuzzDecodeAgrees checks that decode accepts exactly what encoding/json
// accepts, into the same values: the faster decoder changes nothing a
// participant can see.
func FuzzDecodeAgrees(f *testing.F) {
	for _, s := range []string{
		`{"transferId":"b51ec534-ee48-4575-b6a9-ead2955b8069","payeeFsp":"a","payerFsp":"b","amount":{"amount":"1.5","currency":"USD"},"ilpPacket":"AYIBgQAAAAAAAASw","condition":"f5sqb7tBTWPd5Y8BDFdMm9BJR_MNI4isf8p8n4D5pHA","expiration":"2026-11-22T07:20:00.000Z"}`,
		`{"fulfilment":"UNlJ98hZTY_dsw0cAqw4i_UN3v4utt7CZFB4yfLbVFA","completedTimestamp":"2026-11-22T07:20:00.000Z","transferState":"COMMITTED"}`,
		`{"quoteId":"q","transactionId":"t","payee":{"partyIdInfo":{"partyIdType":"MSISDN","partyIdentifier":"123"}},"payer":{"partyIdInfo":{"partyIdType":"MSISDN","partyIdentifier":"456","fspId":"x"}},"amountType":"SEND","amount":{"amount":"10","currency":"USD"},"transactionType":{"scenario":"TRANSFER","initiator":"PAYER","initiatorType":"CONSUMER"}}`,
		`{"transferAmount":{"amount":"1","currency":"USD"},"expiration":"x","ilpPacket":"p","condition":"c"}`,
		`{"errorInformation":{"errorCode":"3100","errorDescription":"x","extensionList":{"extension":[{"key":"k","value":"v"}]}}}`,
		`{"party":{"partyIdInfo":{"partyIdType":"MSISDN"}}}`,
		`{"requestId":"r","partyList":[{"partyIdType":"MSISDN","partyIdentifier":"1"}],"currency":"USD"}`,
		`{"transferState":"COMMITTED","transferState":"ABORTED"}`,
		`{"TRANSFERSTATE":"COMMITTED"}`,
		`{"transferState":"\u00e9\ud83d\ude00"}`,
		"{\"transferState\":\"\xff\"}",
		`{"amount":{"amount":1}}`,
		`{"transferId":null}`,
		`[]`, `null`, `{} {}`, `{"a":}`, ``, ` {"transferState" : "X" } `,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		for _, target := range decodeTargets {
			want, got := target(), target()
			werr := json.Unmarshal(body, want)
			gerr := decode(body, got)
			if len(body) == 0 {
				continue // decode refuses an empty body before parsing
			}
			if (werr == nil) != (gerr == nil) {
				t.Fatalf("%T from %q: encoding/json error %v, decode error %v", want, body, werr, gerr)
			}
			if werr == nil && !reflect.DeepEqual(want, got) {
				t.Fatalf("%T from %q: encoding/json %+v, decode %+v", want, body, want, got)
			}
		}
	})
}
