// Package replica is a node's own copy of everything authentication and
// authorization read: access keys with their sealed secrets, users and
// their groups, roles, managed policies and what they are attached to,
// buckets. It is loaded once, from the database or from the snapshot file
// the node keeps in its data dir, and kept current by following the
// store's change log (iamd.ChangeLog) from the last entry it applied; a
// PostgreSQL NOTIFY only wakes it, and it polls besides. iamd.Service reads
// it for every decision, so a node keeps deciding, from memory, while its
// database is slow or gone, for as long as its operator allows
// (Config.MaxStale); writes still need the database.
//
// Consistency: the node that writes applies its own change before it
// answers (read-your-writes, see Committed); other nodes apply it when
// NOTIFY wakes them or at their next poll; a node cut off from the
// database decides as of its last read until MaxStale, then refuses.
package replica

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"iamd"
)

// Config configures a Replica.
type Config struct {
	// Log is the database followed: the primary's, or a standby's for a
	// node far from the primary (whose writes still go to the primary).
	Log iamd.ChangeLog
	// Notifier, if set, wakes the replica when the log grows.
	Notifier iamd.ChangeNotifier
	// Path is the snapshot file (with a journal and a position file
	// beside it); "" keeps none (SQLite: the database is the node's own
	// file).
	Path string
	// MaxStale is how long the replica may go unconfirmed by the database
	// before its reads fail with Unavailable; 0 is no bound.
	MaxStale time.Duration
	// Poll is how often the log is read without a wake-up (default 1 s).
	Poll time.Duration
	// SyncTimeout bounds how long a write waits for its change to be
	// applied here (default 5 s); past it the entities it changed are
	// refused until the change is applied.
	SyncTimeout time.Duration
	Logger      *slog.Logger
	Now         func() time.Time
	// Applied, if set, is told of each batch of entries applied and how
	// long after its commit the newest was applied (metrics).
	Applied func(entries int, lag time.Duration)
}

// Replica is a node's replica. Its reads are safe for concurrent use.
type Replica struct {
	cfg Config
	log *slog.Logger

	mu      sync.RWMutex
	st      *state
	synced  time.Time
	lastErr error
	lag     time.Duration
	pending map[pendingKey]int64 // this node's changes not read back yet, by entity: the seq

	// syncMu is held by whoever reads the log: the follower, or a write
	// waiting for its change (WaitFor). Waiters queue on it, and most find
	// their change applied by the one before them: one read serves many.
	syncMu sync.Mutex
	// syncStart is when the last read of the log began (syncMu's).
	syncStart time.Time
	// early holds deltas of this node's commits that came before those
	// ahead of them, by their first entry's seq (syncMu's).
	early map[int64]*iamd.Delta
	// advanced is closed, and replaced, whenever the position moves (mu's).
	advanced chan struct{}

	subsMu sync.Mutex
	subs   []iamd.Changes

	kick chan struct{}

	disk *disk // nil without Config.Path; under syncMu

	running atomic.Bool
	done    chan struct{}
}

type pendingKey struct {
	kind iamd.ChangeKind
	id   string
}

// ErrNoReplica is returned by Open when the database cannot be read and
// there is no snapshot file to start from.
var ErrNoReplica = errors.New("replica: the database cannot be read and there is no snapshot to start from")

// Open loads the replica: from the snapshot file, then brought up to date
// from the log, or from the database in full when there is no usable file.
// With the database unreachable it starts from the file alone, degraded;
// without a file it fails.
func Open(ctx context.Context, cfg Config) (*Replica, error) {
	if cfg.Poll <= 0 {
		cfg.Poll = time.Second
	}
	if cfg.SyncTimeout <= 0 {
		cfg.SyncTimeout = 5 * time.Second
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	r := &Replica{cfg: cfg, log: cfg.Logger, pending: map[pendingKey]int64{}, kick: make(chan struct{}, 1), done: make(chan struct{}),
		advanced: make(chan struct{})}
	start := time.Now()
	if cfg.Path != "" {
		r.disk = &disk{path: cfg.Path}
		st, synced, err := load(cfg.Path)
		switch {
		case err == nil:
			r.st, r.synced = st, synced
			r.log.Info("replica loaded from its snapshot", "file", cfg.Path, "seq", st.seq, "keys", len(st.keys), "users", len(st.users),
				"synced", synced.UTC().Format(time.RFC3339), "took_ms", time.Since(start).Milliseconds())
		case !errors.Is(err, errNoFile):
			r.log.Warn("the replica's snapshot cannot be used; loading from the database", "file", cfg.Path, "err", err)
		}
	}
	r.syncMu.Lock()
	defer r.syncMu.Unlock()
	if r.st == nil {
		if err := r.reload(ctx); err != nil {
			if iamd.KindOf(err) == iamd.Unavailable {
				return nil, fmt.Errorf("%w: %v", ErrNoReplica, err)
			}
			return nil, err
		}
		r.log.Info("replica loaded from the database", "seq", r.st.seq, "keys", len(r.st.keys), "users", len(r.st.users),
			"took_ms", time.Since(start).Milliseconds())
	} else if err := r.catchUp(ctx); err != nil {
		r.log.Warn("the database cannot be read: deciding from the snapshot", "synced", r.synced.UTC().Format(time.RFC3339), "err", err)
	}
	r.compact() // one snapshot of it all, and an empty journal
	return r, nil
}

// Account is the account of the data the replica holds.
func (r *Replica) Account() iamd.Account {
	r.mu.RLock()
	defer r.mu.RUnlock()
	return r.st.account
}

// Subscribe has c told of every change applied (see iamd.Replica).
func (r *Replica) Subscribe(c iamd.Changes) {
	r.subsMu.Lock()
	r.subs = append(r.subs, c)
	r.subsMu.Unlock()
}

// Status says how current the replica is.
func (r *Replica) Status() iamd.ReplicaStatus {
	r.mu.RLock()
	defer r.mu.RUnlock()
	return iamd.ReplicaStatus{Seq: r.st.seq, Synced: r.synced, Err: r.lastErr, Stale: r.staleLocked(), MaxStale: r.cfg.MaxStale, Lag: r.lag}
}

func (r *Replica) staleLocked() bool {
	return r.cfg.MaxStale > 0 && r.cfg.Now().Sub(r.synced) > r.cfg.MaxStale
}

// usable says whether a read may answer: the replica is not too stale,
// and the entity (kind "" for none in particular) has no change of this
// node's that was not read back. Callers hold r.mu.
func (r *Replica) usable(kind iamd.ChangeKind, id string) error {
	if r.staleLocked() {
		return &iamd.Error{Kind: iamd.Unavailable, Message: "The service is unavailable.",
			Err: fmt.Errorf("the replica was last confirmed by the database at %s, longer ago than the %s allowed", r.synced.UTC().Format(time.RFC3339), r.cfg.MaxStale)}
	}
	if len(r.pending) > 0 && kind != "" {
		if _, ok := r.pending[pendingKey{kind, id}]; ok {
			return &iamd.Error{Kind: iamd.Unavailable, Message: "The service is unavailable.", Err: errors.New("a change made here is not read back yet")}
		}
	}
	return nil
}

// usablePolicies is usable for a policy decision: no user, group, role or
// policy change of this node's may be unread.
func (r *Replica) usablePolicies() error {
	for k := range r.pending {
		if k.kind != iamd.ChangeKey && k.kind != iamd.ChangeBucket {
			return &iamd.Error{Kind: iamd.Unavailable, Message: "The service is unavailable.", Err: errors.New("a change made here is not read back yet")}
		}
	}
	return nil
}

// Committed is the store's OnCommit hook: it makes the replica apply the
// commit's delta before the write answers, so that the node that wrote
// decides by its own change from its next request on. A delta that follows
// the replica's position is applied as the transaction read it; one that
// comes early (another commit of this node's not yet here, or another
// node's change in between) waits for the ones before it a moment, then
// the log is read. If it cannot be (the database went away just after the
// commit), what it names is refused here until it is read back.
func (r *Replica) Committed(ctx context.Context, d *iamd.Delta) {
	if len(d.Entries) == 0 {
		return
	}
	last := d.Entries[len(d.Entries)-1].Seq
	r.mu.Lock()
	for _, e := range d.Entries {
		if e.Seq > r.st.seq {
			k := pendingKey{e.Kind, e.ID}
			r.pending[k] = max(r.pending[k], e.Seq)
		}
	}
	r.mu.Unlock()
	r.syncMu.Lock()
	if r.early == nil {
		r.early = map[int64]*iamd.Delta{}
	}
	if d.Entries[0].Seq > r.position() {
		r.early[d.Entries[0].Seq] = d
	}
	r.applyEarly()
	r.syncMu.Unlock()
	// Commits of this node's that came before it arrive within moments,
	// and apply it with theirs.
	wait := time.NewTimer(2 * time.Millisecond)
	defer wait.Stop()
	for {
		r.mu.RLock()
		pos, advanced := r.st.seq, r.advanced
		r.mu.RUnlock()
		if pos >= last {
			return
		}
		select {
		case <-advanced:
			continue
		case <-wait.C:
		}
		break
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), r.cfg.SyncTimeout)
	defer cancel()
	if err := r.WaitFor(ctx, last); err != nil {
		r.log.Warn("a change made here is not read back yet: what it changed is refused here until it is", "seq", last, "err", err)
	}
}

// applyEarly applies the deltas of this node's commits that follow the
// replica's position, in order, and forgets those it passed. The caller
// holds syncMu.
func (r *Replica) applyEarly() {
	for {
		pos := r.position()
		for seq := range r.early {
			if seq <= pos {
				delete(r.early, seq)
			}
		}
		d := r.early[pos+1]
		if d == nil {
			return
		}
		delete(r.early, pos+1)
		r.applyDelta(d, false)
	}
}

// WaitFor waits until the replica has applied entry seq, reading the log
// itself (a standby may not have replayed it yet: then again, shortly).
func (r *Replica) WaitFor(ctx context.Context, seq int64) error {
	for wait := time.Millisecond; ; wait = min(2*wait, 50*time.Millisecond) {
		if r.position() >= seq {
			return nil
		}
		r.syncMu.Lock()
		var err error
		if r.position() < seq {
			err = r.catchUp(ctx)
		}
		r.syncMu.Unlock()
		if err != nil {
			return err
		}
		if r.position() >= seq {
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(wait):
		}
	}
}

// readThrough makes a lookup that found nothing current as of now: what
// another node made a moment ago is then found here too (a key created on
// one node works on the next request, on any node). It reads the log unless
// a read that began after the lookup did already (many misses at once
// share one read), and not at all while the database cannot be read: a
// node cut off answers from what it has.
func (r *Replica) readThrough(ctx context.Context, missed time.Time) {
	r.mu.RLock()
	cutOff := r.lastErr != nil
	r.mu.RUnlock()
	if cutOff {
		return
	}
	r.syncMu.Lock()
	defer r.syncMu.Unlock()
	if r.syncStart.After(missed) {
		return
	}
	ctx, cancel := context.WithTimeout(ctx, time.Second)
	defer cancel()
	r.catchUp(ctx)
}

func (r *Replica) position() int64 {
	r.mu.RLock()
	defer r.mu.RUnlock()
	return r.st.seq
}

// sync reads the log until the replica is current.
func (r *Replica) sync(ctx context.Context) error {
	r.syncMu.Lock()
	defer r.syncMu.Unlock()
	return r.catchUp(ctx)
}

// Kick has the follower read the log now.
func (r *Replica) Kick() {
	select {
	case r.kick <- struct{}{}:
	default:
	}
}

// Start follows the log in the background until ctx ends; then the
// snapshot file is written (Close waits for it).
func (r *Replica) Start(ctx context.Context) {
	r.running.Store(true)
	go r.run(ctx)
}

func (r *Replica) run(ctx context.Context) {
	defer close(r.done)
	if r.cfg.Notifier != nil {
		go r.cfg.Notifier.NotifyChanges(ctx, r.Kick)
	}
	t := time.NewTicker(r.cfg.Poll)
	defer t.Stop()
	backoff := time.Duration(0)
	for {
		select {
		case <-ctx.Done():
			r.closeDisk()
			return
		case <-r.kick:
		case <-t.C:
		}
		if backoff > 0 {
			// The database failed at the last try: do not hammer it.
			select {
			case <-ctx.Done():
				r.closeDisk()
				return
			case <-time.After(backoff):
			}
		}
		if err := r.sync(ctx); err != nil {
			if ctx.Err() != nil {
				continue
			}
			backoff = min(max(2*backoff, 50*time.Millisecond), r.cfg.Poll)
		} else {
			backoff = 0
		}
	}
}

// closeDisk writes the whole state as the snapshot, once at the end.
func (r *Replica) closeDisk() {
	r.syncMu.Lock()
	defer r.syncMu.Unlock()
	r.compact()
	if r.disk != nil && r.disk.journal != nil {
		r.disk.journal.Close()
		r.disk.journal = nil
	}
}

// catchUp reads and applies the log until the replica is current; the
// caller holds syncMu.
func (r *Replica) catchUp(ctx context.Context) error {
	r.syncStart = time.Now()
	for {
		r.mu.RLock()
		pos, epoch := r.st.seq, r.st.epoch
		r.mu.RUnlock()
		d, err := r.cfg.Log.ChangesSince(ctx, pos, 1000)
		if err != nil {
			r.failed(err)
			return err
		}
		switch {
		case d.Epoch != epoch, d.Last < pos, len(d.Entries) > 0 && d.Entries[0].Seq != pos+1, hasAll(d), r.lostLast(d):
			// Another database, one restored to an earlier state, entries
			// pruned past this replica's position, an entry it applied
			// that the database no longer holds, or everything changed.
			r.log.Info("the replica is loaded again in full", "seq", pos, "log_head", d.Last, "epoch_changed", d.Epoch != epoch)
			if err := r.reload(ctx); err != nil {
				r.failed(err)
				return err
			}
			r.compact()
			r.publish(effects{}, true)
			continue
		}
		if r.applyDelta(d, true) {
			return nil
		}
	}
}

// applyDelta applies d and tells of it; fromLog says d was read from the
// database now (not a commit's own delta), so that the replica is
// confirmed current when it reaches d.Last. It reports whether it did.
// The caller holds syncMu.
func (r *Replica) applyDelta(d *iamd.Delta, fromLog bool) (current bool) {
	now := r.cfg.Now()
	r.mu.Lock()
	if d.Account.ID != "" {
		r.st.account = d.Account
	}
	fx := r.st.apply(d)
	for k, seq := range r.pending {
		if seq <= r.st.seq {
			delete(r.pending, k)
		}
	}
	current = fromLog && r.st.seq >= d.Last
	if current {
		r.synced, r.lastErr = now, nil
	}
	close(r.advanced)
	r.advanced = make(chan struct{})
	if n := len(d.Entries); n > 0 {
		r.lag = now.Sub(d.Entries[n-1].At)
	}
	synced, account, epoch := r.synced, r.st.account, r.st.epoch
	r.mu.Unlock()
	if len(d.Entries) > 0 {
		r.appendJournal(d, epoch, synced, account)
	} else if current {
		r.confirm(synced)
	}
	if n := len(d.Entries); n > 0 {
		r.publish(fx, false)
		if r.cfg.Applied != nil {
			r.cfg.Applied(n, max(0, now.Sub(d.Entries[n-1].At)))
		}
	}
	return current
}

// lostLast reports whether the database holds another entry than the
// replica applied at its position (a failover lost the one applied).
func (r *Replica) lostLast(d *iamd.Delta) bool {
	r.mu.RLock()
	last := r.st.last
	r.mu.RUnlock()
	if d.Base == nil || last.Seq == 0 || last.Seq != d.Base.Seq {
		return false
	}
	return last.Kind != d.Base.Kind || last.ID != d.Base.ID || !last.At.Equal(d.Base.At)
}

func hasAll(d *iamd.Delta) bool {
	for _, e := range d.Entries {
		if e.Kind == iamd.ChangeAll {
			return true
		}
	}
	return false
}

func (r *Replica) failed(err error) {
	r.mu.Lock()
	r.lastErr = err
	r.mu.Unlock()
}

// reload replaces the state with the database's, in full.
func (r *Replica) reload(ctx context.Context) error {
	snap, err := r.cfg.Log.Snapshot(ctx)
	if err != nil {
		return err
	}
	st := newState(snap.Epoch, snap.Seq, snap.Account, &snap.Records)
	r.mu.Lock()
	r.st, r.synced, r.lastErr = st, r.cfg.Now(), nil
	clear(r.pending)
	close(r.advanced)
	r.advanced = make(chan struct{})
	r.mu.Unlock()
	return nil
}

// publish tells the subscribers what changed.
func (r *Replica) publish(fx effects, all bool) {
	r.subsMu.Lock()
	subs := r.subs
	r.subsMu.Unlock()
	for _, c := range subs {
		switch {
		case all:
			if c.Reset != nil {
				c.Reset()
			}
			continue
		case fx.policies && c.Policies != nil:
			c.Policies()
		}
		if c.Key != nil {
			for k := range fx.keys {
				c.Key(k)
			}
		}
	}
}

// Close waits for the follower to end (Start's context must be done) and
// its last snapshot file to be written; never started, it writes the file.
func (r *Replica) Close() {
	if r.running.Load() {
		<-r.done
		return
	}
	r.closeDisk()
}
