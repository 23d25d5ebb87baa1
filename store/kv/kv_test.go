package kv_test

import (
	"strings"
	"testing"

	"github.com/hutong/hutong/store/kv"
)

// TestNamespacesDisjoint fails when one namespace's prefix starts another's:
// a scan of the one would then return the other's records.
func TestNamespacesDisjoint(t *testing.T) {
	for i, a := range kv.Namespaces {
		if a.Prefix == "" || a.Owner == "" {
			t.Errorf("namespace %d: %+v, want a prefix and an owner", i, a)
		}
		for j, b := range kv.Namespaces {
			if i != j && strings.HasPrefix(b.Prefix, a.Prefix) {
				t.Errorf("namespace %q (%s) overlaps %q (%s)", a.Prefix, a.Owner, b.Prefix, b.Owner)
			}
		}
	}
}

func TestNamespaceOf(t *testing.T) {
	for _, tt := range []struct {
		key   string
		owner string
		ok    bool
	}{
		{"dir/p/MSISDN/123", "directory", true},
		{"cbf/dfsp1/0001", "callback", true},
		{"q/abc", "exchange", true},
		{"qx/\x00\x01q/abc", "exchange", true},
		{"alert/level/dfsp1/USD", "liquidity", true},
		{"quote/abc", "", false},
		{"dir", "", false},
		{"", "", false},
	} {
		ns, ok := kv.NamespaceOf([]byte(tt.key))
		if ok != tt.ok || ns.Owner != tt.owner {
			t.Errorf("NamespaceOf(%q) = %+v, %v; want owner %q, %v", tt.key, ns, ok, tt.owner, tt.ok)
		}
	}
}
