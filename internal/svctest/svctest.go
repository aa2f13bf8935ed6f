// Package svctest stands up what the packages around the Service test
// against: a Service of one account on a fresh SQLite store, with a sealer
// of a random master key and a clock the test moves.
package svctest

import (
	"context"
	"crypto/rand"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"iamd"
	"iamd/sqlite"
)

// Account is the account every Env serves.
const Account = "123456789012"

// Root is the account's root as a caller.
var Root = &iamd.Caller{Kind: iamd.CallerRoot, Account: Account}

// Clock is a settable clock.
type Clock struct {
	mu sync.Mutex
	at time.Time
}

// Now is the clock's time.
func (c *Clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.at }

// Add moves the clock.
func (c *Clock) Add(d time.Duration) {
	c.mu.Lock()
	c.at = c.at.Add(d)
	c.mu.Unlock()
}

// Env is a Service with its store, sealer and clock.
type Env struct {
	Service *iamd.Service
	Store   iamd.Store
	Sealer  *iamd.Sealer
	Clock   *Clock
}

// New returns an Env whose clock starts at start; it closes with t.
func New(t testing.TB, start time.Time) *Env {
	t.Helper()
	st, err := sqlite.Open(filepath.Join(t.TempDir(), "iamd.db"), sqlite.Options{Synchronous: "NORMAL"})
	if err != nil {
		t.Fatal(err)
	}
	key := make([]byte, iamd.MasterKeySize)
	rand.Read(key)
	sealer, err := iamd.NewSealer(key)
	if err != nil {
		t.Fatal(err)
	}
	ck := &Clock{at: start}
	svc, err := iamd.NewService(context.Background(), iamd.Config{Store: st, Sealer: sealer, Account: iamd.Account{ID: Account}, Now: ck.Now})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { svc.Close(); st.Close() })
	return &Env{Service: svc, Store: st, Sealer: sealer, Clock: ck}
}
