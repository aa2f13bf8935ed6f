package main

import (
	"cmp"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"iamd"
	"iamd/postgres"
	"iamd/replica"
)

// replicaFile is the replica's snapshot in the data dir (PostgreSQL only:
// a SQLite store is the node's own file).
func replicaFile(c Config) string { return filepath.Join(c.DataDir, "replica.snapshot") }

func snapshotExists(c Config) bool {
	_, err := os.Stat(replicaFile(c))
	return err == nil
}

// openReplica loads the node's replica of m.store (PostgreSQL): it follows
// the store's change log (or, with --replica-db, a standby's), keeps a
// snapshot in the data dir and decides for up to --max-stale without the
// database. Writes through m.store wait until the replica has applied them.
func (m *Main) openReplica(ctx context.Context) error {
	c := m.cfg
	log, ok := m.store.(iamd.ChangeLog)
	if !ok {
		return fmt.Errorf("the store keeps no change log")
	}
	// NOTIFY wakes the replica within milliseconds; the poll bounds how
	// late a change is seen while it cannot (LISTEN reconnecting).
	rc := replica.Config{Log: log, Logger: m.log, Poll: cmp.Or(c.ReplicaPoll, 500*time.Millisecond),
		Path: replicaFile(c), MaxStale: cmp.Or(c.MaxStale, DefaultMaxStale)}
	if m.metrics != nil {
		rc.Applied = m.metrics.Applied
	}
	if n, ok := m.store.(iamd.ChangeNotifier); ok {
		rc.Notifier = n
	}
	if c.ReplicaDB != "" {
		// A standby: read-only, and no NOTIFY there; polled.
		standby, err := postgres.OpenWith(ctx, c.ReplicaDB, postgres.Options{ReadOnly: true, Lazy: snapshotExists(c)})
		if err != nil {
			return fmt.Errorf("--replica-db %s: %w", redactDSN(c.ReplicaDB), err)
		}
		m.standby = standby
		rc.Log, rc.Notifier = standby, nil
		rc.Poll = cmp.Or(c.ReplicaPoll, 100*time.Millisecond)
		// This node's writes go to the primary: it waits until the
		// standby has replayed them, as long as a standby may lag.
		rc.SyncTimeout = 10 * time.Second
	}
	r, err := replica.Open(ctx, rc)
	if err != nil {
		return fmt.Errorf("database %s: %w", redactDSN(c.DB), err)
	}
	m.replica = r
	log.OnCommit(r.Committed)
	return nil
}
