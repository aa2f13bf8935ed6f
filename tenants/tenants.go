// Package tenants serves the accounts of one deployment: its first account,
// whose Service the deployment starts with, and every open account its
// organization created (package organizations), each with a Service of
// its own over its account's Store and replica, made when first needed
// and stopped when the account closes. The accounts share the database,
// the master key and the replica; nothing else of one reaches another.
package tenants

import (
	"context"
	"sync"
	"sync/atomic"
	"time"

	"iamd"
)

// Config configures a Set.
type Config struct {
	// First is the first account's Service.
	First *iamd.Service
	// Service is what each other account's Service is made with: its
	// Store, Replica and Account are set per account from these.
	Service iamd.Config
	// Open lists the open accounts besides the first, with when each was
	// made (organizations.Organizations.OpenAccounts).
	Open func(ctx context.Context) (map[string]time.Time, error)
	// Guardrail, when set, returns what bounds an account beyond its own
	// policies (organizations.Organizations.Guardrail); the first account
	// has none.
	Guardrail func(account string) iamd.Guardrail
	// Fresh is how long a list of open accounts is believed before it is
	// read again (default 2s): an account closed on another node stops
	// here within it.
	Fresh time.Duration
	// Now defaults to time.Now.
	Now func() time.Time
}

// Set is a deployment's accounts.
type Set struct {
	cfg Config

	mu         sync.RWMutex
	open       map[string]time.Time // the open accounts, as last read
	readAt     time.Time
	refreshing atomic.Bool // a read of the open accounts is under way
	services   map[string]*iamd.Service
	gone       map[string]bool // closed here: a list read before is older
	closed     bool
}

// New returns the accounts cfg describes.
func New(cfg Config) *Set {
	if cfg.Fresh <= 0 {
		cfg.Fresh = 2 * time.Second
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	return &Set{cfg: cfg, services: map[string]*iamd.Service{}, gone: map[string]bool{}}
}

// missAfter is how old the list of open accounts must be before an
// account missing from it has it read again.
const missAfter = 100 * time.Millisecond

// notServed is the answer for an account the deployment does not serve.
var notServed = &iamd.Error{Kind: iamd.NotFound, Message: "The account is not one this deployment serves."}

// Service returns the Service of the account of that ID: the first
// account's, or an open account's; NotFound for any other. While the
// database cannot be read, the accounts last read stay served.
func (t *Set) Service(ctx context.Context, id string) (*iamd.Service, error) {
	if id == t.cfg.First.Account().ID {
		return t.cfg.First, nil
	}
	if svc := t.served(id); svc != nil {
		return svc, nil
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.closed {
		return nil, notServed
	}
	if t.open == nil {
		// The first request for another account reads the list; later
		// ones use what was read while it is read again (served), so
		// that a slow database delays no decision.
		open, err := t.cfg.Open(ctx)
		if err != nil {
			return nil, err
		}
		t.set(open)
	}
	created, ok := t.open[id]
	if !ok && !t.gone[id] && t.cfg.Now().Sub(t.readAt) >= missAfter {
		// Perhaps made since (on another node): read again, at most
		// every missAfter, whatever keys unknown callers send.
		if open, err := t.cfg.Open(ctx); err == nil {
			t.set(open)
			created, ok = t.open[id]
		}
	}
	if !ok {
		return nil, notServed
	}
	if svc := t.services[id]; svc != nil {
		return svc, nil
	}
	cfg := t.cfg.Service
	cfg.Store = cfg.Store.In(id)
	if cfg.Replica != nil {
		cfg.Replica = cfg.Replica.In(id)
	}
	cfg.Account = iamd.Account{ID: id, CreatedAt: created}
	cfg.First, cfg.Member = t.cfg.First, true
	if t.cfg.Guardrail != nil {
		cfg.Guardrail = t.cfg.Guardrail(id)
	}
	svc, err := iamd.NewService(ctx, cfg)
	if err != nil {
		return nil, err
	}
	t.services[id] = svc
	return svc, nil
}

// served returns the Service this node has for the account of that ID,
// nil if none yet; it starts a read of the open accounts in the
// background when the last is older than Fresh.
func (t *Set) served(id string) *iamd.Service {
	t.mu.RLock()
	svc := t.services[id]
	stale := t.open != nil && !t.closed && t.cfg.Now().Sub(t.readAt) >= t.cfg.Fresh
	t.mu.RUnlock()
	if stale && t.refreshing.CompareAndSwap(false, true) {
		go t.refresh()
	}
	return svc
}

// ForKey returns the Service of the account an access key ID is for (see
// iamd.Accounts). An older key of the first account may read as another
// account's (its bits are random): a long-term key that account does not
// have is the first account's. A key of an account this node has no
// Service for yet is looked for in the first account before the open
// accounts are read again for it, so that older keys never cause a read.
func (t *Set) ForKey(ctx context.Context, keyID string) *iamd.Service {
	acct, ok := iamd.KeyAccount(keyID)
	if !ok || acct == t.cfg.First.Account().ID {
		return t.cfg.First
	}
	svc := t.served(acct)
	if svc == nil {
		if _, err := t.cfg.First.Credential(ctx, keyID); err == nil {
			return t.cfg.First
		}
		var err error
		if svc, err = t.Service(ctx, acct); err != nil {
			return t.cfg.First
		}
	}
	if !iamd.IsSessionKey(keyID) {
		if _, err := svc.Credential(ctx, keyID); iamd.KindOf(err) == iamd.NotFound {
			return t.cfg.First
		}
	}
	return svc
}

var _ iamd.Accounts = (*Set)(nil)

// refresh reads the open accounts again; a failure keeps the last list
// until the next try.
func (t *Set) refresh() {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	open, err := t.cfg.Open(ctx)
	t.mu.Lock()
	defer t.mu.Unlock()
	t.refreshing.Store(false)
	if err != nil || t.closed {
		return
	}
	t.set(open)
}

// set makes open the list of open accounts; t.mu is held.
func (t *Set) set(open map[string]time.Time) {
	for id := range t.gone {
		delete(open, id)
	}
	t.open, t.readAt = open, t.cfg.Now()
	t.dropClosed()
}

// Opened serves the account of that ID, made now on this node
// (organizations.Organizations.OnCreate).
func (t *Set) Opened(id string, created time.Time) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.open != nil {
		t.open[id] = created
	}
}

// Closed stops the account of that ID at once, on this node: its keys and
// sessions authenticate nothing more (organizations.Organizations.OnClose).
func (t *Set) Closed(id string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.gone[id] = true
	delete(t.open, id)
	t.dropClosed()
}

// dropClosed stops the Services of accounts no longer open, and tells
// the first account's watchers (the doors) that keys are gone; t.mu is
// held.
func (t *Set) dropClosed() {
	dropped := false
	for id, svc := range t.services {
		if _, ok := t.open[id]; !ok {
			svc.Close()
			delete(t.services, id)
			dropped = true
		}
	}
	if dropped {
		t.cfg.First.ForgetAll()
	}
}

// Close stops every account's Service but the first's.
func (t *Set) Close() {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.closed = true
	for id, svc := range t.services {
		svc.Close()
		delete(t.services, id)
	}
}
