package pgtest

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"sort"
	"strconv"
	"testing"
)

// Cluster is a PostgreSQL server of a test's own, which the test may stop
// and start at will without disturbing other tests.
type Cluster struct {
	DSN  string
	Port int
	bin  string
	dir  string
	data string
	log  string
	opts string   // the server's options, as pg_ctl start -o takes them
	as   []string // runs a command as the postgres user when root
}

// NewCluster initializes and starts a private cluster on a free loopback
// port, removed when the test ends. The server binaries are found in
// IAMD_TEST_PG_BIN or /usr/lib/postgresql/*/bin; without them the test is
// skipped, except under CI=true. As root, the server runs as the postgres
// user: initdb and pg_ctl refuse root.
func NewCluster(t testing.TB) *Cluster {
	t.Helper()
	bin := pgBin(t)
	dir, err := os.MkdirTemp("", "iamd-pgcluster-")
	if err != nil {
		t.Fatal(err)
	}
	c := &Cluster{bin: bin, dir: dir, data: filepath.Join(dir, "data"), log: filepath.Join(dir, "server.log")}
	if os.Getuid() == 0 {
		u, err := user.Lookup("postgres")
		if err != nil {
			t.Fatalf("running as root needs a postgres user: %v", err)
		}
		uid, _ := strconv.Atoi(u.Uid)
		gid, _ := strconv.Atoi(u.Gid)
		os.Chown(dir, uid, gid)
		c.as = []string{"runuser", "-u", "postgres", "--"}
	}
	t.Cleanup(func() {
		c.run("pg_ctl", "-D", c.data, "-m", "immediate", "stop")
		os.RemoveAll(dir)
	})
	if out, err := c.run("initdb", "-D", c.data, "-U", "postgres", "--auth=trust", "--encoding=UTF8", "--locale=C"); err != nil {
		t.Fatalf("initdb: %v\n%s", err, out)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	c.Port = l.Addr().(*net.TCPAddr).Port
	l.Close()
	c.opts = fmt.Sprintf("-h 127.0.0.1 -p %d -k %s -c fsync=on -c max_connections=100", c.Port, dir)
	c.Start(t)
	c.DSN = fmt.Sprintf("postgres://postgres@127.0.0.1:%d/postgres?sslmode=disable", c.Port)
	return c
}

// Stop stops the server (pg_ctl -m fast: connections are cut, the data
// is checkpointed): the database is unreachable until Start.
func (c *Cluster) Stop(t testing.TB) {
	t.Helper()
	if out, err := c.run("pg_ctl", "-D", c.data, "-m", "fast", "-w", "-t", "60", "stop"); err != nil {
		t.Fatalf("pg_ctl stop: %v\n%s", err, out)
	}
}

// Start starts the server with its options, waiting until it accepts
// connections.
func (c *Cluster) Start(t testing.TB) {
	t.Helper()
	if out, err := c.run("pg_ctl", "-D", c.data, "-l", c.log, "-w", "-t", "60", "-o", c.opts, "start"); err != nil {
		t.Fatalf("pg_ctl start: %v\n%s", err, out)
	}
}

// Crash stops the server as a crash would (pg_ctl -m immediate: no
// checkpoint, recovery from the WAL at the next start) and starts it again
// with the options it had.
func (c *Cluster) Crash(t testing.TB) {
	t.Helper()
	if out, err := c.run("pg_ctl", "-D", c.data, "-l", c.log, "-m", "immediate", "-w", "-t", "60", "restart"); err != nil {
		t.Fatalf("pg_ctl restart: %v\n%s", err, out)
	}
}

// Standby makes a streaming standby of c (pg_basebackup -R, a replication
// stream of its own, read-only), started on a port of its own and removed
// when the test ends. Its DSN takes only reads.
func (c *Cluster) Standby(t testing.TB) *Cluster {
	t.Helper()
	sdir, err := os.MkdirTemp("", "iamd-pgstandby-")
	if err != nil {
		t.Fatal(err)
	}
	s := &Cluster{bin: c.bin, dir: sdir, data: filepath.Join(sdir, "data"), log: filepath.Join(sdir, "server.log"), as: c.as}
	if os.Getuid() == 0 {
		exec.Command("chown", "postgres:", sdir).Run()
	}
	t.Cleanup(func() {
		s.run("pg_ctl", "-D", s.data, "-m", "immediate", "stop")
		os.RemoveAll(sdir)
	})
	if out, err := s.run("pg_basebackup", "-h", "127.0.0.1", "-p", strconv.Itoa(c.Port), "-U", "postgres", "-D", s.data, "-R", "-X", "stream"); err != nil {
		t.Fatalf("pg_basebackup: %v\n%s", err, out)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s.Port = l.Addr().(*net.TCPAddr).Port
	l.Close()
	s.opts = fmt.Sprintf("-h 127.0.0.1 -p %d -k %s -c hot_standby=on", s.Port, sdir)
	s.Start(t)
	s.DSN = fmt.Sprintf("postgres://postgres@127.0.0.1:%d/postgres?sslmode=disable", s.Port)
	return s
}

// pgBin is the directory of PostgreSQL's server binaries: IAMD_TEST_PG_BIN
// or the newest /usr/lib/postgresql/*/bin. Without them the test is
// skipped, except under CI=true.
func pgBin(t testing.TB) string {
	t.Helper()
	bin := os.Getenv("IAMD_TEST_PG_BIN")
	if bin == "" {
		dirs, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
		sort.Strings(dirs)
		if len(dirs) > 0 {
			bin = dirs[len(dirs)-1]
		}
	}
	if _, err := os.Stat(filepath.Join(bin, "initdb")); bin == "" || err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("no PostgreSQL server binaries (initdb): CI must run the PostgreSQL tests")
		}
		t.Skip("no PostgreSQL server binaries (initdb); set IAMD_TEST_PG_BIN")
	}
	return bin
}

func (c *Cluster) run(name string, args ...string) ([]byte, error) {
	argv := append(append(append([]string{}, c.as...), filepath.Join(c.bin, name)), args...)
	return exec.Command(argv[0], argv[1:]...).CombinedOutput()
}
