// Package signin is the console's sign-in with a password: account, user
// name and password, then an MFA code when the user has a device, and a new
// password when one must be chosen. It is a door anyone can knock on, so:
//
//   - attempts are limited per user name from one client address, per
//     address, and per user name from everywhere (token buckets that
//     refill: nothing is ever locked for good; a guesser at one address
//     spends its own buckets, not those of the real user elsewhere, and a
//     guesser at many addresses is held to the name's overall rate);
//   - an unknown user, an unknown account and a wrong password get the
//     same answer, after the same work (a password hash is verified in
//     every case);
//   - the password, the new password and the code are never logged or
//     answered back.
//
// A successful sign-in yields a console session: temporary credentials
// with the user's permissions (package iamd's ConsoleSession).
package signin

import (
	"context"
	"net/netip"
	"time"

	"iamd"
	"iamd/accounts"
	"iamd/internal/ratelimit"
	"iamd/people"
)

// Input is one sign-in attempt.
type Input struct {
	Account     string `json:"account"`
	User        string `json:"user"`
	Password    string `json:"password"`
	Code        string `json:"code,omitempty"`        // the MFA code, once asked for
	NewPassword string `json:"newPassword,omitempty"` // once a new one is asked for
}

// Output is what an attempt yields: credentials, or what is asked for next.
type Output struct {
	Credentials *iamd.Credentials
	// NeedMFA: the password is right and the user has an MFA device: send
	// the code too. NeedNewPassword: the password must be changed first.
	NeedMFA, NeedNewPassword bool
}

// Refusal kinds, for the door's answer and the audit log.
var (
	ErrRefused  = iamd.Errorf(iamd.AccessDenied, "Your authentication information is incorrect. Please try again.")
	ErrBadCode  = iamd.Errorf(iamd.AccessDenied, "Your authentication information is incorrect. Please try again.")
	ErrThrottle = iamd.Errorf(iamd.LimitExceeded, "Too many sign-in attempts. Wait a minute and try again.")
)

// Config is what the door needs.
type Config struct {
	Service *iamd.Service
	Store   iamd.Store
	People  *people.People
	// Accounts, when set, lets people sign in with the account's alias.
	Accounts *accounts.Accounts
	// Resolve, when set, returns the account of the deployment an ID or
	// alias names, and false for a name no account has: people of every
	// account sign in at one door. Without it, Service's account alone.
	Resolve func(ctx context.Context, name string) (Account, bool)
	Now     func() time.Time
	// PerUserClient, PerClient and PerUser bound attempts: Burst at once,
	// then one per Every. Defaults: 5 for a user name from one address then
	// one per 20 s; 20 per address then one per 3 s; 60 per user name from
	// everywhere then one per 2 s.
	PerUserClient, PerClient, PerUser Rate
}

// Account is what signs people in to one account.
type Account struct {
	Service *iamd.Service
	Store   iamd.Store
	People  *people.People
}

// Rate is a token bucket's size and refill interval.
type Rate = ratelimit.Rate

// Door checks sign-ins.
type Door struct {
	svc         *iamd.Service
	store       iamd.Store
	people      *people.People
	names       *accounts.Accounts
	resolve     func(ctx context.Context, name string) (Account, bool)
	now         func() time.Time
	userClients *ratelimit.Limiter
	clients     *ratelimit.Limiter
	users       *ratelimit.Limiter
	// hashing bounds the password checks run at once: each holds argon2's
	// 19 MiB, and anyone may ask for one.
	hashing chan struct{}
}

// MaxConcurrentChecks is how many password checks run at once; more wait.
const MaxConcurrentChecks = 4

// New returns the sign-in door.
func New(cfg Config) *Door {
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.PerUserClient.Burst == 0 {
		cfg.PerUserClient = Rate{Burst: 5, Every: 20 * time.Second}
	}
	if cfg.PerClient.Burst == 0 {
		cfg.PerClient = Rate{Burst: 20, Every: 3 * time.Second}
	}
	if cfg.PerUser.Burst == 0 {
		cfg.PerUser = Rate{Burst: 60, Every: 2 * time.Second}
	}
	return &Door{svc: cfg.Service, store: cfg.Store, people: cfg.People, names: cfg.Accounts, resolve: cfg.Resolve, now: cfg.Now,
		userClients: ratelimit.New(cfg.PerUserClient), clients: ratelimit.New(cfg.PerClient), users: ratelimit.New(cfg.PerUser),
		hashing: make(chan struct{}, MaxConcurrentChecks)}
}

// SignIn decides one attempt from client.
func (d *Door) SignIn(ctx context.Context, in Input, client netip.Addr) (*Output, error) {
	now := d.now()
	// Every attempt pays, right or wrong, in the order that keeps a
	// guesser's attempts from spending the real user's: its address, then
	// the name from that address, then the name overall.
	// Oversized fields are refused before they are used as bucket keys, so
	// that the buckets hold at most a short name each.
	if len(in.Account) > 64 || len(in.Password) > 128 || len(in.User) > 64 || len(in.Code) > 6 || len(in.NewPassword) > 128 {
		if !d.clients.Take(client.String(), now) {
			return nil, ErrThrottle
		}
		return nil, ErrRefused
	}
	userKey := iamd.FoldName(in.Account + "/" + in.User)
	if !d.clients.Take(client.String(), now) || !d.userClients.Take(userKey+" "+client.String(), now) || !d.users.Take(userKey, now) {
		return nil, ErrThrottle
	}
	select {
	case d.hashing <- struct{}{}:
	case <-ctx.Done():
		return nil, ErrThrottle
	}
	// An unknown account's attempt is checked against the first account,
	// the same work, and refused.
	acct, known := d.account(ctx, in.Account)
	ok, mustChange, err := acct.People.CheckPassword(ctx, in.User, in.Password)
	<-d.hashing
	if err != nil {
		return nil, err
	}
	if !ok || !known {
		return nil, ErrRefused
	}
	u, err := acct.Store.GetUser(ctx, in.User)
	if err != nil {
		return nil, ErrRefused
	}
	caller := &iamd.Caller{Kind: iamd.CallerUser, Account: acct.Service.Account().ID, User: u}
	devices, err := acct.Store.ListMFADevices(ctx, u.Name, nil)
	if err != nil {
		return nil, err
	}
	var mfaAt time.Time
	if len(devices) > 0 {
		if in.Code == "" {
			return &Output{NeedMFA: true}, nil
		}
		verified := false
		for _, dev := range devices {
			if mfaAt, err = acct.People.VerifyMFA(ctx, caller, dev.Serial, in.Code); err == nil {
				verified = true
				break
			}
		}
		if !verified {
			return nil, ErrBadCode
		}
	}
	if mustChange {
		if in.NewPassword == "" {
			return &Output{NeedNewPassword: true}, nil
		}
		if err := acct.People.ResetPassword(ctx, u.Name, in.NewPassword); err != nil {
			return nil, err
		}
	}
	creds, err := acct.Service.ConsoleSession(ctx, u, mfaAt)
	if err != nil {
		return nil, err
	}
	if err := acct.People.SignedIn(ctx, u.Name); err != nil {
		return nil, err // the database that just checked the password is gone
	}
	return &Output{Credentials: creds}, nil
}

// account returns the account name names (its ID or alias), and whether
// one does: the first account's when none does.
func (d *Door) account(ctx context.Context, name string) (Account, bool) {
	first := Account{Service: d.svc, Store: d.store, People: d.people}
	switch {
	case d.resolve != nil:
		if a, ok := d.resolve(ctx, name); ok {
			return a, true
		}
		return first, false
	case d.names != nil:
		return first, d.names.Names(ctx, name)
	}
	return first, name == d.svc.Account().ID
}
