package sqlite_test

import (
	"bytes"
	"path/filepath"
	"testing"

	"iamd"
	"iamd/sqlite"
	"iamd/storetest"
)

func open(t *testing.T) iamd.Store {
	s, err := sqlite.Open(filepath.Join(t.TempDir(), "iamd.db"), sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestConformance(t *testing.T) { storetest.Run(t, open) }

func TestRefusesNewerSchema(t *testing.T) {
	path := filepath.Join(t.TempDir(), "iamd.db")
	s, err := sqlite.Open(path, sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	s.Close()
	// Pretend a newer iamd migrated the file.
	if err := sqlite.SetUserVersion(path, sqlite.SchemaVersion()+1); err != nil {
		t.Fatal(err)
	}
	if _, err := sqlite.Open(path, sqlite.Options{}); err == nil || !bytes.Contains([]byte(err.Error()), []byte("newer than this iamd")) {
		t.Fatalf("Open of a newer schema: %v", err)
	}
}
