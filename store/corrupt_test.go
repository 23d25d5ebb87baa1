package store_test

import (
	"errors"
	"testing"

	"github.com/hutong/hutong/journal"
	"github.com/hutong/hutong/ledger"
	"github.com/hutong/hutong/store"
)

// TestOneCorruptError holds the promise of store.ErrCorrupt: corrupt data is
// one error whether the journal, the ledger's codec or a store found it.
func TestOneCorruptError(t *testing.T) {
	_, entryErr := journal.Decode([]byte{1, 2, 3})
	_, _, cmdErr := ledger.DecodeCommand([]byte{0xff})
	_, transferErr := ledger.DecodeTransfer(nil)
	for name, err := range map[string]error{
		"journal entry": entryErr,
		"command":       cmdErr,
		"transfer":      transferErr,
	} {
		if err == nil {
			t.Errorf("%s: decoded garbage", name)
			continue
		}
		if !errors.Is(err, store.ErrCorrupt) || !errors.Is(err, ledger.ErrCorrupt) {
			t.Errorf("%s: error %v is not store.ErrCorrupt", name, err)
		}
	}
}
