package tenants_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"

	"iamd"
	"iamd/replica"
	"iamd/server"
	"iamd/sqlite"
	"iamd/tenants"
)

// BenchmarkAccounts compares one account of N users with N/100 accounts
// of 100 users each (N is IAMD_BENCH_USERS, 2,000 by default; 100,000 for
// docs/PERFORMANCE.md), every user with two keys, decided from the
// replica as a node decides: a signed GetCallerIdentity through the
// server, and a gateway's decision (DecideObjects) in the key's account,
// each with keys drawn at random from all of them.
func BenchmarkAccounts(b *testing.B) {
	users, _ := strconv.Atoi(os.Getenv("IAMD_BENCH_USERS"))
	if users <= 0 {
		users = 2000
	}
	for _, shape := range []struct {
		name     string
		accounts int
	}{{"one-account", 1}, {fmt.Sprintf("%d-accounts", users/100), users / 100}} {
		b.Run(shape.name, func(b *testing.B) {
			d := newDeployment(b, shape.accounts, users/shape.accounts)
			b.Run("GetCallerIdentity", d.benchCallerIdentity)
			b.Run("decision", d.benchDecision)
		})
	}
}

type benchKey struct{ id, secret, account string }

type deployment struct {
	srv  *server.Server
	set  *tenants.Set
	keys []benchKey
	at   time.Time
}

const first = "123456789012"

// newDeployment makes accounts accounts (the first one of them the
// deployment's own) of users users with two keys each.
func newDeployment(b *testing.B, accounts, users int) *deployment {
	ctx := context.Background()
	at := time.Now()
	now := func() time.Time { return at }
	st, err := sqlite.Open(filepath.Join(b.TempDir(), "iamd.db"), sqlite.Options{Synchronous: "NORMAL", ChangeLog: true})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { st.Close() })
	sealer, _ := iamd.NewSealer(make([]byte, 32))
	if _, err := st.Init(ctx, iamd.Account{ID: first, CreatedAt: at, KeyCheck: mustSeal(b, sealer)}); err != nil {
		b.Fatal(err)
	}
	ids := []string{first}
	open := map[string]time.Time{}
	for i := 1; i < accounts; i++ {
		id := strconv.Itoa(200000000000 + i)
		ids, open[id] = append(ids, id), at
	}
	// The users and keys, written straight to each account's store.
	var mu sync.Mutex
	var keys []benchKey
	work := make(chan string)
	var wg sync.WaitGroup
	for range 16 {
		wg.Go(func() {
			for acct := range work {
				s := st.In(acct)
				for u := range users {
					name := "user" + strconv.Itoa(u)
					uid, _ := iamd.NewUserID(cryptoRand{})
					if err := s.CreateUser(ctx, &iamd.User{ID: uid, Name: name, Path: "/", CreatedAt: at}); err != nil {
						b.Error(err)
						return
					}
					for made := 0; made < 2; {
						// 39 bits of a key ID are random: among 200,000
						// keys of one account, one may be drawn twice.
						id, _ := iamd.NewAccessKeyID(cryptoRand{}, acct)
						secret := "secret-" + id
						sealed, err := sealer.Seal(id, []byte(secret))
						if err == nil {
							err = s.CreateAccessKey(ctx, &iamd.AccessKey{ID: id, Owner: iamd.UserOwner(name), Status: iamd.StatusActive, CreatedAt: at, SealedSecret: sealed}, 2)
						}
						if iamd.KindOf(err) == iamd.Conflict {
							continue
						}
						made++
						if err != nil {
							b.Error(err)
							return
						}
						mu.Lock()
						keys = append(keys, benchKey{id, secret, acct})
						mu.Unlock()
					}
				}
			}
		})
	}
	for _, id := range ids {
		work <- id
	}
	close(work)
	wg.Wait()
	if b.Failed() {
		b.FailNow()
	}
	rep, err := replica.Open(ctx, replica.Config{Log: st})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(rep.Close)
	st.OnCommit(rep.Committed)
	cfg := iamd.Config{Store: st, Replica: rep, Sealer: sealer, Account: iamd.Account{ID: first}, Now: now}
	svc, err := iamd.NewService(ctx, cfg)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { svc.Close() })
	set := tenants.New(tenants.Config{First: svc, Service: cfg, Now: now,
		Open: func(context.Context) (map[string]time.Time, error) { return open, nil }})
	b.Cleanup(set.Close)
	srv := server.New(server.Config{Service: svc, Now: now, Tenants: set, TenantParts: func(svc *iamd.Service) server.Parts { return server.Parts{Service: svc} }})
	rand.Shuffle(len(keys), func(i, j int) { keys[i], keys[j] = keys[j], keys[i] })
	return &deployment{srv: srv, set: set, keys: keys, at: at}
}

func mustSeal(b *testing.B, s *iamd.Sealer) []byte {
	c, err := s.Seal("iamd-master-key-check", []byte("iamd"))
	if err != nil {
		b.Fatal(err)
	}
	return c
}

type cryptoRand struct{}

func (cryptoRand) Read(p []byte) (int, error) {
	for i := range p {
		p[i] = byte(rand.Uint32())
	}
	return len(p), nil
}

type discard struct{ h http.Header }

func (d *discard) Header() http.Header         { return d.h }
func (d *discard) Write(b []byte) (int, error) { return len(b), nil }
func (d *discard) WriteHeader(int)             {}

// benchCallerIdentity serves GetCallerIdentity signed with 4,096 keys
// drawn from all, in turn; each key's first request is made before the
// clock starts, as a node that has served it once.
func (d *deployment) benchCallerIdentity(b *testing.B) {
	const body = "Action=GetCallerIdentity&Version=2011-06-15"
	sum := sha256.Sum256([]byte(body))
	reqs := make([]*http.Request, min(4096, len(d.keys)))
	for i := range reqs {
		k := d.keys[i]
		r := httptest.NewRequest("POST", "http://127.0.0.1:8600/", nil)
		r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		r.ContentLength = int64(len(body))
		if err := v4.NewSigner().SignHTTP(context.Background(), aws.Credentials{AccessKeyID: k.id, SecretAccessKey: k.secret},
			r, hex.EncodeToString(sum[:]), "sts", "us-east-1", d.at); err != nil {
			b.Fatal(err)
		}
		rec := httptest.NewRecorder()
		r.Body = io.NopCloser(bytes.NewReader([]byte(body)))
		d.srv.ServeHTTP(rec, r)
		if rec.Code != 200 || !bytes.Contains(rec.Body.Bytes(), []byte("<Account>"+k.account+"</Account>")) {
			b.Fatalf("key of %s: %d %s", k.account, rec.Code, rec.Body.String())
		}
		reqs[i] = r
	}
	w := &discard{h: http.Header{}}
	rd := bytes.NewReader(nil)
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		r := reqs[i%len(reqs)]
		i++
		rd.Reset([]byte(body))
		r.Body = io.NopCloser(rd)
		clear(w.h)
		d.srv.ServeHTTP(w, r)
	}
}

// benchDecision decides s3:GetObject for keys drawn from all, in the
// account each is for, as the gateway does.
func (d *deployment) benchDecision(b *testing.B) {
	ctx := context.Background()
	keys := d.keys[:min(4096, len(d.keys))]
	req := func(k benchKey) iamd.ObjectRequest {
		return iamd.ObjectRequest{AccessKeyID: k.id, Actions: []string{"s3:GetObject"}, Resources: []string{"arn:aws:s3:::bucket-" + k.account + "/x"}}
	}
	for _, k := range keys {
		svc := d.set.ForKey(ctx, k.id)
		if _, who, err := svc.DecideObjects(ctx, req(k)); err != nil || who.Account != k.account {
			b.Fatalf("key of %s: %+v %v", k.account, who, err)
		}
	}
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		k := keys[i%len(keys)]
		i++
		if _, _, err := d.set.ForKey(ctx, k.id).DecideObjects(ctx, req(k)); err != nil {
			b.Fatal(err)
		}
	}
}
