package signin_test

import (
	"context"
	"errors"
	"net/netip"
	"sort"
	"strings"
	"testing"
	"time"

	"iamd"
	"iamd/accounts"
	"iamd/internal/svctest"
	"iamd/people"
	"iamd/signin"
	"iamd/sigv4"
)

var ctx = context.Background()

const acct = svctest.Account

var root = svctest.Root

type env struct {
	svc   *iamd.Service
	ppl   *people.People
	door  *signin.Door
	clock *svctest.Clock
	store iamd.Store
}

func setup(t *testing.T) *env {
	t.Helper()
	s := svctest.New(t, time.Date(2026, 12, 4, 12, 0, 0, 0, time.UTC))
	ppl := people.New(people.Config{Service: s.Service, Store: s.Store, Sealer: s.Sealer, Now: s.Clock.Now})
	return &env{svc: s.Service, ppl: ppl, door: signin.New(signin.Config{Service: s.Service, Store: s.Store, People: ppl, Now: s.Clock.Now}),
		clock: s.Clock, store: s.Store}
}

var (
	home  = netip.MustParseAddr("192.0.2.10")
	other = netip.MustParseAddr("198.51.100.7")
)

// TestSignIn: a password sign-in yields a console session with the user's
// permissions; a forced change asks for a new password; a user with a
// device is asked for a code and its session carries MFA; an unknown user,
// an unknown account and a wrong password are refused alike.
func TestSignIn(t *testing.T) {
	e := setup(t)
	if _, err := e.svc.CreateUser(ctx, root, "ann", "/", nil); err != nil {
		t.Fatal(err)
	}
	if _, err := e.ppl.CreateLoginProfile(ctx, root, "ann", "Correct-Horse-1", true); err != nil {
		t.Fatal(err)
	}
	in := signin.Input{Account: acct, User: "ann", Password: "Correct-Horse-1"}
	out, err := e.door.SignIn(ctx, in, home)
	if err != nil || !out.NeedNewPassword || out.Credentials != nil {
		t.Fatalf("a sign-in that must change the password: %+v %v", out, err)
	}
	if used, _ := e.ppl.PasswordLastUsed(ctx, "ann"); !used.IsZero() {
		t.Fatalf("a sign-in not completed counts as a use: %v", used)
	}
	e.clock.Add(time.Minute)
	in.NewPassword = "short"
	if _, err := e.door.SignIn(ctx, in, home); iamd.KindOf(err) != iamd.PasswordPolicyViolation {
		t.Fatalf("a new password the policy refuses: %v", err)
	}
	in.NewPassword = "Battery-Staple-22"
	out, err = e.door.SignIn(ctx, in, home)
	if err != nil || out.Credentials == nil {
		t.Fatalf("with a new password: %+v %v", out, err)
	}
	cc, _, err := e.svc.SigningKeyFor(ctx, &sigv4.Auth{AccessKeyID: out.Credentials.AccessKeyID, SecurityToken: out.Credentials.SessionToken,
		Date: "20261204", Region: "us-east-1", Service: "iam"})
	if err != nil || cc.Caller.ARN() != "arn:aws:iam::"+acct+":user/ann" {
		t.Fatalf("the console session: %v %v", cc, err)
	}
	// The sign-in is when the password was last used, and only a
	// complete one: the attempts that asked for more did not count.
	if used, err := e.ppl.PasswordLastUsed(ctx, "ann"); err != nil || !used.Equal(e.clock.Now().Truncate(time.Millisecond)) {
		t.Fatalf("PasswordLastUsed = %v %v, want %v", used, err, e.clock.Now())
	}
	// And the credential report says so.
	if _, err := e.svc.GenerateCredentialReport(ctx, root); err != nil {
		t.Fatal(err)
	}
	var report string
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		if r, err := e.svc.GetCredentialReport(ctx, root); err == nil {
			report = string(r.Content)
			break
		}
	}
	if want := "ann,arn:aws:iam::" + acct + ":user/ann,2026-12-04T12:00:00+00:00,true,2026-12-04T12:01:00+00:00,"; !strings.Contains(report, want) {
		t.Fatalf("the report's row of ann does not begin %s:\n%s", want, report)
	}

	for _, bad := range []signin.Input{{Account: acct, User: "ann", Password: "Correct-Horse-1"}, {Account: acct, User: "nobody", Password: "x"},
		{Account: "210987654321", User: "ann", Password: "Battery-Staple-22"}} {
		_, err := e.door.SignIn(ctx, bad, other)
		if !errors.Is(err, signin.ErrRefused) || iamd.MessageOf(err) != iamd.MessageOf(signin.ErrRefused) {
			t.Errorf("%+v: %v", bad, err)
		}
	}

	// With an MFA device: the code is asked for, and checked.
	seed, err := e.ppl.CreateVirtualMFADevice(ctx, root, "ann-phone", "/", nil)
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := people.Base32.DecodeString(seed.Base32)
	n := people.StepAt(e.clock.Now())
	if err := e.ppl.EnableMFADevice(ctx, root, "ann", seed.Serial, people.Code(raw, n-1), people.Code(raw, n)); err != nil {
		t.Fatal(err)
	}
	e.clock.Add(30 * time.Second)
	in = signin.Input{Account: acct, User: "ann", Password: "Battery-Staple-22"}
	if out, err := e.door.SignIn(ctx, in, home); err != nil || !out.NeedMFA {
		t.Fatalf("a user with a device: %+v %v", out, err)
	}
	in.Code = "000000"
	if _, err := e.door.SignIn(ctx, in, home); !errors.Is(err, signin.ErrBadCode) {
		t.Fatalf("a wrong code: %v", err)
	}
	in.Code = people.Code(raw, people.StepAt(e.clock.Now()))
	out, err = e.door.SignIn(ctx, in, home)
	if err != nil || out.Credentials == nil {
		t.Fatalf("with the code: %+v %v", out, err)
	}
}

// TestGuessing: a guesser at one address is held to a few attempts per
// minute at one name and never locks the user out for good; the real
// user, elsewhere, signs in meanwhile; attempts stop costing once the
// buckets refill.
func TestGuessing(t *testing.T) {
	e := setup(t)
	if _, err := e.svc.CreateUser(ctx, root, "ann", "/", nil); err != nil {
		t.Fatal(err)
	}
	if _, err := e.ppl.CreateLoginProfile(ctx, root, "ann", "Correct-Horse-1", false); err != nil {
		t.Fatal(err)
	}
	guess := signin.Input{Account: acct, User: "ann", Password: "guess"}
	refused, throttled := 0, 0
	for range 30 {
		_, err := e.door.SignIn(ctx, guess, other)
		switch {
		case errors.Is(err, signin.ErrRefused):
			refused++
		case errors.Is(err, signin.ErrThrottle):
			throttled++
		default:
			t.Fatalf("a guess: %v", err)
		}
	}
	if refused != 5 || throttled != 25 {
		t.Fatalf("30 guesses at once: %d checked, %d throttled; want 5 and 25", refused, throttled)
	}
	real := signin.Input{Account: acct, User: "ann", Password: "Correct-Horse-1"}
	if out, err := e.door.SignIn(ctx, real, home); err != nil || out.Credentials == nil {
		t.Fatalf("the real user at home while the guesser is held: %v", err)
	}
	e.clock.Add(20 * time.Second)
	if _, err := e.door.SignIn(ctx, guess, other); !errors.Is(err, signin.ErrRefused) {
		t.Fatalf("a guess after 20 s is checked again (nothing is locked for good): %v", err)
	}
}

// TestSameTime: an unknown user and a wrong password take the same time
// (both verify an argon2id hash), within noise: the medians of 15 tries
// each are within 50% of each other.
func TestSameTime(t *testing.T) {
	e := setup(t)
	if _, err := e.svc.CreateUser(ctx, root, "ann", "/", nil); err != nil {
		t.Fatal(err)
	}
	if _, err := e.ppl.CreateLoginProfile(ctx, root, "ann", "Correct-Horse-1", false); err != nil {
		t.Fatal(err)
	}
	median := func(in signin.Input) time.Duration {
		var ds []time.Duration
		for i := range 15 {
			e.clock.Add(time.Minute) // no throttling in this test
			start := time.Now()
			e.door.SignIn(ctx, in, netip.AddrFrom4([4]byte{10, 0, 0, byte(i)}))
			ds = append(ds, time.Since(start))
		}
		sort.Slice(ds, func(i, j int) bool { return ds[i] < ds[j] })
		return ds[len(ds)/2]
	}
	unknown := median(signin.Input{Account: acct, User: "nobody", Password: "guess"})
	wrong := median(signin.Input{Account: acct, User: "ann", Password: "guess"})
	if unknown < wrong/2 || wrong < unknown/2 {
		t.Fatalf("unknown user %v, wrong password %v: the difference tells who exists", unknown, wrong)
	}
	t.Logf("median of 15: unknown user %v, wrong password %v", unknown, wrong)
}

// TestSignInWithAlias: the account's alias signs in as its ID does.
func TestSignInWithAlias(t *testing.T) {
	e := setup(t)
	st := e.store
	if _, err := e.svc.CreateUser(ctx, root, "ann", "/", nil); err != nil {
		t.Fatal(err)
	}
	if _, err := e.ppl.CreateLoginProfile(ctx, root, "ann", "Correct-Horse-1", false); err != nil {
		t.Fatal(err)
	}
	accts := accounts.New(e.svc, st)
	if err := accts.CreateAlias(ctx, root, "acme-prod"); err != nil {
		t.Fatal(err)
	}
	door := signin.New(signin.Config{Service: e.svc, Store: st, People: e.ppl, Accounts: accts, Now: e.clock.Now})
	for name, ok := range map[string]bool{"acme-prod": true, acct: true, "acme": false} {
		out, err := door.SignIn(ctx, signin.Input{Account: name, User: "ann", Password: "Correct-Horse-1"}, home)
		if ok != (err == nil && out.Credentials != nil) {
			t.Errorf("account %q: %+v %v", name, out, err)
		}
	}
}
