package replica

import (
	"bufio"
	"encoding/gob"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	"iamd"
)

// The replica on disk, so that a node restarted (or killed) while its
// database is unreachable decides as it did:
//   - the snapshot (Path): everything the replica held at some moment, as
//     gob, written through a synced temporary file, so a crash leaves the
//     old file or the new one whole;
//   - the journal (Path.journal): every delta applied since, appended as
//     it is applied (a process killed loses nothing the kernel has);
//   - the position (Path.pos): when the database last confirmed it all
//     current, rewritten at most every 10 s while nothing changes.
// At start the three are read back and written again as one snapshot; the
// journal is folded into a new snapshot whenever it outgrows the last one.
// Secrets stay sealed in all of them, as in the database; every file is
// mode 0600.

const fileFormat = 2

type snapshotFile struct {
	Format  int
	Epoch   string
	Seq     int64
	Synced  time.Time
	Account iamd.Account
	iamd.Records
}

type journalEntry struct {
	Epoch   string
	Synced  time.Time
	Account iamd.Account
	Delta   iamd.Delta
}

type positionFile struct {
	Epoch  string    `json:"epoch"`
	Seq    int64     `json:"seq"`
	Synced time.Time `json:"synced"`
}

var errNoFile = errors.New("replica: no snapshot file")

// load reads the snapshot, the journal after it and the position, and
// returns the state they make.
func load(path string) (*state, time.Time, error) {
	f, err := os.Open(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, time.Time{}, errNoFile
	}
	if err != nil {
		return nil, time.Time{}, err
	}
	defer f.Close()
	var sf snapshotFile
	if err := gob.NewDecoder(bufio.NewReader(f)).Decode(&sf); err != nil {
		return nil, time.Time{}, fmt.Errorf("replica: snapshot %s: %w", path, err)
	}
	if sf.Format != fileFormat {
		return nil, time.Time{}, fmt.Errorf("replica: snapshot %s is of format %d, not %d", path, sf.Format, fileFormat)
	}
	st := newState(sf.Epoch, sf.Seq, sf.Account, &sf.Records)
	synced := sf.Synced
	if j, err := os.Open(path + ".journal"); err == nil {
		dec := gob.NewDecoder(bufio.NewReader(j))
		for {
			var e journalEntry
			// A torn last entry (a kill mid-write) ends the journal.
			if err := dec.Decode(&e); err != nil {
				break
			}
			if len(e.Delta.Entries) > 0 && e.Delta.Entries[0].Seq != st.seq+1 || e.Epoch != st.epoch {
				break // not this snapshot's journal
			}
			st.apply(&e.Delta)
			if e.Account.ID != "" {
				st.account = e.Account
			}
			synced = e.Synced
		}
		j.Close()
	}
	if b, err := os.ReadFile(path + ".pos"); err == nil {
		var p positionFile
		if json.Unmarshal(b, &p) == nil && p.Epoch == st.epoch && p.Seq == st.seq && p.Synced.After(synced) {
			synced = p.Synced
		}
	}
	return st, synced, nil
}

// disk is the replica's files; the follower's alone, under syncMu.
type disk struct {
	path     string
	journal  *os.File
	cw       *countingWriter // under w: what reached the file
	w        *bufio.Writer
	enc      *gob.Encoder
	size     int64 // bytes in the journal
	base     int64 // bytes of the last snapshot
	posSaved time.Time
}

// compact writes the whole state as the snapshot and starts an empty
// journal. The caller holds syncMu.
func (r *Replica) compact() {
	d := r.disk
	if d == nil {
		return
	}
	r.mu.RLock()
	st, synced := r.st, r.synced
	sf := &snapshotFile{Format: fileFormat, Epoch: st.epoch, Seq: st.seq, Synced: synced, Account: st.account, Records: st.records()}
	r.mu.RUnlock()
	var n int64
	if err := writeFile(d.path, func(w io.Writer) error {
		c := &countingWriter{w: w}
		err := gob.NewEncoder(c).Encode(sf)
		n = c.n
		return err
	}); err != nil {
		r.log.Error("writing the replica's snapshot failed", "file", d.path, "err", err)
		return
	}
	d.base, d.posSaved = n, synced
	if d.journal != nil {
		d.journal.Close()
	}
	j, err := os.OpenFile(d.path+".journal", os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		r.log.Error("starting the replica's journal failed", "file", d.path+".journal", "err", err)
		d.journal = nil
		return
	}
	d.journal, d.size = j, 0
	d.cw = &countingWriter{w: j}
	d.w = bufio.NewWriter(d.cw)
	d.enc = gob.NewEncoder(d.w)
}

// journal appends a delta just applied. The caller holds syncMu.
func (r *Replica) appendJournal(delta *iamd.Delta, epoch string, synced time.Time, account iamd.Account) {
	d := r.disk
	if d == nil || d.journal == nil {
		return
	}
	if err := d.enc.Encode(journalEntry{Epoch: epoch, Synced: synced, Account: account, Delta: *delta}); err == nil {
		err = d.w.Flush()
		d.size = d.cw.n
		if err == nil {
			if d.size > max(d.base, 1<<20) {
				r.compact() // the journal outgrew the snapshot
			}
			return
		}
	}
	r.log.Error("appending to the replica's journal failed; writing a snapshot instead", "file", d.path+".journal")
	r.compact()
}

// confirm records that the database confirmed the replica current at
// synced, at most every 10 s. The caller holds syncMu.
func (r *Replica) confirm(synced time.Time) {
	d := r.disk
	if d == nil || synced.Sub(d.posSaved) < 10*time.Second {
		return
	}
	r.mu.RLock()
	p := positionFile{Epoch: r.st.epoch, Seq: r.st.seq, Synced: synced}
	r.mu.RUnlock()
	if err := writeFile(d.path+".pos", func(w io.Writer) error { return json.NewEncoder(w).Encode(p) }); err != nil {
		r.log.Error("writing the replica's position failed", "file", d.path+".pos", "err", err)
		return
	}
	d.posSaved = synced
}

type countingWriter struct {
	w io.Writer
	n int64
}

func (c *countingWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}

// writeFile writes path through a synced temporary file of mode 0600.
func writeFile(path string, fill func(io.Writer) error) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), ".replica-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if err := tmp.Chmod(0o600); err != nil {
		tmp.Close()
		return err
	}
	w := bufio.NewWriterSize(tmp, 1<<20)
	if err := fill(w); err != nil {
		tmp.Close()
		return err
	}
	if err := w.Flush(); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return err
	}
	if d, err := os.Open(filepath.Dir(path)); err == nil {
		d.Sync()
		d.Close()
	}
	return nil
}
