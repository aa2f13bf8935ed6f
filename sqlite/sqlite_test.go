package sqlite_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"sync"
	"sync/atomic"
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

func BenchmarkStore(b *testing.B) {
	storetest.Bench(b, func(b *testing.B) iamd.Store {
		s, err := sqlite.Open(filepath.Join(b.TempDir(), "iamd.db"), sqlite.Options{})
		if err != nil {
			b.Fatal(err)
		}
		return s
	})
}

// TestGroupCommit: concurrent writes, some of which fail, share commits;
// after a reopen exactly the successful ones are there.
func TestGroupCommit(t *testing.T) {
	path := filepath.Join(t.TempDir(), "iamd.db")
	s, err := sqlite.Open(path, sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	s.Init(ctx, iamd.Account{ID: "123456789012", KeyCheck: []byte{1}})
	var wg sync.WaitGroup
	var ok atomic.Int32
	for i := range 200 {
		wg.Go(func() {
			// Every name is written twice: one of each pair must fail.
			u := &iamd.User{ID: fmt.Sprintf("AIDA%017d", i), Name: fmt.Sprintf("user%d", i/2), Path: "/"}
			if err := s.CreateUser(ctx, u); err == nil {
				ok.Add(1)
			} else if !errors.Is(err, iamd.ErrAlreadyExists) {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	s.Close()
	if ok.Load() != 100 {
		t.Fatalf("%d creates succeeded, want 100", ok.Load())
	}
	s, err = sqlite.Open(path, sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	users, _, err := s.ListUsers(ctx, "/", iamd.Page{MaxItems: 1000})
	if err != nil || len(users) != 100 {
		t.Fatalf("after reopen: %d users, %v", len(users), err)
	}
}
