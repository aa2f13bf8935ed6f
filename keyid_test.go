package iamd

import (
	"crypto/rand"
	"testing"
)

// TestKeyAccount: AWS's own example key decodes to the account its
// public decoding gives, and every key iamd makes decodes to its account.
func TestKeyAccount(t *testing.T) {
	for _, tt := range []struct{ id, account string }{
		// The key of AWS's account 609629065308 that Aidan Steele's and
		// Tal Be'ery's write-ups decode.
		{"ASIAY34FZKBOKMUTVV7A", "609629065308"},
		{"AKIAY34FZKBOKMUTVV7A", "609629065308"},
	} {
		if got, ok := KeyAccount(tt.id); !ok || got != tt.account {
			t.Errorf("KeyAccount(%s) = %q %v, want %s", tt.id, got, ok, tt.account)
		}
	}
	// AWS's documentation key is of the older generation (its bit 47 is
	// clear): its account is not in it.
	for _, bad := range []string{"", "AKIA", "AKIAIOSFODNN7EXAMPLE", "AKIAY34FZKBOKMUTVV7", "AIDAY34FZKBOKMUTVV7A", "AKIAY34FZKBOKMUTVV71", "AKIAy34fzkbokmutvv7a"} {
		if got, ok := KeyAccount(bad); ok {
			t.Errorf("KeyAccount(%q) = %q, want none", bad, got)
		}
	}
	for _, account := range []string{"000000000000", "123456789012", "999999999999", "581039954779"} {
		seen := map[string]bool{}
		for range 200 {
			id, err := newKeyID(rand.Reader, "AKIA", account)
			if err != nil {
				t.Fatal(err)
			}
			if got, ok := KeyAccount(id); !ok || got != account || len(id) != 20 {
				t.Fatalf("newKeyID(%s) = %s, which names %q %v", account, id, got, ok)
			}
			seen[id] = true
		}
		if len(seen) < 200 {
			t.Fatalf("%s: only %d distinct IDs of 200", account, len(seen))
		}
	}
	// An account that is not a 12-digit number (a test's, an operator's
	// odd choice) still gets well-formed random IDs.
	if id, err := newKeyID(rand.Reader, "AKIA", "not-a-number"); err != nil || len(id) != 20 {
		t.Fatalf("newKeyID for a non-numeric account: %q %v", id, err)
	}
}

// FuzzKeyAccount: any string decodes or is refused, without a panic; what
// decodes is a 12-digit account.
func FuzzKeyAccount(f *testing.F) {
	f.Add("ASIAY34FZKBOKMUTVV7A")
	f.Add("ASIA0000000000000000")
	f.Fuzz(func(t *testing.T, id string) {
		if a, ok := KeyAccount(id); ok && len(a) != 12 {
			t.Fatalf("KeyAccount(%q) = %q", id, a)
		}
	})
}
