package main

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net/http"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/sts"
)

// client is one simulated client: its own connection and SDK clients.
type client struct {
	iam  *iam.Client
	sts  *sts.Client
	user string // a user of its own, for the key scenarios
	id   int
}

func newClient(t *target, region string, id int) *client {
	cfg := aws.Config{
		Region:       region,
		Credentials:  credentials.NewStaticCredentialsProvider(t.id, t.secret, ""),
		Retryer:      func() aws.Retryer { return aws.NopRetryer{} },
		BaseEndpoint: aws.String(t.endpoint),
		HTTPClient:   &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 1, MaxConnsPerHost: 1}},
	}
	return &client{iam: iam.NewFromConfig(cfg), sts: sts.NewFromConfig(cfg), id: id, user: fmt.Sprintf("load-%s-%d", runID, id)}
}

// useSession makes c sign its STS calls with temporary credentials from
// GetSessionToken, for the session-caller-identity scenario.
func (c *client) useSession(ctx context.Context, t *target, region string) error {
	out, err := c.sts.GetSessionToken(ctx, &sts.GetSessionTokenInput{DurationSeconds: aws.Int32(3600)})
	if err != nil {
		return err
	}
	cr := out.Credentials
	cfg := aws.Config{
		Region:       region,
		Credentials:  credentials.NewStaticCredentialsProvider(*cr.AccessKeyId, *cr.SecretAccessKey, *cr.SessionToken),
		Retryer:      func() aws.Retryer { return aws.NopRetryer{} },
		BaseEndpoint: aws.String(t.endpoint),
		HTTPClient:   &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 1, MaxConnsPerHost: 1}},
	}
	c.sts = sts.NewFromConfig(cfg)
	return nil
}

type scenario func(ctx context.Context, c *client) error

var runID = fmt.Sprintf("%x", time.Now().UnixNano()&0xffffff)

// runPath is the path of every user this run makes: cleanUp deletes them.
var runPath = "/iamd-load/" + runID + "/"

// userSeq numbers created users across clients, rounds and targets.
var userSeq atomic.Int64

var scenarios = map[string]scenario{
	"caller-identity": func(ctx context.Context, c *client) error {
		_, err := c.sts.GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
		return err
	},
	// The same call signed with temporary credentials (set up by measure).
	"session-caller-identity": func(ctx context.Context, c *client) error {
		_, err := c.sts.GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
		return err
	},
	"create-delete": func(ctx context.Context, c *client) error {
		out, err := c.iam.CreateAccessKey(ctx, &iam.CreateAccessKeyInput{UserName: aws.String(c.user)})
		if err != nil {
			return err
		}
		_, err = c.iam.DeleteAccessKey(ctx, &iam.DeleteAccessKeyInput{UserName: aws.String(c.user), AccessKeyId: out.AccessKey.AccessKeyId})
		return err
	},
	"list-access-keys": func(ctx context.Context, c *client) error {
		_, err := c.iam.ListAccessKeys(ctx, &iam.ListAccessKeysInput{UserName: aws.String(c.user)})
		return err
	},
	"create-user": func(ctx context.Context, c *client) error {
		_, err := c.iam.CreateUser(ctx, &iam.CreateUserInput{UserName: aws.String(fmt.Sprintf("u-%s-%d", runID, userSeq.Add(1))), Path: aws.String(runPath)})
		return err
	},
}

func init() {
	// mix: mostly signed reads, as a key service sees them.
	scenarios["mix"] = func(ctx context.Context, c *client) error {
		switch r := rand.IntN(100); {
		case r < 70:
			return scenarios["caller-identity"](ctx, c)
		case r < 90:
			return scenarios["list-access-keys"](ctx, c)
		case r < 95:
			return scenarios["create-user"](ctx, c)
		default:
			return scenarios["create-delete"](ctx, c)
		}
	}
}

type result struct {
	ok, errors int
	elapsed    time.Duration
	p50, p99   time.Duration
	firstErr   error
}

func (r result) rate() float64 { return float64(r.ok) / r.elapsed.Seconds() }

// prepare gives each client its user (with one key, for list-access-keys).
func prepare(ctx context.Context, t *target, clients []*client) error {
	if t.usersPrepared {
		return nil
	}
	for _, c := range clients {
		if _, err := c.iam.CreateUser(ctx, &iam.CreateUserInput{UserName: aws.String(c.user), Path: aws.String(runPath)}); err != nil && !isExists(err) {
			return err
		}
		keys, err := c.iam.ListAccessKeys(ctx, &iam.ListAccessKeysInput{UserName: aws.String(c.user)})
		if err != nil {
			return err
		}
		if len(keys.AccessKeyMetadata) == 0 {
			if _, err := c.iam.CreateAccessKey(ctx, &iam.CreateAccessKeyInput{UserName: aws.String(c.user)}); err != nil {
				return err
			}
		}
	}
	t.usersPrepared = true
	return nil
}

func isExists(err error) bool { return err != nil && contains(err.Error(), "EntityAlreadyExists") }

func contains(s, sub string) bool {
	for i := 0; i+len(sub) <= len(s); i++ {
		if s[i:i+len(sub)] == sub {
			return true
		}
	}
	return false
}

// measure runs op on t with o.concurrency clients: a warm-up, then the
// measured period.
func measure(ctx context.Context, t *target, op string, o options) (result, error) {
	clients := make([]*client, o.concurrency)
	for i := range clients {
		clients[i] = newClient(t, o.region, i)
	}
	if op == "session-caller-identity" {
		for _, c := range clients {
			if err := c.useSession(ctx, t, o.region); err != nil {
				return result{}, fmt.Errorf("GetSessionToken: %w", err)
			}
		}
	} else if t.name != "null" && op != "caller-identity" {
		if err := prepare(ctx, t, clients); err != nil {
			return result{}, fmt.Errorf("preparing users: %w", err)
		}
	}
	fn := scenarios[op]
	var measuring atomic.Bool
	var stop atomic.Bool
	lat := make([][]time.Duration, len(clients))
	errs := make([]int, len(clients))
	firstErr := make([]error, len(clients))
	var wg sync.WaitGroup
	for i, c := range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for !stop.Load() {
				start := time.Now()
				err := fn(ctx, c)
				d := time.Since(start)
				if !measuring.Load() {
					continue
				}
				if err != nil {
					errs[i]++
					if firstErr[i] == nil {
						firstErr[i] = err
					}
					continue
				}
				lat[i] = append(lat[i], d)
			}
		}()
	}
	time.Sleep(o.warmup)
	measuring.Store(true)
	begin := time.Now()
	time.Sleep(o.duration)
	measuring.Store(false)
	elapsed := time.Since(begin)
	stop.Store(true)
	wg.Wait()
	var all []time.Duration
	r := result{elapsed: elapsed}
	for i := range clients {
		all = append(all, lat[i]...)
		r.errors += errs[i]
		if r.firstErr == nil {
			r.firstErr = firstErr[i]
		}
	}
	r.ok = len(all)
	if len(all) > 0 {
		sort.Slice(all, func(i, j int) bool { return all[i] < all[j] })
		r.p50, r.p99 = all[len(all)/2], all[len(all)*99/100]
	}
	return r, nil
}

// preload creates o.preload users with o.keysPerUser keys each, 32 at a time.
func preload(ctx context.Context, t *target, o options) (int, error) {
	var next, done atomic.Int64
	var firstErr atomic.Value
	var wg sync.WaitGroup
	for w := range 32 {
		c := newClient(t, o.region, 1000+w)
		wg.Go(func() {
			for {
				i := next.Add(1) - 1
				if i >= int64(o.preload) {
					return
				}
				name := fmt.Sprintf("pre-%s-%d", runID, i)
				if _, err := c.iam.CreateUser(ctx, &iam.CreateUserInput{UserName: aws.String(name), Path: aws.String(runPath)}); err != nil {
					firstErr.CompareAndSwap(nil, err)
					return
				}
				for range o.keysPerUser {
					if _, err := c.iam.CreateAccessKey(ctx, &iam.CreateAccessKeyInput{UserName: aws.String(name)}); err != nil {
						firstErr.CompareAndSwap(nil, err)
						return
					}
				}
				done.Add(1)
			}
		})
	}
	wg.Wait()
	if err, _ := firstErr.Load().(error); err != nil {
		return int(done.Load()), err
	}
	return int(done.Load()), nil
}

// cleanUp deletes the users this run made (those under runPath) and their
// keys, 32 at a time.
func cleanUp(ctx context.Context, t *target, region string) (int, error) {
	var names []string
	in := &iam.ListUsersInput{PathPrefix: aws.String(runPath), MaxItems: aws.Int32(100)}
	for {
		var page *iam.ListUsersOutput
		var err error
		for try := range 3 { // each try on a fresh connection
			if try > 0 {
				time.Sleep(time.Duration(try) * 100 * time.Millisecond)
			}
			if page, err = newClient(t, region, 2000).iam.ListUsers(ctx, in); err == nil {
				break
			}
		}
		if err != nil {
			return len(names), err
		}
		for _, u := range page.Users {
			names = append(names, *u.UserName)
		}
		if !page.IsTruncated {
			break
		}
		in.Marker = page.Marker
	}
	work := make(chan string)
	var wg sync.WaitGroup
	var firstErr atomic.Value
	for w := range 32 {
		c := newClient(t, region, 2001+w)
		wg.Go(func() {
			for name := range work {
				// A few tries each: the server may be busy with what the run left.
				var err error
				for try := range 3 {
					if try > 0 {
						time.Sleep(time.Duration(try) * 100 * time.Millisecond)
					}
					if err = deleteUser(ctx, c, name); err == nil {
						break
					}
				}
				if err != nil {
					firstErr.CompareAndSwap(nil, fmt.Errorf("%s: %w", name, err))
				}
			}
		})
	}
	for _, n := range names {
		work <- n
	}
	close(work)
	wg.Wait()
	if err, _ := firstErr.Load().(error); err != nil {
		return len(names), err
	}
	return len(names), nil
}

// deleteUser deletes a user's keys, then the user.
func deleteUser(ctx context.Context, c *client, name string) error {
	keys, err := c.iam.ListAccessKeys(ctx, &iam.ListAccessKeysInput{UserName: aws.String(name)})
	if err != nil {
		return err
	}
	for _, k := range keys.AccessKeyMetadata {
		if _, err := c.iam.DeleteAccessKey(ctx, &iam.DeleteAccessKeyInput{UserName: aws.String(name), AccessKeyId: k.AccessKeyId}); err != nil {
			return err
		}
	}
	_, err = c.iam.DeleteUser(ctx, &iam.DeleteUserInput{UserName: aws.String(name)})
	return err
}
