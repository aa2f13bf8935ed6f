package main

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"syscall"

	"iamd"
	"iamd/sqlite"
)

// storeFlags parses the flags a command that opens the store takes:
// --data-dir and --db, as serve reads them, and what more adds.
func storeFlags(name string, args []string, stdout io.Writer, more func(*flag.FlagSet)) (Config, error) {
	env := envOr(os.Getenv)
	c := Config{Addr: "127.0.0.1:8600", Region: "us-east-1", LogFormat: "text", Durability: "full", GatewaySocketMode: "0600", KeystoneRoles: "member"}
	fs := flag.NewFlagSet("iamd "+name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.StringVar(&c.DataDir, "data-dir", env("IAMD_DATA_DIR", "./iamd-data"), "data directory: database, master key, root credentials (IAMD_DATA_DIR)")
	fs.StringVar(&c.DB, "db", env("IAMD_DB", ""), "database; empty means the SQLite file in the data dir (IAMD_DB)")
	if more != nil {
		more(fs)
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			fs.SetOutput(stdout)
			fmt.Fprintf(stdout, "usage: iamd %s [flags]\n", name)
			fs.PrintDefaults()
			return c, errHelp
		}
		return c, fmt.Errorf("%v (iamd %s -h lists the flags)", err, name)
	}
	if fs.NArg() > 0 {
		return c, fmt.Errorf("unexpected argument %q (iamd %s -h lists the flags)", fs.Arg(0), name)
	}
	c.MasterKey = os.Getenv("IAMD_MASTER_KEY")
	return c, c.Validate()
}

// runMigrate brings the schema up to date, on a new data dir too.
func runMigrate(args []string, stdout, stderr io.Writer) error {
	c, err := storeFlags("migrate", args, stdout, nil)
	if err != nil {
		return err
	}
	syscall.Umask(0o077)
	if !isPostgres(c.DB) {
		if err := privateDir(filepath.Dir(sqlitePath(c))); err != nil {
			return fmt.Errorf("data dir: %w (check the directory's permissions)", err)
		}
		lock, err := lockStore(sqlitePath(c))
		if err != nil {
			return err
		}
		defer lock.Close()
		// A new database gets its master key first, as serve would make
		// it: serve refuses a database whose key is missing.
		if !storeExists(c) {
			if _, err := loadMasterKey(c.MasterKey, filepath.Join(c.DataDir, "master.key"), false); err != nil {
				return err
			}
		}
	}
	st, name, err := openStore(context.Background(), c, true)
	if err != nil {
		return err
	}
	fmt.Fprintln(stderr, "iamd: the schema of", name, "is current")
	return st.Close()
}

// runBackup copies the SQLite database online.
func runBackup(args []string, stdout, stderr io.Writer) error {
	var to string
	c, err := storeFlags("backup", args, stdout, func(fs *flag.FlagSet) {
		fs.StringVar(&to, "to", "", "the new file to write the copy to (required)")
	})
	if err != nil {
		return err
	}
	if to == "" {
		return errors.New("--to FILE is required (iamd backup -h lists the flags)")
	}
	if isPostgres(c.DB) {
		return errors.New("iamd backup copies SQLite stores; back PostgreSQL up with pg_dump (see docs/OPERATIONS.md)")
	}
	syscall.Umask(0o077)
	db := sqlitePath(c)
	if err := sqlite.Backup(context.Background(), db, to); err != nil {
		return err
	}
	fmt.Fprintf(stderr, "iamd: backed up %s to %s; it opens only with %s (or IAMD_MASTER_KEY): keep the two together\n",
		db, to, filepath.Join(c.DataDir, "master.key"))
	return nil
}

// runRotate re-encrypts every secret under a new master key, with the
// server stopped (on SQLite the lock enforces it).
func runRotate(args []string, stdout, stderr io.Writer) error {
	var newKeyFile string
	c, err := storeFlags("rotate-master-key", args, stdout, func(fs *flag.FlagSet) {
		fs.StringVar(&newKeyFile, "new-key-file", "", "file holding the new 32-byte key (base64 or hex); empty: a new key is generated into <data-dir>/master.key")
	})
	if err != nil {
		return err
	}
	syscall.Umask(0o077)
	keyPath := filepath.Join(c.DataDir, "master.key")
	if c.MasterKey != "" && newKeyFile == "" {
		return errors.New("the master key comes from IAMD_MASTER_KEY: give the new one with --new-key-file, then set IAMD_MASTER_KEY to it")
	}
	if !isPostgres(c.DB) {
		if !storeExists(c) {
			return fmt.Errorf("no database at %s to rotate", sqlitePath(c))
		}
		lock, err := lockStore(sqlitePath(c))
		if err != nil {
			return fmt.Errorf("%w (stop iamd serve before rotating)", err)
		}
		defer lock.Close()
	}
	oldKey, err := loadMasterKey(c.MasterKey, keyPath, true)
	if err != nil {
		return err
	}
	var newKey []byte
	if newKeyFile != "" {
		b, err := os.ReadFile(newKeyFile)
		if err != nil {
			return fmt.Errorf("--new-key-file: %w", err)
		}
		if newKey, err = decodeKey(strings.TrimSpace(string(b))); err != nil {
			return fmt.Errorf("--new-key-file: %w", err)
		}
	} else {
		newKey = make([]byte, iamd.MasterKeySize)
		if _, err := rand.Read(newKey); err != nil {
			return err
		}
	}
	oldSealer, err := iamd.NewSealer(oldKey)
	if err != nil {
		return err
	}
	newSealer, err := iamd.NewSealer(newKey)
	if err != nil {
		return err
	}
	// The new key is on disk before the database changes: a crash in
	// between leaves master.key.new, which opens the rotated database.
	pending := keyPath + ".new"
	useFile := c.MasterKey == "" // else the operator sets IAMD_MASTER_KEY
	if useFile {
		if err := writeFileAtomic(pending, []byte(base64.StdEncoding.EncodeToString(newKey)+"\n"), 0o600); err != nil {
			return fmt.Errorf("writing %s: %w", pending, err)
		}
	}
	st, name, err := openStore(context.Background(), c, false)
	if err != nil {
		return err
	}
	defer st.Close()
	n, err := iamd.RotateMasterKey(context.Background(), st, oldSealer, newSealer)
	if errors.Is(err, iamd.ErrWrongMasterKey) {
		os.Remove(pending)
		return fmt.Errorf("the current master key does not open %s: nothing changed", name)
	}
	if err != nil {
		os.Remove(pending)
		return fmt.Errorf("rotating %s: %w (nothing changed)", name, err)
	}
	if useFile {
		if err := os.Rename(pending, keyPath); err != nil {
			return fmt.Errorf("%s now opens with %s; rename it to %s: %w", name, pending, keyPath, err)
		}
		fmt.Fprintf(stderr, "iamd: re-encrypted %d secrets of %s under a new key in %s; the old key opens nothing now\n", n, name, keyPath)
		return nil
	}
	fmt.Fprintf(stderr, "iamd: re-encrypted %d secrets of %s under the key in %s; set IAMD_MASTER_KEY to it on every node before starting\n", n, name, newKeyFile)
	return nil
}
