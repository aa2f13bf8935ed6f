package main

import (
	"database/sql"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"net/http"
	neturl "net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	iamtypes "github.com/aws/aws-sdk-go-v2/service/iam/types"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	_ "modernc.org/sqlite"

	"iamd/internal/pgtest"
)

// crashKills is how many times the crash tests kill iamd: at least 20,
// more with IAMD_CRASH_KILLS.
func crashKills() int {
	if n, err := strconv.Atoi(os.Getenv("IAMD_CRASH_KILLS")); err == nil && n > 20 {
		return n
	}
	return 20
}

// model is what the writers were told happened. An operation that got no
// answer, or a server-side error, may or may not have taken effect: its
// key is then uncertain and is checked only for what must hold anyway.
type model struct {
	mu       sync.Mutex
	users    []string
	keys     map[string]*modelKey
	policies map[string]*modelPolicy // by user
	seq      int
	acked    struct{ users, creates, updates, deletes, policies, refused, unknown int }
}

// modelPolicy is a user's inline policy "p": one write at a time per user,
// so the last acknowledged is what the store holds, unless a later write
// got no answer.
type modelPolicy struct {
	busy      bool
	sid       string // of the last acknowledged document
	uncertain bool
}

type modelKey struct {
	user, secret string
	status       iamtypes.StatusType
	deleted      bool // acknowledged
	uncertain    bool // an update or delete got no answer
}

// outcome classifies an error: nil acknowledged, definite a refusal the
// server decided (4xx), else unknown (no answer, or 5xx).
func outcome(err error) (acked, definite bool) {
	if err == nil {
		return true, true
	}
	var re *awshttp.ResponseError
	if errors.As(err, &re) && re.HTTPStatusCode() >= 400 && re.HTTPStatusCode() < 500 {
		return false, true
	}
	return false, false
}

// step performs one random write through c.
func (m *model) step(c *iam.Client, rng *rand.Rand) {
	m.mu.Lock()
	op := rng.IntN(100)
	var k *modelKey
	var kid string
	if op >= 60 { // update or delete: a key still certain and alive
		for id, x := range m.keys {
			if !x.deleted && !x.uncertain {
				k, kid = x, id
				break
			}
		}
		if k == nil {
			op = 30
		}
	}
	if op >= 25 && op < 60 && len(m.users) == 0 {
		op = 0
	}
	var pol *modelPolicy
	var polUser string
	if op >= 55 && op < 60 { // PutUserPolicy on a user no one else is writing it for
		if m.policies == nil {
			m.policies = map[string]*modelPolicy{}
		}
		for range 3 {
			u := m.users[rng.IntN(len(m.users))]
			if p := m.policies[u]; p == nil || !p.busy {
				if p == nil {
					p = &modelPolicy{}
					m.policies[u] = p
				}
				p.busy, pol, polUser = true, p, u
				defer func() { m.mu.Lock(); p.busy = false; m.mu.Unlock() }()
				break
			}
		}
		if pol == nil {
			op = 30
		}
	}
	m.seq++
	seq := m.seq
	user := polUser
	if user == "" && len(m.users) > 0 {
		user = m.users[rng.IntN(len(m.users))]
	}
	m.mu.Unlock()
	switch {
	case pol != nil:
		sid := fmt.Sprintf("v%d", seq)
		_, err := c.PutUserPolicy(ctx, &iam.PutUserPolicyInput{UserName: aws.String(user), PolicyName: aws.String("p"),
			PolicyDocument: aws.String(`{"Version":"2012-10-17","Statement":{"Sid":"` + sid + `","Effect":"Allow","Action":"s3:GetObject","Resource":"*"}}`)})
		m.record(err, func() { pol.sid, pol.uncertain = sid, false; m.acked.policies++ })
		if _, definite := outcome(err); !definite {
			m.mu.Lock()
			pol.uncertain = true
			m.mu.Unlock()
		}
	case op < 25:
		name := fmt.Sprintf("u%06d", seq)
		_, err := c.CreateUser(ctx, &iam.CreateUserInput{UserName: aws.String(name)})
		m.record(err, func() { m.users = append(m.users, name); m.acked.users++ })
	case op < 60:
		out, err := c.CreateAccessKey(ctx, &iam.CreateAccessKeyInput{UserName: aws.String(user)})
		m.record(err, func() {
			m.keys[*out.AccessKey.AccessKeyId] = &modelKey{user: user, secret: *out.AccessKey.SecretAccessKey, status: iamtypes.StatusTypeActive}
			m.acked.creates++
		})
	case op < 85:
		to := iamtypes.StatusTypeInactive
		if k.status == to {
			to = iamtypes.StatusTypeActive
		}
		_, err := c.UpdateAccessKey(ctx, &iam.UpdateAccessKeyInput{UserName: aws.String(k.user), AccessKeyId: aws.String(kid), Status: to})
		m.record(err, func() { k.status = to; m.acked.updates++ })
		m.mark(err, k)
	default:
		_, err := c.DeleteAccessKey(ctx, &iam.DeleteAccessKeyInput{UserName: aws.String(k.user), AccessKeyId: aws.String(kid)})
		m.record(err, func() { k.deleted = true; m.acked.deletes++ })
		m.mark(err, k)
	}
}

func (m *model) record(err error, apply func()) {
	m.mu.Lock()
	defer m.mu.Unlock()
	switch acked, definite := outcome(err); {
	case acked:
		apply()
	case definite:
		m.acked.refused++
	default:
		m.acked.unknown++
	}
}

func (m *model) mark(err error, k *modelKey) {
	if _, definite := outcome(err); !definite {
		m.mu.Lock()
		k.uncertain = true
		m.mu.Unlock()
	}
}

// load runs writers at concurrency 8 against the URLs until stop closes.
func (m *model) load(urls []string, stop chan struct{}) *sync.WaitGroup {
	var wg sync.WaitGroup
	for w := range 8 {
		wg.Go(func() {
			tr := &http2Free{}
			s := &testServer{URL: urls[w%len(urls)], HTTP: tr.client()}
			defer tr.close()
			c := s.root()
			rng := rand.New(rand.NewPCG(uint64(w), uint64(time.Now().UnixNano())))
			for {
				select {
				case <-stop:
					return
				default:
				}
				m.step(c, rng)
			}
		})
	}
	return &wg
}

// check verifies the model against a running server: every acknowledged
// user exists, every acknowledged key authenticates as its status says,
// every acknowledged delete is gone, and no user holds three keys.
func (m *model) check(t *testing.T, url string) (checked int) {
	t.Helper()
	s := &testServer{URL: url, HTTP: newHTTPClient(t)}
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, u := range m.users {
		out, err := s.root().ListAccessKeys(ctx, &iam.ListAccessKeysInput{UserName: aws.String(u)})
		if err != nil {
			t.Fatalf("acknowledged user %s: %v", u, err)
		}
		if len(out.AccessKeyMetadata) > 2 {
			t.Fatalf("user %s holds %d keys", u, len(out.AccessKeyMetadata))
		}
	}
	for u, p := range m.policies {
		if p.sid == "" || p.uncertain {
			continue
		}
		out, err := s.root().GetUserPolicy(ctx, &iam.GetUserPolicyInput{UserName: aws.String(u), PolicyName: aws.String("p")})
		if err != nil {
			t.Fatalf("acknowledged policy of %s: %v", u, err)
		}
		if doc, _ := neturl.QueryUnescape(*out.PolicyDocument); !strings.Contains(doc, `"Sid":"`+p.sid+`"`) {
			t.Fatalf("user %s's policy is not its last acknowledged one (%s): %s", u, p.sid, doc)
		}
	}
	for id, k := range m.keys {
		_, err := s.sts(id, k.secret).GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
		switch {
		case k.uncertain:
			continue
		case k.deleted:
			if err == nil {
				t.Fatalf("deleted key %s still authenticates", id)
			}
			wantAPIError(t, err, "InvalidClientTokenId", 403)
		case k.status == iamtypes.StatusTypeActive && err != nil:
			t.Fatalf("acknowledged Active key %s of %s: %v", id, k.user, err)
		case k.status == iamtypes.StatusTypeInactive:
			if err == nil {
				t.Fatalf("acknowledged Inactive key %s authenticates", id)
			}
			wantAPIError(t, err, "InvalidClientTokenId", 403)
		}
		checked++
	}
	return checked
}

// http2Free is an HTTP client that can be dropped at once when the server
// it talks to is killed.
type http2Free struct{ tr *http.Transport }

func (h *http2Free) client() *http.Client {
	h.tr = &http.Transport{MaxIdleConnsPerHost: 4, DialContext: (&net.Dialer{Timeout: 2 * time.Second}).DialContext, ResponseHeaderTimeout: 20 * time.Second}
	return &http.Client{Transport: h.tr}
}
func (h *http2Free) close() { h.tr.CloseIdleConnections() }

func kill(cmd *exec.Cmd) {
	cmd.Process.Signal(syscall.SIGKILL)
	cmd.Wait()
}

func integrity(t *testing.T, path string) {
	t.Helper()
	db, err := sql.Open("sqlite", "file:"+path+"?mode=ro")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var res string
	if err := db.QueryRow("PRAGMA integrity_check").Scan(&res); err != nil || res != "ok" {
		t.Fatalf("integrity_check: %q %v", res, err)
	}
}

// TestCrashUnderLoad kills iamd with SIGKILL at random moments while eight
// writers create users and keys and update and delete keys, restarts it on
// the same data dir each time, and checks what every writer was told.
func TestCrashUnderLoad(t *testing.T) {
	if testing.Short() {
		t.Skip("kills iamd 20 times")
	}
	dir := t.TempDir()
	m := &model{keys: map[string]*modelKey{}}
	rng := rand.New(rand.NewPCG(1, uint64(time.Now().UnixNano())))
	kills := crashKills()
	for range kills {
		cmd, url := startProcess(t, dir)
		stop := make(chan struct{})
		wg := m.load([]string{url}, stop)
		time.Sleep(time.Duration(20+rng.IntN(280)) * time.Millisecond)
		kill(cmd)
		close(stop)
		wg.Wait()
		integrity(t, filepath.Join(dir, "iamd.db"))
	}
	_, url := startProcess(t, dir)
	checked := m.check(t, url)
	t.Logf("crash (SQLite): %d SIGKILLs under 8 writers; acknowledged %d users, %d key creates, %d updates, %d deletes, %d policies (%d refused, %d unanswered); %d keys checked, 0 lost, integrity_check ok after every kill",
		kills, m.acked.users, m.acked.creates, m.acked.updates, m.acked.deletes, m.acked.policies, m.acked.refused, m.acked.unknown, checked)
}

// TestPGCrashUnderLoad is TestCrashUnderLoad for two iamd nodes on one
// PostgreSQL cluster of the test's own: each round kills one node and
// starts it again, and every fifth round crashes PostgreSQL itself
// (immediate stop, recovery from its WAL) while the writers run.
func TestPGCrashUnderLoad(t *testing.T) {
	if testing.Short() {
		t.Skip("kills iamd 20 times")
	}
	pg := pgtest.NewCluster(t)
	m := &model{keys: map[string]*modelKey{}}
	rng := rand.New(rand.NewPCG(2, uint64(time.Now().UnixNano())))
	type node struct {
		dir string
		cmd *exec.Cmd
		url string
	}
	ns := make([]*node, 2)
	for i := range ns {
		ns[i] = &node{dir: t.TempDir()}
		ns[i].cmd, ns[i].url = startProcess(t, ns[i].dir, "--db", pg.DSN)
	}
	kills, pgCrashes := crashKills(), 0
	for i := range kills {
		stop := make(chan struct{})
		wg := m.load([]string{ns[0].url, ns[1].url}, stop)
		time.Sleep(time.Duration(20+rng.IntN(280)) * time.Millisecond)
		if i%5 == 4 {
			pg.Crash(t)
			pgCrashes++
		}
		n := ns[rng.IntN(2)]
		kill(n.cmd)
		close(stop)
		wg.Wait()
		n.cmd, n.url = startProcess(t, n.dir, "--db", pg.DSN)
	}
	checked := m.check(t, ns[0].url)
	m.check(t, ns[1].url)
	t.Logf("crash (PostgreSQL): %d SIGKILLs of two nodes and %d crashes of PostgreSQL under 8 writers; acknowledged %d users, %d key creates, %d updates, %d deletes, %d policies (%d refused, %d unanswered); %d keys checked on both nodes, 0 lost",
		kills, pgCrashes, m.acked.users, m.acked.creates, m.acked.updates, m.acked.deletes, m.acked.policies, m.acked.refused, m.acked.unknown, checked)
}
