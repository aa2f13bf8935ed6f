package pgtest

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// Patroni is PostgreSQL that fails over: three members under Patroni,
// with one etcd as its store, on loopback, in synchronous_mode_strict
// (docs/OPERATIONS.md has the same settings). DSN reaches whichever
// member leads. Without patroni, etcd or PostgreSQL's binaries the test
// is skipped, except under CI=true.
type Patroni struct {
	DSN     string
	Members []*Member
	dir     string
	etcd    *exec.Cmd
	etcdURL string
	bin     string
	as      []string
	mu      sync.Mutex
}

// Member is one PostgreSQL of the cluster with its Patroni.
type Member struct {
	Name    string
	PGPort  int
	APIPort int
	data    string
	config  string
	log     *os.File
	cmd     *exec.Cmd
}

// PatroniConfig is the configuration of member name of a cluster, as
// tests and docs/OPERATIONS.md use it (JSON, which is YAML).
func PatroniConfig(name string, pgPort, apiPort int, etcdHosts, dataDir, sockDir, binDir string) map[string]any {
	return map[string]any{
		"scope": "iamd",
		"name":  name,
		"restapi": map[string]any{
			"listen": fmt.Sprintf("127.0.0.1:%d", apiPort), "connect_address": fmt.Sprintf("127.0.0.1:%d", apiPort),
		},
		// etcd's v2 API, not etcd3: Debian 12's Patroni (3.0.2) renews
		// its leader key under etcd3 with an unconditional put, so a
		// primary that was hung past the key's TTL takes the key back from
		// the member promoted meanwhile when it resumes, and that member's
		// acknowledged commits are rewound away (fixed upstream in 3.0.3,
		// patroni/patroni#2689). Under etcd's v2 API the renewal is a
		// compare-and-swap on the member's own name.
		"etcd": map[string]any{"hosts": etcdHosts},
		"bootstrap": map[string]any{
			"dcs": map[string]any{
				"ttl": 20, "loop_wait": 2, "retry_timeout": 5,
				"synchronous_mode": true, "synchronous_mode_strict": true,
				"primary_start_timeout": 0,
				"postgresql": map[string]any{
					"use_pg_rewind": true, "use_slots": true,
					"parameters": map[string]any{
						"max_connections": 50, "shared_buffers": "16MB", "wal_level": "replica", "hot_standby": "on",
						"max_wal_senders": 10, "max_replication_slots": 10, "wal_keep_size": "1GB", "wal_log_hints": "on",
					},
				},
			},
			"initdb": []any{map[string]any{"encoding": "UTF8"}, map[string]any{"locale": "C"}, map[string]any{"auth": "trust"}},
		},
		"postgresql": map[string]any{
			"listen": fmt.Sprintf("127.0.0.1:%d", pgPort), "connect_address": fmt.Sprintf("127.0.0.1:%d", pgPort),
			"data_dir": dataDir, "bin_dir": binDir, "pgpass": filepath.Join(sockDir, "pgpass"),
			"authentication": map[string]any{
				"superuser":   map[string]any{"username": "postgres"},
				"replication": map[string]any{"username": "postgres"},
			},
			"parameters": map[string]any{"unix_socket_directories": sockDir},
			// Written by Patroni before every start, so that a member
			// rejoining after pg_rewind or a new copy has it (under
			// bootstrap it is written once, at initdb).
			"pg_hba": []string{"local all all trust", "host all all 127.0.0.1/32 trust", "host replication all 127.0.0.1/32 trust"},
			// A former primary that cannot rewind, or whose timeline
			// diverged, is copied afresh from the leader instead of
			// staying down.
			"remove_data_directory_on_rewind_failure":     true,
			"remove_data_directory_on_diverged_timelines": true,
		},
		"watchdog": map[string]any{"mode": "off"},
	}
}

func freePort(t testing.TB) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// NewPatroni starts etcd and three members, and waits for a leader with a
// synchronous standby.
func NewPatroni(t testing.TB) *Patroni {
	t.Helper()
	bin := pgBin(t)
	for _, tool := range []string{"patroni", "etcd"} {
		if _, err := exec.LookPath(tool); err != nil {
			if os.Getenv("CI") == "true" {
				t.Fatalf("%s is not installed: CI must run the failover tests (Debian's patroni and etcd-server)", tool)
			}
			t.Skipf("%s is not installed (Debian's patroni and etcd-server)", tool)
		}
	}
	dir, err := os.MkdirTemp("", "iamd-patroni-")
	if err != nil {
		t.Fatal(err)
	}
	p := &Patroni{dir: dir, bin: bin}
	if os.Getuid() == 0 {
		u, err := user.Lookup("postgres")
		if err != nil {
			t.Fatalf("running as root needs a postgres user: %v", err)
		}
		uid, _ := strconv.Atoi(u.Uid)
		gid, _ := strconv.Atoi(u.Gid)
		os.Chown(dir, uid, gid)
		p.as = []string{"runuser", "-u", "postgres", "--"}
	}
	t.Cleanup(func() {
		p.stop()
		if os.Getenv("IAMD_KEEP_PATRONI") == "" {
			os.RemoveAll(dir)
		}
	})

	// etcd: one member, with the v2 API Patroni's etcd section uses.
	client, peer, metrics := freePort(t), freePort(t), freePort(t)
	p.etcdURL = fmt.Sprintf("http://127.0.0.1:%d", client)
	etcdLog, _ := os.Create(filepath.Join(dir, "etcd.log"))
	p.etcd = exec.Command("etcd", "--name", "t", "--data-dir", filepath.Join(dir, "etcd"),
		"--listen-client-urls", p.etcdURL, "--advertise-client-urls", p.etcdURL,
		"--listen-peer-urls", fmt.Sprintf("http://127.0.0.1:%d", peer), "--initial-advertise-peer-urls", fmt.Sprintf("http://127.0.0.1:%d", peer),
		"--initial-cluster", fmt.Sprintf("t=http://127.0.0.1:%d", peer), "--initial-cluster-state", "new",
		"--listen-metrics-urls", fmt.Sprintf("http://127.0.0.1:%d", metrics), "--enable-v2=true")
	p.etcd.Stdout, p.etcd.Stderr = etcdLog, etcdLog
	if err := p.etcd.Start(); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 30*time.Second, "etcd", func() bool {
		resp, err := http.Get(p.etcdURL + "/health")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == 200
	}, func() string { b, _ := os.ReadFile(etcdLog.Name()); return string(b) })

	var hosts []string
	for i := 1; i <= 3; i++ {
		m := &Member{Name: fmt.Sprintf("m%d", i), PGPort: freePort(t), APIPort: freePort(t)}
		mdir := filepath.Join(dir, m.Name)
		os.MkdirAll(mdir, 0o700)
		if p.as != nil {
			exec.Command("chown", "postgres:", mdir).Run()
		}
		m.data = filepath.Join(mdir, "data")
		m.config = filepath.Join(mdir, "patroni.yml")
		pc := PatroniConfig(m.Name, m.PGPort, m.APIPort, strings.TrimPrefix(p.etcdURL, "http://"), m.data, mdir, bin)
		if os.Getenv("IAMD_PATRONI_TRACE") != "" {
			// Every write statement with its parameters, and every
			// warning, in a log beside the member's data (kept with
			// IAMD_KEEP_PATRONI): to follow one write across failovers.
			params := pc["postgresql"].(map[string]any)["parameters"].(map[string]any)
			params["logging_collector"], params["log_directory"], params["log_filename"] = "on", filepath.Join(mdir, "pglog"), "pg-%H%M%S.log"
			params["log_statement"], params["log_line_prefix"] = "mod", "%m [%p] %x %a "
		}
		cfg, _ := json.MarshalIndent(pc, "", "  ")
		if err := os.WriteFile(m.config, cfg, 0o644); err != nil {
			t.Fatal(err)
		}
		m.log, _ = os.Create(filepath.Join(mdir, "patroni.log"))
		p.Members = append(p.Members, m)
		hosts = append(hosts, fmt.Sprintf("127.0.0.1:%d", m.PGPort))
	}
	for i, m := range p.Members {
		p.startMember(t, m)
		if i == 0 {
			// The first bootstraps the cluster; the others join it.
			p.waitLeader(t, 60*time.Second, "")
		}
	}
	p.DSN = "postgres://postgres@" + strings.Join(hosts, ",") + "/postgres?target_session_attrs=read-write&sslmode=disable&connect_timeout=2"
	p.WaitSync(t, 90*time.Second, "")
	return p
}

func (p *Patroni) startMember(t testing.TB, m *Member) {
	t.Helper()
	argv := append(append([]string{}, p.as...), "patroni", m.config)
	m.cmd = exec.Command(argv[0], argv[1:]...)
	m.cmd.Stdout, m.cmd.Stderr = m.log, m.log
	m.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := m.cmd.Start(); err != nil {
		t.Fatal(err)
	}
}

// cluster is Patroni's view of the cluster (GET /cluster).
type cluster struct {
	Members []struct {
		Name  string `json:"name"`
		Role  string `json:"role"`
		State string `json:"state"`
	} `json:"members"`
}

func (p *Patroni) cluster() (*cluster, error) {
	for _, m := range p.Members {
		c := &http.Client{Timeout: time.Second}
		resp, err := c.Get(fmt.Sprintf("http://127.0.0.1:%d/cluster", m.APIPort))
		if err != nil {
			continue
		}
		var cl cluster
		err = json.NewDecoder(resp.Body).Decode(&cl)
		resp.Body.Close()
		if err == nil {
			return &cl, nil
		}
	}
	return nil, fmt.Errorf("no member's REST API answered")
}

// Leader returns the member that leads now, or nil.
func (p *Patroni) Leader() *Member {
	cl, err := p.cluster()
	if err != nil {
		return nil
	}
	for _, cm := range cl.Members {
		if cm.Role == "leader" && cm.State == "running" {
			for _, m := range p.Members {
				if m.Name == cm.Name {
					return m
				}
			}
		}
	}
	return nil
}

// waitLeader waits for a running leader other than not.
func (p *Patroni) waitLeader(t testing.TB, within time.Duration, not string) *Member {
	t.Helper()
	var m *Member
	what := "Patroni leader"
	if not != "" {
		what += " other than " + not
	}
	waitFor(t, within, what, func() bool {
		m = p.Leader()
		return m != nil && m.Name != not
	}, p.logs)
	return m
}

// WaitSync waits until the leader has a synchronous standby streaming, as
// the leader's pg_stat_replication shows it (Patroni 3.0 calls a replica
// "running" whether it streams or not): only then is a commit on two
// members before it is acknowledged. A member other than skip that has not
// been connected for 30 s (after failovers a rejoining member can find the WAL
// it needs gone: "requested WAL segment … has already been removed") is
// reinitialized from the leader, as an operator would with patronictl
// reinit (docs/OPERATIONS.md).
func (p *Patroni) WaitSync(t testing.TB, within time.Duration, skip string) {
	t.Helper()
	reinitAt := time.Now().Add(30 * time.Second)
	reinit := map[string]bool{}
	waitFor(t, within, "synchronous standby", func() bool {
		leader := p.Leader()
		if leader == nil {
			return false
		}
		// Both views must agree: Patroni promotes only the standby its
		// store names synchronous, and only a streaming one has the commits.
		sync, streaming := p.replication(leader)
		if cl, err := p.cluster(); sync && err == nil {
			for _, cm := range cl.Members {
				if cm.Role == "sync_standby" && streaming[cm.Name] {
					return true
				}
			}
		}
		if time.Now().After(reinitAt) {
			for _, m := range p.Members {
				if m != leader && m.Name != skip && !streaming[m.Name] && !reinit[m.Name] {
					reinit[m.Name] = true
					// A PostgreSQL Patroni no longer manages can hold the
					// member's port (its new one then fails: "Address
					// already in use"): stopped first, as an operator would.
					for _, pid := range postgresListening(m.PGPort) {
						syscall.Kill(pid, syscall.SIGKILL)
						t.Logf("Patroni: stopped PostgreSQL %d, which held %s's port", pid, m.Name)
					}
					err := p.reinitialize(m)
					t.Logf("Patroni: %s has not been connected to %s for 30 s; reinitialized from it (%v)", m.Name, leader.Name, err)
				}
			}
		}
		return false
	}, p.logs)
}

// replication reports whether leader has a synchronous standby streaming,
// as PostgreSQL sees it, and which members are connected to it (streaming,
// or catching up).
func (p *Patroni) replication(leader *Member) (bool, map[string]bool) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, fmt.Sprintf("postgres://postgres@127.0.0.1:%d/postgres?sslmode=disable", leader.PGPort))
	if err != nil {
		return false, nil
	}
	defer conn.Close(ctx)
	rows, err := conn.Query(ctx, `SELECT application_name, state, sync_state FROM pg_stat_replication`)
	if err != nil {
		return false, nil
	}
	defer rows.Close()
	sync, streaming := false, map[string]bool{}
	for rows.Next() {
		var name, state, syncState string
		if rows.Scan(&name, &state, &syncState) != nil {
			return false, nil
		}
		switch state {
		case "streaming":
			streaming[name] = true
			sync = sync || syncState == "sync" || syncState == "quorum"
		case "catchup", "startup", "backup":
			streaming[name] = true // connected and making progress: never reinitialized
		}
	}
	return sync, streaming
}

// postgresListening returns the PIDs of postgres processes with a TCP
// socket listening on port, from /proc.
func postgresListening(port int) []int {
	sockets := map[string]bool{}
	for _, table := range []string{"/proc/net/tcp", "/proc/net/tcp6"} {
		data, _ := os.ReadFile(table)
		for _, line := range strings.Split(string(data), "\n") {
			f := strings.Fields(line)
			// sl local_address rem_address st … inode; st 0A is LISTEN.
			if len(f) < 10 || f[3] != "0A" {
				continue
			}
			if _, hexPort, ok := strings.Cut(f[1], ":"); ok {
				if n, err := strconv.ParseInt(hexPort, 16, 32); err == nil && int(n) == port {
					sockets["socket:["+f[9]+"]"] = true
				}
			}
		}
	}
	var pids []int
	procs, _ := os.ReadDir("/proc")
	for _, e := range procs {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		if comm, _ := os.ReadFile(filepath.Join("/proc", e.Name(), "comm")); strings.TrimSpace(string(comm)) != "postgres" {
			continue
		}
		fds, _ := os.ReadDir(filepath.Join("/proc", e.Name(), "fd"))
		for _, fd := range fds {
			if target, err := os.Readlink(filepath.Join("/proc", e.Name(), "fd", fd.Name())); err == nil && sockets[target] {
				pids = append(pids, pid)
				break
			}
		}
	}
	return pids
}

// reinitialize has m's Patroni copy its data afresh from the leader.
func (p *Patroni) reinitialize(m *Member) error {
	c := &http.Client{Timeout: 5 * time.Second}
	resp, err := c.Post(fmt.Sprintf("http://127.0.0.1:%d/reinitialize", m.APIPort), "application/json", strings.NewReader(`{"force": true}`))
	if err != nil {
		return err
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("%s", resp.Status)
	}
	return nil
}

// PostmasterPID is the PID of m's PostgreSQL, from its postmaster.pid.
func (p *Patroni) PostmasterPID(t testing.TB, m *Member) int {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(m.data, "postmaster.pid"))
	if err != nil {
		t.Fatal(err)
	}
	pid, err := strconv.Atoi(strings.TrimSpace(strings.SplitN(string(b), "\n", 2)[0]))
	if err != nil {
		t.Fatal(err)
	}
	return pid
}

// Failover makes the leader fail as sig says: SIGKILL of its PostgreSQL's
// postmaster, a crash (its backends end with it, and its Patroni fails
// over); SIGSTOP of the whole member, its PostgreSQL and its Patroni, a
// hang (a frozen machine: no one renews its leader key, which expires
// after the TTL), resumed with SIGCONT once another member leads with a
// synchronous standby. It waits until the new leader takes writes with a
// synchronous standby, and returns it, when the signal was sent and how
// long after it the new leader was elected.
func (p *Patroni) Failover(t testing.TB, sig syscall.Signal) (*Member, time.Time, time.Duration) {
	t.Helper()
	// A healthy cluster first: a member that stopped streaming since the
	// last failover is reinitialized, as an operator would before the next.
	p.WaitSync(t, 120*time.Second, "")
	old := p.waitLeader(t, 60*time.Second, "")
	pids := []int{p.PostmasterPID(t, old)}
	if sig == syscall.SIGSTOP {
		// The postmaster is not Patroni's child (pg_ctl started it and
		// exited): both trees.
		pids = append(processTree(pids[0]), processTree(old.cmd.Process.Pid)...)
	}
	start := time.Now()
	for _, pid := range pids {
		if err := syscall.Kill(pid, sig); err != nil {
			t.Logf("Patroni: kill %d (%s's postmaster tree): %v", pid, old.Name, err)
		}
	}
	m := p.waitLeader(t, 90*time.Second, old.Name)
	took := time.Since(start)
	p.WaitSync(t, 120*time.Second, old.Name)
	if sig == syscall.SIGSTOP {
		for _, pid := range pids {
			syscall.Kill(pid, syscall.SIGCONT)
		}
	}
	return m, start, took
}

// processTree is pid and all its descendants, from /proc.
func processTree(pid int) []int {
	parent := map[int]int{}
	entries, _ := os.ReadDir("/proc")
	for _, e := range entries {
		p, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		b, err := os.ReadFile(filepath.Join("/proc", e.Name(), "stat"))
		if err != nil {
			continue
		}
		// pid (comm) state ppid …: comm may hold spaces, so read after ')'.
		s := string(b)
		fields := strings.Fields(s[strings.LastIndexByte(s, ')')+1:])
		if len(fields) > 1 {
			parent[p], _ = strconv.Atoi(fields[1])
		}
	}
	out := []int{pid}
	for i := 0; i < len(out); i++ {
		for c, p := range parent {
			if p == out[i] {
				out = append(out, c)
			}
		}
	}
	return out
}

func (p *Patroni) logs() string {
	var b bytes.Buffer
	for _, m := range p.Members {
		data, _ := os.ReadFile(m.log.Name())
		if len(data) > 4000 {
			data = data[len(data)-4000:]
		}
		fmt.Fprintf(&b, "== %s\n%s\n", m.Name, data)
	}
	return b.String()
}

// stop stops every Patroni, then any postmaster left, then etcd: by PID.
func (p *Patroni) stop() {
	for _, m := range p.Members {
		if m.cmd != nil && m.cmd.Process != nil {
			m.cmd.Process.Signal(syscall.SIGTERM)
		}
	}
	for _, m := range p.Members {
		if m.cmd != nil && m.cmd.Process != nil {
			done := make(chan struct{})
			go func() { m.cmd.Wait(); close(done) }()
			select {
			case <-done:
			case <-time.After(20 * time.Second):
				syscall.Kill(-m.cmd.Process.Pid, syscall.SIGKILL)
				<-done
			}
		}
		if b, err := os.ReadFile(filepath.Join(m.data, "postmaster.pid")); err == nil {
			if pid, err := strconv.Atoi(strings.TrimSpace(strings.SplitN(string(b), "\n", 2)[0])); err == nil {
				syscall.Kill(pid, syscall.SIGCONT)
				argv := append(append([]string{}, p.as...), filepath.Join(p.bin, "pg_ctl"), "stop", "-m", "immediate", "-D", m.data)
				exec.Command(argv[0], argv[1:]...).Run()
			}
		}
	}
	if p.etcd != nil && p.etcd.Process != nil {
		p.etcd.Process.Kill()
		p.etcd.Wait()
	}
}

func waitFor(t testing.TB, within time.Duration, what string, ok func() bool, logs func() string) {
	t.Helper()
	deadline := time.Now().Add(within)
	for !ok() {
		if time.Now().After(deadline) {
			t.Fatalf("no %s within %v:\n%s", what, within, logs())
		}
		time.Sleep(200 * time.Millisecond)
	}
}
