package people_test

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"iamd"
	"iamd/internal/svctest"
	"iamd/people"
	"iamd/sigv4"
)

var ctx = context.Background()

const acct = svctest.Account

var root = svctest.Root

type env struct {
	svc    *iamd.Service
	ppl    *people.People
	clock  *svctest.Clock
	store  iamd.Store
	sealer *iamd.Sealer
}

func setup(t *testing.T) *env {
	t.Helper()
	s := svctest.New(t, time.Date(2026, 12, 4, 12, 0, 0, 0, time.UTC))
	return &env{svc: s.Service, ppl: people.New(people.Config{Service: s.Service, Store: s.Store, Sealer: s.Sealer, Now: s.Clock.Now}),
		clock: s.Clock, store: s.Store, sealer: s.Sealer}
}

// caller is the caller a request signed by a new key of user would have.
func (e *env) caller(t *testing.T, user string) *iamd.Caller {
	t.Helper()
	k, _, err := e.svc.CreateAccessKey(ctx, root, user)
	if err != nil {
		t.Fatal(err)
	}
	cc, err := e.svc.Credential(ctx, k.ID)
	if err != nil {
		t.Fatal(err)
	}
	c := cc.Caller
	return &c
}

func wantKind(t *testing.T, what string, err error, kind iamd.Kind, text string) {
	t.Helper()
	if iamd.KindOf(err) != kind || err == nil || !strings.Contains(iamd.MessageOf(err), text) {
		t.Errorf("%s: %v (kind %v), want kind %v with %q", what, err, iamd.KindOf(err), kind, text)
	}
}

// TestTOTP: the codes of RFC 6238's test vectors (SHA-1), to six digits.
func TestTOTP(t *testing.T) {
	seed := []byte("12345678901234567890")
	for unix, want := range map[int64]string{59: "287082", 1111111109: "081804", 1234567890: "005924", 2000000000: "279037"} {
		if got := people.Code(seed, people.StepAt(time.Unix(unix, 0))); got != want {
			t.Errorf("T=%d: %s, want %s", unix, got, want)
		}
	}
}

// TestPasswords: a login profile's password under the default rules and
// under a policy with reuse prevention; ChangePassword as AWS allows it;
// CheckPassword as the console's sign-in uses it. The hash is never shown.
func TestPasswords(t *testing.T) {
	e := setup(t)
	if _, err := e.svc.CreateUser(ctx, root, "ann", "/", nil); err != nil {
		t.Fatal(err)
	}
	_, err := e.ppl.CreateLoginProfile(ctx, root, "ann", "short", false)
	wantKind(t, "a short password, no policy", err, iamd.PasswordPolicyViolation, "minimum length of 8")
	_, err = e.ppl.CreateLoginProfile(ctx, root, "ann", "alllowercase", false)
	wantKind(t, "one kind of character, no policy", err, iamd.PasswordPolicyViolation, "three of the following")
	l, err := e.ppl.CreateLoginProfile(ctx, root, "ANN", "Correct-Horse-1", true)
	if err != nil || l.User != "ann" || !l.ResetRequired {
		t.Fatalf("CreateLoginProfile: %+v %v", l, err)
	}
	_, err = e.ppl.CreateLoginProfile(ctx, root, "ann", "Correct-Horse-2", false)
	wantKind(t, "a second login profile", err, iamd.AlreadyExists, "already exists")

	_, err = e.ppl.GetPasswordPolicy(ctx, root)
	wantKind(t, "no policy", err, iamd.NotFound, "The Password Policy with domain name "+acct+" cannot be found.")
	if err := e.ppl.UpdatePasswordPolicy(ctx, root, iamd.PasswordPolicy{MinimumPasswordLength: 12, RequireSymbols: true, RequireNumbers: true,
		PasswordReusePrevention: 2, AllowUsersToChangePassword: true}); err != nil {
		t.Fatal(err)
	}
	pw := func(s string) *string { return &s }
	wantKind(t, "no symbol", e.ppl.UpdateLoginProfile(ctx, root, "ann", pw("LongEnough12345"), nil), iamd.PasswordPolicyViolation, "at least one symbol")
	wantKind(t, "the current one again", e.ppl.UpdateLoginProfile(ctx, root, "ann", pw("Correct-Horse-1"), nil), iamd.PasswordPolicyViolation, "used too recently")
	if err := e.ppl.UpdateLoginProfile(ctx, root, "ann", pw("Battery-Staple-22"), nil); err != nil {
		t.Fatal(err)
	}

	ok, mustChange, err := e.ppl.CheckPassword(ctx, "ann", "Battery-Staple-22")
	if !ok || !mustChange || err != nil {
		t.Fatalf("CheckPassword: %v %v %v (reset was required)", ok, mustChange, err)
	}
	for _, c := range []struct{ user, password string }{{"ann", "wrong"}, {"nobody", "Battery-Staple-22"}} {
		if ok, _, err := e.ppl.CheckPassword(ctx, c.user, c.password); ok || err != nil {
			t.Errorf("CheckPassword(%s): %v %v", c.user, ok, err)
		}
	}

	// ann changes her own password: the policy allows it.
	ann := e.caller(t, "ann")
	wantKind(t, "a wrong old password", e.ppl.ChangePassword(ctx, ann, "nope", "Brand-New-Pass-9"), iamd.AccessDenied, "old password")
	wantKind(t, "the one before", e.ppl.ChangePassword(ctx, ann, "Battery-Staple-22", "Correct-Horse-1"), iamd.PasswordPolicyViolation, "used too recently")
	if err := e.ppl.ChangePassword(ctx, ann, "Battery-Staple-22", "Brand-New-Pass-9"); err != nil {
		t.Fatal(err)
	}
	if ok, mustChange, _ := e.ppl.CheckPassword(ctx, "ann", "Brand-New-Pass-9"); !ok || mustChange {
		t.Fatalf("after ChangePassword: %v %v", ok, mustChange)
	}
	// Without the policy's leave, iam:ChangePassword decides.
	if err := e.ppl.UpdatePasswordPolicy(ctx, root, iamd.PasswordPolicy{MinimumPasswordLength: 8}); err != nil {
		t.Fatal(err)
	}
	wantKind(t, "no leave to change", e.ppl.ChangePassword(ctx, ann, "Brand-New-Pass-9", "Another-Pass-10"), iamd.AccessDenied, "iam:ChangePassword")
	if err := e.ppl.DeletePasswordPolicy(ctx, root); err != nil {
		t.Fatal(err)
	}

	if err := e.svc.DeleteUser(ctx, root, "ann"); !errors.Is(err, iamd.ErrConflict) {
		t.Fatalf("deleting a user with a password: %v", err)
	}
	if err := e.ppl.DeleteLoginProfile(ctx, root, "ann"); err != nil {
		t.Fatal(err)
	}
	_, err = e.ppl.GetLoginProfile(ctx, root, "ann")
	wantKind(t, "a deleted login profile", err, iamd.NotFound, "Login Profile for User ann cannot be found.")
}

// TestMFA: a virtual device enabled with two consecutive codes; its codes
// make GetSessionToken's session carry MFA, each code once; a policy that
// denies everything without MFA refuses the key and allows the session; a
// trust policy requiring MFA; deactivation and deletion.
func TestMFA(t *testing.T) {
	e := setup(t)
	if _, err := e.svc.CreateUser(ctx, root, "ann", "/", nil); err != nil {
		t.Fatal(err)
	}
	seed, err := e.ppl.CreateVirtualMFADevice(ctx, root, "ann-phone", "/", nil)
	if err != nil {
		t.Fatal(err)
	}
	if seed.Serial != "arn:aws:iam::"+acct+":mfa/ann-phone" || !strings.HasPrefix(seed.URI, "otpauth://totp/") || !strings.Contains(seed.URI, "secret="+seed.Base32) {
		t.Fatalf("seed: %+v", seed)
	}
	raw, err := people.Base32.DecodeString(seed.Base32)
	if err != nil || len(raw) != 20 {
		t.Fatalf("seed %q: %v", seed.Base32, err)
	}
	code := func(at time.Time) string { return people.Code(raw, people.StepAt(at)) }
	now := e.clock.Now()
	wantKind(t, "two codes not consecutive", e.ppl.EnableMFADevice(ctx, root, "ann", seed.Serial, code(now), code(now)), iamd.InvalidAuthenticationCode, "not valid")
	if err := e.ppl.EnableMFADevice(ctx, root, "ann", seed.Serial, code(now.Add(-30*time.Second)), code(now)); err != nil {
		t.Fatal(err)
	}
	ds, err := e.ppl.ListMFADevices(ctx, root, "ann")
	if err != nil || len(ds) != 1 || ds[0].User != "ann" {
		t.Fatalf("ListMFADevices: %+v %v", ds, err)
	}

	// Everything is denied without MFA (AWS's "force MFA" pattern).
	forceMFA := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"},
	 {"Effect":"Deny","Action":"iam:*","Resource":"*","Condition":{"BoolIfExists":{"aws:MultiFactorAuthPresent":"false"}}}]}`
	if err := e.svc.PutInlinePolicy(ctx, root, iamd.Entity{Kind: iamd.EntityUser, Name: "ann"}, "force-mfa", forceMFA); err != nil {
		t.Fatal(err)
	}
	ann := e.caller(t, "ann")
	if _, _, err := e.svc.ListUsers(ctx, ann, "/", iamd.Page{MaxItems: 10}); !errors.Is(err, iamd.ErrAccessDenied) {
		t.Fatalf("the key alone: %v", err)
	}
	e.clock.Add(30 * time.Second)
	_, err = e.ppl.VerifyMFA(ctx, ann, seed.Serial, code(now)) // the code enabling used
	wantKind(t, "a code already used", err, iamd.AccessDenied, "MultiFactorAuthentication failed")
	wrongAt, err := e.ppl.VerifyMFA(ctx, ann, seed.Serial, "000000")
	wantKind(t, "a wrong code", err, iamd.AccessDenied, "MultiFactorAuthentication failed")
	if !wrongAt.IsZero() {
		t.Fatal("a wrong code gave a time of MFA")
	}
	at, err := e.ppl.VerifyMFA(ctx, ann, seed.Serial, code(e.clock.Now()))
	if err != nil {
		t.Fatal(err)
	}
	_, err = e.ppl.VerifyMFA(ctx, ann, seed.Serial, code(e.clock.Now()))
	wantKind(t, "the same code twice", err, iamd.AccessDenied, "MultiFactorAuthentication failed")
	creds, err := e.svc.GetSessionToken(ctx, ann, 0, at)
	if err != nil {
		t.Fatal(err)
	}
	cc, _, err := e.svc.SigningKeyFor(ctx, &sigv4.Auth{AccessKeyID: creds.AccessKeyID, SecurityToken: creds.SessionToken, Date: "20261204", Region: "us-east-1", Service: "iam"})
	if err != nil {
		t.Fatal(err)
	}
	sess := cc.Caller
	if _, _, err := e.svc.ListUsers(ctx, &sess, "/", iamd.Page{MaxItems: 10}); err != nil {
		t.Fatalf("the MFA session may call IAM: %v", err)
	}
	// Another user cannot use ann's device.
	if _, err := e.svc.CreateUser(ctx, root, "bob", "/", nil); err != nil {
		t.Fatal(err)
	}
	e.clock.Add(30 * time.Second)
	_, err = e.ppl.VerifyMFA(ctx, e.caller(t, "bob"), seed.Serial, code(e.clock.Now()))
	wantKind(t, "another user's device", err, iamd.AccessDenied, "MultiFactorAuthentication failed")

	// A role whose trust requires MFA.
	trust := `{"Version":"2012-10-17","Statement":{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::` + acct + `:user/ann"},"Action":"sts:AssumeRole","Condition":{"Bool":{"aws:MultiFactorAuthPresent":"true"}}}}`
	if _, err := e.svc.CreateRole(ctx, root, "admin", "/", "", trust, 0, nil); err != nil {
		t.Fatal(err)
	}
	in := iamd.AssumeRoleInput{RoleARN: "arn:aws:iam::" + acct + ":role/admin", SessionName: "s"}
	if _, _, err := e.svc.AssumeRole(ctx, ann, in); !errors.Is(err, iamd.ErrAccessDenied) {
		t.Fatalf("assuming without MFA: %v", err)
	}
	e.clock.Add(30 * time.Second)
	if in.MFAAt, err = e.ppl.VerifyMFA(ctx, ann, seed.Serial, code(e.clock.Now())); err != nil {
		t.Fatal(err)
	}
	if _, _, err := e.svc.AssumeRole(ctx, ann, in); err != nil {
		t.Fatalf("assuming with MFA: %v", err)
	}

	// The master key rotated: the seed is sealed anew and still checks codes.
	key := make([]byte, 32)
	rand.Read(key)
	newSealer, _ := iamd.NewSealer(key)
	if _, err := iamd.RotateMasterKey(ctx, e.store, e.sealer, newSealer); err != nil {
		t.Fatal(err)
	}
	rotated := people.New(people.Config{Service: e.svc, Store: e.store, Sealer: newSealer, Now: e.clock.Now})
	e.clock.Add(30 * time.Second)
	if _, err := rotated.VerifyMFA(ctx, ann, seed.Serial, code(e.clock.Now())); err != nil {
		t.Fatalf("a code after the master key's rotation: %v", err)
	}
	e.clock.Add(30 * time.Second)
	if _, err := e.ppl.VerifyMFA(ctx, ann, seed.Serial, code(e.clock.Now())); iamd.KindOf(err) != iamd.Internal {
		t.Fatalf("the old master key still opens the seed: %v", err)
	}
	e.ppl = rotated

	wantKind(t, "deleting an enabled device", e.ppl.DeleteVirtualMFADevice(ctx, root, seed.Serial), iamd.Conflict, "in use")
	if err := e.ppl.DeactivateMFADevice(ctx, root, "ann", seed.Serial); err != nil {
		t.Fatal(err)
	}
	if err := e.ppl.DeleteVirtualMFADevice(ctx, root, seed.Serial); err != nil {
		t.Fatal(err)
	}
}

// TestCredentialReport: password_* and mfa_active are real.
func TestCredentialReport(t *testing.T) {
	e := setup(t)
	for _, u := range []string{"ann", "bob"} {
		if _, err := e.svc.CreateUser(ctx, root, u, "/", nil); err != nil {
			t.Fatal(err)
		}
	}
	if err := e.ppl.UpdatePasswordPolicy(ctx, root, iamd.PasswordPolicy{MinimumPasswordLength: 8, MaxPasswordAge: 90}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.ppl.CreateLoginProfile(ctx, root, "ann", "Correct-Horse-1", false); err != nil {
		t.Fatal(err)
	}
	seed, err := e.ppl.CreateVirtualMFADevice(ctx, root, "bob-phone", "/", nil)
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := people.Base32.DecodeString(seed.Base32)
	n := people.StepAt(e.clock.Now())
	if err := e.ppl.EnableMFADevice(ctx, root, "bob", seed.Serial, people.Code(raw, n-1), people.Code(raw, n)); err != nil {
		t.Fatal(err)
	}
	if _, err := e.svc.GenerateCredentialReport(ctx, root); err != nil {
		t.Fatal(err)
	}
	var r *iamd.CredentialReport
	for i := 0; i < 200; i++ {
		if r, err = e.svc.GetCredentialReport(ctx, root); err == nil {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(string(r.Content)), "\n")
	want := map[string]string{
		"ann": "true,no_information,2026-12-04T12:00:00+00:00,2027-03-04T12:00:00+00:00,false",
		"bob": "false,N/A,N/A,N/A,true",
	}
	for _, line := range lines[1:] {
		f := strings.Split(line, ",")
		if w, ok := want[f[0]]; ok {
			if got := strings.Join(f[3:8], ","); got != w {
				t.Errorf("%s: password and MFA columns %s, want %s", f[0], got, w)
			}
			delete(want, f[0])
		}
	}
	if len(want) != 0 {
		t.Errorf("rows missing: %v", want)
	}
	if strings.Contains(string(r.Content), "argon2") {
		t.Error("the report holds a hash")
	}
}

// TestCodeGuessing: a holder of a user's key guessing that user's MFA
// codes through STS gets CodeRate's burst of tries, then one per 30 s
// step, refused unchecked in between (the right code too, so that a guess
// cannot be told from a refusal); the bucket refills and nothing stays
// locked.
func TestCodeGuessing(t *testing.T) {
	e := setup(t)
	if _, err := e.svc.CreateUser(ctx, root, "ann", "/", nil); err != nil {
		t.Fatal(err)
	}
	seed, err := e.ppl.CreateVirtualMFADevice(ctx, root, "ann-phone", "/", nil)
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := people.Base32.DecodeString(seed.Base32)
	code := func() string { return people.Code(raw, people.StepAt(e.clock.Now())) }
	n := people.StepAt(e.clock.Now())
	if err := e.ppl.EnableMFADevice(ctx, root, "ann", seed.Serial, people.Code(raw, n-1), people.Code(raw, n)); err != nil {
		t.Fatal(err)
	}
	e.clock.Add(30 * time.Second)
	ann := e.caller(t, "ann")
	wrong := "000000"
	if wrong == code() {
		wrong = "000001"
	}
	for i := range people.CodeRate.Burst {
		_, err := e.ppl.VerifyMFA(ctx, ann, seed.Serial, wrong)
		wantKind(t, fmt.Sprintf("guess %d", i+1), err, iamd.AccessDenied, "MultiFactorAuthentication failed")
	}
	_, err = e.ppl.VerifyMFA(ctx, ann, seed.Serial, code())
	wantKind(t, "the right code past the burst", err, iamd.AccessDenied, "MultiFactorAuthentication failed")
	e.clock.Add(people.CodeRate.Every)
	if _, err := e.ppl.VerifyMFA(ctx, ann, seed.Serial, code()); err != nil {
		t.Fatalf("a step later the right code works again: %v", err)
	}
}
