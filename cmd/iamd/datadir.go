package main

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"syscall"
)

// foundDataDir is what a data dir held before a start, so that a failed
// start can leave it as it found it.
type foundDataDir struct {
	dir     string
	existed bool
	files   map[string]bool // path → existed
}

// snapshotDataDir notes which of the files a start may make exist.
func snapshotDataDir(c Config) foundDataDir {
	f := foundDataDir{dir: c.DataDir, files: map[string]bool{}}
	_, err := os.Stat(c.DataDir)
	f.existed = err == nil
	paths := []string{filepath.Join(c.DataDir, "master.key"), filepath.Join(c.DataDir, "root-credentials")}
	if !isPostgres(c.DB) {
		db := sqlitePath(c)
		paths = append(paths, db, db+"-wal", db+"-shm", db+".lock")
	}
	for _, p := range paths {
		_, err := os.Stat(p)
		f.files[p] = err == nil
	}
	return f
}

// restore removes what was made since the snapshot.
func (f foundDataDir) restore() {
	for p, existed := range f.files {
		if !existed {
			os.Remove(p)
		}
	}
	if !f.existed {
		os.Remove(f.dir) // only if empty: never what someone else put there
	}
}

// lockStore takes an exclusive lock beside the SQLite file, held until
// the returned file is closed: two processes on one SQLite store would
// not see each other's changes (a key deleted through one would keep
// working on the other until its cache expired).
func lockStore(db string) (*os.File, error) {
	f, err := os.OpenFile(db+".lock", os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("lock %s.lock: %w (check the directory's permissions)", db, err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		f.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			return nil, fmt.Errorf("another iamd is using %s: stop it first; several nodes need PostgreSQL (--db postgres://…)", db)
		}
		return nil, fmt.Errorf("lock %s.lock: %w", db, err)
	}
	return f, nil
}
