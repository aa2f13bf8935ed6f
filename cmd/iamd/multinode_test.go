package main

import (
	"bytes"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	iamtypes "github.com/aws/aws-sdk-go-v2/service/iam/types"
	"github.com/aws/aws-sdk-go-v2/service/lightsail"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/aws/smithy-go"

	"iamd"
	"iamd/internal/pgtest"
)

const testMasterKey = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8="

// nodes starts n iamd nodes on one PostgreSQL schema, as a load balancer
// would front them.
func nodes(t *testing.T, n int, dsn string) []*testServer {
	t.Helper()
	var out []*testServer
	for range n {
		out = append(out, start(t, func(c *Config) {
			c.DB = dsn
			c.MasterKey = testMasterKey
		}))
	}
	return out
}

// TestPGKeyLimitAcrossNodes: 16 simultaneous creates for one user and for
// one bucket, split over two nodes: exactly two succeed each time.
func TestPGKeyLimitAcrossNodes(t *testing.T) {
	ns := nodes(t, 2, pgtest.DSN(t))
	mustUser(t, ns[0], "Bob")
	mustBucket(t, ns[1].lightsail(rootID, rootSecret), "photos")
	var wg sync.WaitGroup
	var userOK, bucketOK atomic.Int32
	for i := range 16 {
		node := ns[i%2]
		wg.Add(2)
		go func() {
			defer wg.Done()
			_, err := node.root().CreateAccessKey(ctx, &iam.CreateAccessKeyInput{UserName: aws.String("Bob")})
			if err == nil {
				userOK.Add(1)
			} else if !strings.Contains(err.Error(), "LimitExceeded") {
				t.Error(err)
			}
		}()
		go func() {
			defer wg.Done()
			_, err := node.lightsail(rootID, rootSecret).CreateBucketAccessKey(ctx, &lightsail.CreateBucketAccessKeyInput{BucketName: aws.String("photos")})
			if err == nil {
				bucketOK.Add(1)
			} else if !strings.Contains(err.Error(), "InvalidInputException") {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	t.Logf("concurrency limit across 2 nodes: user keys %d of 16, bucket keys %d of 16", userOK.Load(), bucketOK.Load())
	if userOK.Load() != 2 || bucketOK.Load() != 2 {
		t.Fatalf("user keys %d, bucket keys %d: want exactly 2 each", userOK.Load(), bucketOK.Load())
	}
}

// TestPGRevocationAcrossNodes measures how long node B keeps accepting a
// key after node A made it Inactive or deleted it: from the moment A's
// response arrives to B's first refusal, polling B every 5 ms.
func TestPGRevocationAcrossNodes(t *testing.T) {
	ns := nodes(t, 2, pgtest.DSN(t))
	a, b := ns[0], ns[1]
	mustUser(t, a, "Bob")
	k := mustKey(t, a.root(), "Bob")
	onB := b.sts(*k.AccessKeyId, *k.SecretAccessKey)
	refusedWithin := func(what string, change func()) time.Duration {
		t.Helper()
		if _, err := onB.GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{}); err != nil {
			t.Fatalf("before %s: %v", what, err) // B now has the key cached
		}
		change()
		start := time.Now()
		for time.Since(start) < 5*time.Second {
			if _, err := onB.GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{}); err != nil {
				wantAPIError(t, err, "InvalidClientTokenId", 403)
				d := time.Since(start)
				t.Logf("revocation by %s on node A refused on node B after %v", what, d)
				if d > time.Second {
					t.Errorf("%s took %v to reach node B, want under 1s", what, d)
				}
				return d
			}
			time.Sleep(5 * time.Millisecond)
		}
		t.Fatalf("node B still accepts the key 5s after %s", what)
		return 0
	}
	refusedWithin("UpdateAccessKey Inactive", func() {
		if _, err := a.root().UpdateAccessKey(ctx, &iam.UpdateAccessKeyInput{UserName: aws.String("Bob"), AccessKeyId: k.AccessKeyId, Status: iamtypes.StatusTypeInactive}); err != nil {
			t.Fatal(err)
		}
	})
	if _, err := a.root().UpdateAccessKey(ctx, &iam.UpdateAccessKeyInput{UserName: aws.String("Bob"), AccessKeyId: k.AccessKeyId, Status: iamtypes.StatusTypeActive}); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(time.Second)
	for {
		_, err := onB.GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
		if err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("reactivation not seen on node B within 1s: %v", err)
		}
		time.Sleep(5 * time.Millisecond)
	}
	refusedWithin("DeleteAccessKey", func() {
		if _, err := a.root().DeleteAccessKey(ctx, &iam.DeleteAccessKeyInput{UserName: aws.String("Bob"), AccessKeyId: k.AccessKeyId}); err != nil {
			t.Fatal(err)
		}
	})
}

// TestPGNoLostWrites: 2 nodes × 8 clients create users and keys for
// 10 s; every key acknowledged with HTTP 200 is listed afterwards and
// authenticates on either node.
func TestPGNoLostWrites(t *testing.T) {
	ns := nodes(t, 2, pgtest.DSN(t))
	const clientsPerNode = 8
	duration := 10 * time.Second
	type ack struct{ user, id, secret string }
	var mu sync.Mutex
	var acks []ack
	var failures atomic.Int32
	stop := time.Now().Add(duration)
	var wg sync.WaitGroup
	for n, node := range ns {
		for c := range clientsPerNode {
			wg.Add(1)
			go func() {
				defer wg.Done()
				cl := node.root()
				for i := 0; time.Now().Before(stop); i++ {
					name := fmt.Sprintf("n%d-c%d-u%d", n, c, i)
					if _, err := cl.CreateUser(ctx, &iam.CreateUserInput{UserName: aws.String(name)}); err != nil {
						failures.Add(1)
						continue
					}
					out, err := cl.CreateAccessKey(ctx, &iam.CreateAccessKeyInput{UserName: aws.String(name)})
					if err != nil {
						failures.Add(1)
						continue
					}
					mu.Lock()
					acks = append(acks, ack{name, *out.AccessKey.AccessKeyId, *out.AccessKey.SecretAccessKey})
					mu.Unlock()
				}
			}()
		}
	}
	wg.Wait()
	// Every acknowledged key is listed...
	p := iam.NewListUsersPaginator(ns[1].root(), &iam.ListUsersInput{MaxItems: aws.Int32(1000)})
	users := 0
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		var apiErr smithy.APIError
		for try := 1; err != nil && !errors.As(err, &apiErr) && try < 3; try++ {
			// Rarely (twice in many CI runs) reading a 1,000-user page
			// right after the load fails with "use of closed network
			// connection": the client's read loop saw the connection
			// reset. Its cause is not found yet; a read is retried here,
			// as SDKs retry it, because this test is about lost writes.
			t.Logf("listing users, try %d: %v", try, err)
			page, err = p.NextPage(ctx)
		}
		if err != nil {
			t.Fatal(err)
		}
		users += len(page.Users)
	}
	var missing atomic.Int32
	parallel(len(acks), func(i int) {
		a := acks[i]
		keys, err := ns[i%2].root().ListAccessKeys(ctx, &iam.ListAccessKeysInput{UserName: aws.String(a.user)})
		if err != nil || len(keys.AccessKeyMetadata) != 1 || *keys.AccessKeyMetadata[0].AccessKeyId != a.id {
			if missing.Add(1) <= 3 {
				t.Errorf("key of %s not listed: %v", a.user, err)
			}
		}
	})
	// ...and authenticates on the other node.
	var refused atomic.Int32
	parallel(len(acks), func(i int) {
		a := acks[i]
		if _, err := ns[(i+1)%2].sts(a.id, a.secret).GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{}); err != nil {
			if refused.Add(1) <= 3 {
				t.Errorf("key of %s refused: %v", a.user, err)
			}
		}
	})
	t.Logf("lost-write test: %d keys acknowledged in %v by 2 nodes x %d clients, %d users listed, %d missing, %d refused, %d failed requests",
		len(acks), duration, clientsPerNode, users, missing.Load(), refused.Load(), failures.Load())
	if len(acks) < 100 || missing.Load() > 0 || refused.Load() > 0 || users != len(acks) {
		t.Fatalf("acknowledged %d, listed users %d, missing %d, refused %d", len(acks), users, missing.Load(), refused.Load())
	}
}

// parallel runs fn(0..n-1) on 16 goroutines.
func parallel(n int, fn func(i int)) {
	var next atomic.Int64
	var wg sync.WaitGroup
	for range 16 {
		wg.Go(func() {
			for i := int(next.Add(1) - 1); i < n; i = int(next.Add(1) - 1) {
				fn(i)
			}
		})
	}
	wg.Wait()
}

// TestPGLastUsedAcrossNodes: uses recorded by two nodes end as the later
// one, whichever node flushes last.
func TestPGLastUsedAcrossNodes(t *testing.T) {
	ns := nodes(t, 2, pgtest.DSN(t))
	mustUser(t, ns[0], "Bob")
	if _, err := ns[0].root().AttachUserPolicy(ctx, &iam.AttachUserPolicyInput{UserName: aws.String("Bob"),
		PolicyArn: aws.String("arn:aws:iam::aws:policy/IAMSelfManageAccessKeys")}); err != nil {
		t.Fatal(err)
	}
	k := mustKey(t, ns[0].root(), "Bob")
	cfg := ns[0].awsConfig(*k.AccessKeyId, *k.SecretAccessKey)
	if _, err := sts.NewFromConfig(cfg).GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{}); err != nil {
		t.Fatal(err)
	}
	time.Sleep(1100 * time.Millisecond) // uses are recorded to the second
	if _, err := ns[1].iam(*k.AccessKeyId, *k.SecretAccessKey).ListAccessKeys(ctx, &iam.ListAccessKeysInput{}); err != nil {
		t.Fatal(err)
	}
	time.Sleep(300 * time.Millisecond) // both nodes have flushed
	for i, n := range ns {
		lu, err := n.root().GetAccessKeyLastUsed(ctx, &iam.GetAccessKeyLastUsedInput{AccessKeyId: k.AccessKeyId})
		if err != nil {
			t.Fatal(err)
		}
		if *lu.AccessKeyLastUsed.ServiceName != "iam" {
			t.Fatalf("node %d: last use %s, want the later iam call", i, *lu.AccessKeyLastUsed.ServiceName)
		}
	}
	// A node flushing an older use afterwards does not win.
	old := iamd.KeyUse{AccessKeyID: *k.AccessKeyId, LastUsed: iamd.LastUsed{At: time.Now().Add(-time.Hour), Region: "x", Service: "old"}}
	if err := ns[1].Main.store.RecordKeyUse(ctx, []iamd.KeyUse{old}); err != nil {
		t.Fatal(err)
	}
	cred, _ := ns[1].Main.store.GetCredential(ctx, *k.AccessKeyId)
	if cred.Key.LastUsed.Service == "old" {
		t.Fatal("an older use overwrote a newer one")
	}
}

// tcpProxy forwards TCP to target until cut; then it refuses and drops
// connections until restored, on the same address.
type tcpProxy struct {
	target string
	ln     net.Listener
	addr   string
	mu     sync.Mutex
	conns  []net.Conn
	down   bool
}

func newProxy(t *testing.T, target string) *tcpProxy {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &tcpProxy{target: target, ln: ln, addr: ln.Addr().String()}
	go p.serve()
	t.Cleanup(func() { ln.Close(); p.cut() })
	return p
}

func (p *tcpProxy) serve() {
	for {
		c, err := p.ln.Accept()
		if err != nil {
			return
		}
		p.mu.Lock()
		down := p.down
		p.mu.Unlock()
		if down {
			c.Close()
			continue
		}
		s, err := net.Dial("tcp", p.target)
		if err != nil {
			c.Close()
			continue
		}
		p.mu.Lock()
		p.conns = append(p.conns, c, s)
		p.mu.Unlock()
		go func() { io.Copy(s, c); s.Close() }()
		go func() { io.Copy(c, s); c.Close() }()
	}
}

func (p *tcpProxy) cut() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.down = true
	for _, c := range p.conns {
		c.Close()
	}
	p.conns = nil
}

func (p *tcpProxy) restore() {
	p.mu.Lock()
	p.down = false
	p.mu.Unlock()
}

// TestPGOutage: with the database unreachable, writes fail with
// ServiceUnavailable quickly and without secrets, while a key never used
// before authenticates from the node's replica; /readyz says the node is
// degraded, and the metrics count the store's failures and show the
// replica cut off; the node recovers by itself once the database is back.
func TestPGOutage(t *testing.T) {
	dsn := pgtest.DSN(t)
	u, _ := url.Parse(dsn)
	px := newProxy(t, u.Host)
	u.Host = px.addr
	s := start(t, func(c *Config) {
		c.DB = u.String()
		c.MasterKey = testMasterKey
		c.MetricsAddr = "127.0.0.1:0"
	})
	if text := scrape(t, s); strings.Contains(text, "iamd_store_errors_total{") {
		t.Fatalf("store errors before the outage:\n%s", text)
	}
	mustUser(t, s, "Bob")
	k := mustKey(t, s.root(), "Bob")
	px.cut()
	startAt := time.Now()
	_, writeErr := s.root().CreateUser(ctx, &iam.CreateUserInput{UserName: aws.String("Alice")})
	took := time.Since(startAt)
	wantAPIError(t, writeErr, "ServiceUnavailable", 503)
	// A key never used before authenticates from the replica.
	if _, err := s.sts(*k.AccessKeyId, *k.SecretAccessKey).GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{}); err != nil {
		t.Fatalf("a key the replica holds, during the outage: %v", err)
	}
	resp, err := http.Get(s.URL + "/readyz")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.HasPrefix(string(body), "degraded: the database is unreachable") {
		t.Fatalf("/readyz during the outage: %d %q", resp.StatusCode, body)
	}
	t.Logf("during the outage a write failed after %v with ServiceUnavailable; /readyz: %s", took, strings.TrimSpace(string(body)))
	if took > 8*time.Second {
		t.Fatalf("request hung %v during the outage", took)
	}
	s.sink.Flush()
	if strings.Contains(writeErr.Error(), *k.SecretAccessKey) || strings.Contains(s.Logs.String(), *k.SecretAccessKey) {
		t.Fatal("a secret in an error or the log")
	}
	px.restore()
	deadline := time.Now().Add(15 * time.Second)
	for {
		_, err = s.root().CreateUser(ctx, &iam.CreateUserInput{UserName: aws.String("Alice")})
		if err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no recovery after the database came back: %v", err)
		}
		time.Sleep(100 * time.Millisecond)
	}
	if _, err := s.sts(*k.AccessKeyId, *k.SecretAccessKey).GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{}); err != nil {
		t.Fatalf("after recovery: %v", err)
	}
	text := scrape(t, s)
	if n := metricValue(text, `iamd_store_errors_total{kind="unavailable"}`); n < 2 {
		t.Errorf("%v store errors counted for the outage, want at least the 2 refused requests", n)
	}
	if n := metricValue(text, `iamd_requests_total{action="CreateUser",code="ServiceUnavailable",service="iam"}`); n < 1 {
		t.Errorf("no CreateUser counted as ServiceUnavailable")
	}
	for deadline := time.Now().Add(10 * time.Second); metricValue(text, "iamd_replica_database_reachable") != 1; text = scrape(t, s) {
		if time.Now().After(deadline) {
			t.Fatal("the replica was not shown following the database again after the outage")
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// metricValue is the value of series in a scrape, or -1 without it.
func metricValue(text, series string) float64 {
	for line := range strings.Lines(text) {
		if v, ok := strings.CutPrefix(line, series+" "); ok {
			f, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
			if err == nil {
				return f
			}
		}
	}
	return -1
}

func TestPGWrongMasterKey(t *testing.T) {
	dsn := pgtest.DSN(t)
	nodes(t, 1, dsn)
	cfg := Config{Addr: "127.0.0.1:0", DataDir: t.TempDir(), Region: "us-east-1", LogFormat: "text", Durability: "full", DB: dsn}
	err := NewMain(cfg, &syncBuffer{}).Start(ctx) // a new master.key of its own
	if !errors.Is(err, iamd.ErrWrongMasterKey) {
		t.Fatalf("node with another master key: %v", err)
	}
}

// TestPGPolicyChangeAcrossNodes: a policy change on one node governs the
// next request on another, which has the user's policies cached.
func TestPGPolicyChangeAcrossNodes(t *testing.T) {
	ns := nodes(t, 2, pgtest.DSN(t))
	a, b := ns[0], ns[1]
	mustUser(t, a, "Bob")
	k := mustKey(t, a.root(), "Bob")
	onB := b.iam(*k.AccessKeyId, *k.SecretAccessKey)
	arn := aws.String("arn:aws:iam::aws:policy/IAMReadOnlyAccess")
	seenWithin := func(what string, wantAllowed bool) {
		t.Helper()
		start := time.Now()
		for time.Since(start) < 5*time.Second {
			_, err := onB.ListUsers(ctx, &iam.ListUsersInput{})
			if (err == nil) == wantAllowed {
				d := time.Since(start)
				t.Logf("%s on node A applied on node B after %v", what, d)
				if d > time.Second {
					t.Errorf("%s took %v to reach node B, want under 1s", what, d)
				}
				return
			}
			time.Sleep(5 * time.Millisecond)
		}
		t.Fatalf("node B does not apply %s 5s later", what)
	}
	_, err := onB.ListUsers(ctx, &iam.ListUsersInput{})
	wantAPIError(t, err, "AccessDenied", 403) // B now has Bob's (empty) policies cached
	if _, err := a.root().AttachUserPolicy(ctx, &iam.AttachUserPolicyInput{UserName: aws.String("Bob"), PolicyArn: arn}); err != nil {
		t.Fatal(err)
	}
	seenWithin("AttachUserPolicy", true)
	if _, err := a.root().DetachUserPolicy(ctx, &iam.DetachUserPolicyInput{UserName: aws.String("Bob"), PolicyArn: arn}); err != nil {
		t.Fatal(err)
	}
	seenWithin("DetachUserPolicy", false)
}

// TestPGRotateMasterKey: with every node stopped, rotate-master-key runs
// once against the shared database; nodes started with the new key accept
// every key, user and bucket alike, and a node still holding the old key is
// refused at start.
func TestPGRotateMasterKey(t *testing.T) {
	dsn := pgtest.DSN(t)
	ns := nodes(t, 2, dsn)
	mustUser(t, ns[0], "Bob")
	k := mustKey(t, ns[0].root(), "Bob")
	mustBucket(t, ns[1].lightsail(rootID, rootSecret), "photos")
	bk, err := ns[1].lightsail(rootID, rootSecret).CreateBucketAccessKey(ctx, &lightsail.CreateBucketAccessKeyInput{BucketName: aws.String("photos")})
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range ns {
		n.Main.Close()
	}
	newKey := make([]byte, 32)
	rand.Read(newKey)
	keyFile := filepath.Join(t.TempDir(), "new-master.key")
	os.WriteFile(keyFile, []byte(base64.StdEncoding.EncodeToString(newKey)+"\n"), 0o600)
	t.Setenv("IAMD_MASTER_KEY", testMasterKey)
	var out, errOut bytes.Buffer
	if err := run([]string{"rotate-master-key", "--db", dsn, "--data-dir", t.TempDir(), "--new-key-file", keyFile}, &out, &errOut); err != nil {
		t.Fatalf("rotate-master-key: %v", err)
	}
	if !strings.Contains(errOut.String(), "set IAMD_MASTER_KEY to it on every node") {
		t.Errorf("rotation said %q", errOut.String())
	}
	for i := range 2 {
		s := start(t, func(c *Config) { c.DB = dsn; c.MasterKey = base64.StdEncoding.EncodeToString(newKey) })
		for _, kk := range [][2]string{{*k.AccessKeyId, *k.SecretAccessKey}, {*bk.AccessKey.AccessKeyId, *bk.AccessKey.SecretAccessKey}, {rootID, rootSecret}} {
			if _, err := s.sts(kk[0], kk[1]).GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{}); err != nil {
				t.Errorf("node %d, key %s after rotation: %v", i, kk[0], err)
			}
		}
	}
	cfg := Config{Addr: "127.0.0.1:0", DataDir: t.TempDir(), Region: "us-east-1", LogFormat: "text", Durability: "full", DB: dsn, MasterKey: testMasterKey}
	if err := NewMain(cfg, &syncBuffer{}).Start(ctx); !errors.Is(err, iamd.ErrWrongMasterKey) {
		t.Fatalf("a node with the old master key after rotation: %v", err)
	}
}

// TestPGNodesStartTogether: two nodes started at the same moment on a new
// database with IAMD_ROOT_ACCESS_KEY_ID set both start (one used to exit
// with "the root key … was deleted": both found it missing, one inserted
// it, the other's insert collided), and agree on the root's key.
func TestPGNodesStartTogether(t *testing.T) {
	for round := range 5 {
		dsn := pgtest.DSN(t)
		var wg sync.WaitGroup
		errs := make([]error, 2)
		mains := make([]*Main, 2)
		for i := range 2 {
			cfg := Config{Addr: "127.0.0.1:0", DataDir: t.TempDir(), AccountID: account, Region: "us-east-1", LogFormat: "text", Durability: "full",
				DB: dsn, MasterKey: testMasterKey, RootAccessKeyID: rootID, RootSecretAccessKey: rootSecret}
			mains[i] = NewMain(cfg, &syncBuffer{})
			wg.Go(func() { errs[i] = mains[i].Start(ctx) })
		}
		wg.Wait()
		for i, err := range errs {
			if err != nil {
				t.Fatalf("round %d: node %d did not start: %v", round, i, err)
			}
			s := &testServer{Main: mains[i], URL: "http://" + mains[i].Addr(), HTTP: newHTTPClient(t)}
			if _, err := s.sts(rootID, rootSecret).GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{}); err != nil {
				t.Fatalf("round %d: node %d refuses the root key: %v", round, i, err)
			}
			mains[i].Close()
		}
	}
}
