package sqlite_test

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
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

// TestConformance is the store as iamd serve opens it: no change log.
func TestConformance(t *testing.T) { storetest.RunWithoutChangeLog(t, open) }

// TestConformanceWithChangeLog is the store a replica follows.
func TestConformanceWithChangeLog(t *testing.T) {
	storetest.Run(t, func(t *testing.T) iamd.Store {
		s, err := sqlite.Open(filepath.Join(t.TempDir(), "iamd.db"), sqlite.Options{ChangeLog: true})
		if err != nil {
			t.Fatal(err)
		}
		return s
	})
}

// TestNoChangeLog: without the option, a replica asking for the log is
// told there is none rather than handed an empty one.
func TestNoChangeLog(t *testing.T) {
	s := open(t)
	defer s.Close()
	ctx := context.Background()
	s.Init(ctx, iamd.Account{ID: "123456789012", KeyCheck: []byte{1}})
	if err := s.CreateUser(ctx, &iamd.User{ID: "AIDAX", Name: "x", Path: "/"}); err != nil {
		t.Fatal(err)
	}
	l := s.(iamd.ChangeLog)
	if _, err := l.ChangesSince(ctx, 0, 10); err == nil {
		t.Fatal("ChangesSince answered without a change log")
	}
	if _, err := l.Snapshot(ctx); err == nil {
		t.Fatal("Snapshot answered without a change log")
	}
}

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

// TestUpgradeFromFirstSchema: a database written before groups and
// policies existed is migrated on open and keeps its users and keys,
// which then take policies like any others.
func TestUpgradeFromFirstSchema(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "iamd.db")
	if err := sqlite.MigrateTo(path, 1); err != nil {
		t.Fatal(err)
	}
	old, err := sql.Open("sqlite", "file:"+path)
	if err != nil {
		t.Fatal(err)
	}
	_, err = old.Exec(`INSERT INTO meta(k, v) VALUES ('account_id', '123456789012'), ('account_created_at', '0'), ('key_check', 'AQ==');
		INSERT INTO users(id, name, name_fold, path, created_at) VALUES ('AIDAOLDUSER0000000001', 'Bob', 'bob', '/', 0);
		INSERT INTO access_keys(id, owner_kind, owner_id, status, created_at, secret) VALUES ('AKIAOLDKEY0000000001', 0, 'AIDAOLDUSER0000000001', 'Active', 0, x'01')`)
	old.Close()
	if err != nil {
		t.Fatal(err)
	}
	s, err := sqlite.Open(path, sqlite.Options{})
	if err != nil {
		t.Fatalf("Open of a first-schema database: %v", err)
	}
	defer s.Close()
	if cred, err := s.GetCredential(ctx, "AKIAOLDKEY0000000001"); err != nil || cred.User == nil || cred.User.Name != "Bob" {
		t.Fatalf("the old key after the upgrade: %+v, %v", cred, err)
	}
	bob := iamd.Entity{Kind: iamd.EntityUser, Name: "bob"}
	if err := s.PutInlinePolicy(ctx, bob, "p", `{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"*","Resource":"*"}}`, 2048); err != nil {
		t.Fatal(err)
	}
	if srcs, err := s.UserPolicies(ctx, "Bob"); err != nil || len(srcs) != 1 {
		t.Fatalf("UserPolicies after the upgrade: %v, %v", srcs, err)
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

// TestUpgradeToAccounts: a single-account database becomes the first
// account of the deployment.
func TestUpgradeToAccounts(t *testing.T) {
	path := filepath.Join(t.TempDir(), "iamd.db")
	if err := sqlite.MigrateTo(path, storetest.UpgradeSchema); err != nil {
		t.Fatal(err)
	}
	old, err := sql.Open("sqlite", "file:"+path)
	if err != nil {
		t.Fatal(err)
	}
	_, err = old.Exec(strings.ReplaceAll(storetest.UpgradeRows, `'\x0`, `x'0`))
	old.Close()
	if err != nil {
		t.Fatal(err)
	}
	s, err := sqlite.Open(path, sqlite.Options{})
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	defer s.Close()
	storetest.TestUpgrade(t, s)
}
