package main

import (
	"os"
	"path/filepath"
	"testing"
)

// TestReadCredentials: the key of the profile asked for, not the last one
// in the file (the README's sessions section adds [erin] to the root's).
func TestReadCredentials(t *testing.T) {
	file := filepath.Join(t.TempDir(), "credentials")
	os.WriteFile(file, []byte("[default]\naws_access_key_id = AKIAROOT\naws_secret_access_key = rootsecret\n\n[erin]\naws_access_key_id=AKIAERIN\naws_secret_access_key=erinsecret\n"), 0o600)
	for _, c := range []struct{ profile, id, secret string }{
		{"default", "AKIAROOT", "rootsecret"},
		{"erin", "AKIAERIN", "erinsecret"},
	} {
		id, secret, err := readCredentials(file, c.profile)
		if err != nil || id != c.id || secret != c.secret {
			t.Errorf("profile %s: %q %q %v", c.profile, id, secret, err)
		}
	}
	if _, _, err := readCredentials(file, "nobody"); err == nil {
		t.Error("a profile the file lacks gave a key")
	}
}
