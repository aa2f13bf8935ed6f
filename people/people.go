// Package people serves what IAM keeps for people rather than programs:
// console passwords (login profiles, hashed with argon2id), the account's
// password policy, and virtual MFA devices (TOTP, RFC 6238, their seeds
// sealed with the master key), and checks MFA codes for STS, so that
// sessions carry aws:MultiFactorAuthPresent.
//
// No password, hash or seed leaves this package but the seed, once, in
// CreateVirtualMFADevice's answer.
package people

import (
	"context"
	"crypto/rand"
	"io"
	"time"

	"iamd"
	"iamd/internal/ratelimit"
)

// Config is what People needs.
type Config struct {
	Service *iamd.Service
	Store   iamd.Store
	Sealer  *iamd.Sealer
	Now     func() time.Time // time.Now if nil
	Rand    io.Reader        // crypto/rand if nil
}

// People serves login profiles, the password policy and MFA devices.
type People struct {
	svc    *iamd.Service
	store  iamd.Store
	sealer *iamd.Sealer
	now    func() time.Time
	rand   io.Reader
	// codes bounds the one-time codes tried against each device (CodeRate).
	codes *ratelimit.Limiter
}

// CodeRate is how many one-time codes a device may be tried with on one
// node: five at once, then one per 30 s step. Guessing a 6-digit code
// (three valid at a time) then takes years; the real user, who can use
// each code once anyway, never meets the limit.
var CodeRate = ratelimit.Rate{Burst: 5, Every: 30 * time.Second}

// New returns People for cfg.
func New(cfg Config) *People {
	p := &People{svc: cfg.Service, store: cfg.Store, sealer: cfg.Sealer, now: cfg.Now, rand: cfg.Rand, codes: ratelimit.New(CodeRate)}
	if p.now == nil {
		p.now = time.Now
	}
	if p.rand == nil {
		p.rand = rand.Reader
	}
	return p
}

func (p *People) account() string { return p.svc.Account().ID }

func (p *People) timestamp() time.Time { return p.now().UTC().Truncate(time.Millisecond) }

// userARN is the ARN a user's actions are decided on: its stored ARN (path
// included) when it exists, else the name as requested.
func (p *People) userARN(ctx context.Context, name string) string {
	if u, err := p.store.GetUser(ctx, name); err == nil {
		return u.ARN(p.account())
	}
	return "arn:aws:iam::" + p.account() + ":user/" + name
}

// ---- the password policy ----

func (p *People) noPolicy() error {
	return iamd.Errorf(iamd.NotFound, "The Password Policy with domain name %s cannot be found.", p.account())
}

// GetPasswordPolicy returns the account's password policy.
func (p *People) GetPasswordPolicy(ctx context.Context, c *iamd.Caller) (*iamd.PasswordPolicy, error) {
	if err := p.svc.Authorize(ctx, c, "iam:GetAccountPasswordPolicy", "*"); err != nil {
		return nil, err
	}
	pp, err := p.store.GetPasswordPolicy(ctx)
	if iamd.KindOf(err) == iamd.NotFound {
		return nil, p.noPolicy()
	}
	if pp != nil && pp.MinimumPasswordLength == 0 {
		pp.MinimumPasswordLength = defaultMinimum
	}
	return pp, err
}

// UpdatePasswordPolicy sets the account's password policy; what it does
// not set takes AWS's defaults.
func (p *People) UpdatePasswordPolicy(ctx context.Context, c *iamd.Caller, pp iamd.PasswordPolicy) error {
	if err := p.svc.Authorize(ctx, c, "iam:UpdateAccountPasswordPolicy", "*"); err != nil {
		return err
	}
	if pp.MinimumPasswordLength == 0 {
		pp.MinimumPasswordLength = defaultMinimum
	}
	return p.store.PutPasswordPolicy(ctx, &pp)
}

// DeletePasswordPolicy removes it: passwords then follow AWS's defaults.
func (p *People) DeletePasswordPolicy(ctx context.Context, c *iamd.Caller) error {
	if err := p.svc.Authorize(ctx, c, "iam:DeleteAccountPasswordPolicy", "*"); err != nil {
		return err
	}
	if err := p.store.PutPasswordPolicy(ctx, nil); iamd.KindOf(err) == iamd.NotFound {
		return p.noPolicy()
	} else {
		return err
	}
}

func (p *People) policy(ctx context.Context) (*iamd.PasswordPolicy, error) {
	pp, err := p.store.GetPasswordPolicy(ctx)
	if iamd.KindOf(err) == iamd.NotFound {
		return nil, nil
	}
	return pp, err
}

// ---- login profiles ----

// Login is a login profile as IAM shows it: never the password or its hash.
type Login struct {
	User          string
	CreatedAt     time.Time
	ResetRequired bool
}

// setPassword checks password against the policy and the profile's
// history, and makes it the profile's.
func (p *People) setPassword(ctx context.Context, lp *iamd.LoginProfile, pp *iamd.PasswordPolicy, user, password string) error {
	if err := check(pp, user, password); err != nil {
		return err
	}
	if pp != nil && pp.PasswordReusePrevention > 0 {
		for i, h := range append([]string{lp.Hash}, lp.History...) {
			if i < pp.PasswordReusePrevention && h != "" && verify(h, password) {
				return iamd.Errorf(iamd.PasswordPolicyViolation, "Password was used too recently: the password policy prevents reusing any of the last %d", pp.PasswordReusePrevention)
			}
		}
	}
	h, err := hash(p.rand, password)
	if err != nil {
		return err
	}
	if lp.Hash != "" {
		lp.History = append([]string{lp.Hash}, lp.History...)
	}
	keep := 0
	if pp != nil {
		keep = pp.PasswordReusePrevention
	}
	if len(lp.History) > keep {
		lp.History = lp.History[:keep]
	}
	lp.Hash, lp.ChangedAt = h, p.timestamp()
	return nil
}

// CreateLoginProfile gives user a console password.
func (p *People) CreateLoginProfile(ctx context.Context, c *iamd.Caller, user, password string, reset bool) (*Login, error) {
	if err := p.svc.Authorize(ctx, c, "iam:CreateLoginProfile", p.userARN(ctx, user)); err != nil {
		return nil, err
	}
	pp, err := p.policy(ctx)
	if err != nil {
		return nil, err
	}
	var out Login
	err = p.store.PutLoginProfile(ctx, user, true, func(lp *iamd.LoginProfile) error {
		if err := p.setPassword(ctx, lp, pp, user, password); err != nil {
			return err
		}
		lp.CreatedAt, lp.ResetRequired = lp.ChangedAt, reset
		out = Login{User: user, CreatedAt: lp.CreatedAt, ResetRequired: reset}
		return nil
	})
	if err != nil {
		return nil, err
	}
	if u, err := p.store.GetUser(ctx, user); err == nil {
		out.User = u.Name
	}
	return &out, nil
}

// GetLoginProfile says whether user has a console password.
func (p *People) GetLoginProfile(ctx context.Context, c *iamd.Caller, user string) (*Login, error) {
	if err := p.svc.Authorize(ctx, c, "iam:GetLoginProfile", p.userARN(ctx, user)); err != nil {
		return nil, err
	}
	lp, err := p.store.GetLoginProfile(ctx, user)
	if err != nil {
		return nil, err
	}
	u, err := p.store.GetUser(ctx, user)
	if err != nil {
		return nil, err
	}
	return &Login{User: u.Name, CreatedAt: lp.CreatedAt, ResetRequired: lp.ResetRequired}, nil
}

// UpdateLoginProfile sets a new password, or whether one must be chosen
// at the next sign-in, or both.
func (p *People) UpdateLoginProfile(ctx context.Context, c *iamd.Caller, user string, password *string, reset *bool) error {
	if err := p.svc.Authorize(ctx, c, "iam:UpdateLoginProfile", p.userARN(ctx, user)); err != nil {
		return err
	}
	pp, err := p.policy(ctx)
	if err != nil {
		return err
	}
	return p.store.PutLoginProfile(ctx, user, false, func(lp *iamd.LoginProfile) error {
		if password != nil {
			if err := p.setPassword(ctx, lp, pp, user, *password); err != nil {
				return err
			}
		}
		if reset != nil {
			lp.ResetRequired = *reset
		}
		return nil
	})
}

// DeleteLoginProfile takes the user's console password away.
func (p *People) DeleteLoginProfile(ctx context.Context, c *iamd.Caller, user string) error {
	if err := p.svc.Authorize(ctx, c, "iam:DeleteLoginProfile", p.userARN(ctx, user)); err != nil {
		return err
	}
	return p.store.DeleteLoginProfile(ctx, user)
}

// ChangePassword changes the calling user's own password, as AWS allows
// it: when the password policy lets users change their passwords, or the
// user's policies allow iam:ChangePassword on itself.
func (p *People) ChangePassword(ctx context.Context, c *iamd.Caller, old, new string) error {
	if c.Kind != iamd.CallerUser {
		return iamd.Errorf(iamd.InvalidInput, "Only IAM users can change their own password with ChangePassword; the account's root user cannot.")
	}
	pp, err := p.policy(ctx)
	if err != nil {
		return err
	}
	if pp == nil || !pp.AllowUsersToChangePassword {
		if err := p.svc.Authorize(ctx, c, "iam:ChangePassword", c.User.ARN(p.account())); err != nil {
			return err
		}
	}
	user := c.User.Name
	return p.store.PutLoginProfile(ctx, user, false, func(lp *iamd.LoginProfile) error {
		if !verify(lp.Hash, old) {
			return iamd.Errorf(iamd.AccessDenied, "The old password is incorrect.")
		}
		if err := p.setPassword(ctx, lp, pp, user, new); err != nil {
			return err
		}
		lp.ResetRequired = false
		return nil
	})
}

// ResetPassword sets user's new password at a sign-in that required one
// (reset required, or the old one expired), under the password policy.
func (p *People) ResetPassword(ctx context.Context, user, password string) error {
	pp, err := p.policy(ctx)
	if err != nil {
		return err
	}
	return p.store.PutLoginProfile(ctx, user, false, func(lp *iamd.LoginProfile) error {
		if err := p.setPassword(ctx, lp, pp, user, password); err != nil {
			return err
		}
		lp.ResetRequired = false
		return nil
	})
}

// SignedIn records that user's password signed them in to the console
// now (GetUser's PasswordLastUsed, the credential report's
// password_last_used).
func (p *People) SignedIn(ctx context.Context, user string) error {
	return p.store.PutLoginProfile(ctx, user, false, func(lp *iamd.LoginProfile) error {
		lp.LastUsedAt = p.timestamp()
		return nil
	})
}

// PasswordLastUsed is when user's password last signed them in: zero if
// never, or if they have no password. The caller has been allowed to read
// the user.
func (p *People) PasswordLastUsed(ctx context.Context, user string) (time.Time, error) {
	lp, err := p.store.GetLoginProfile(ctx, user)
	if iamd.KindOf(err) == iamd.NotFound {
		return time.Time{}, nil
	}
	if err != nil {
		return time.Time{}, err
	}
	return lp.LastUsedAt, nil
}

// CheckPassword reports whether password is user's console password,
// taking as long when the user or its profile does not exist; and whether
// a new one must be chosen (reset required, or past the policy's maximum
// age).
func (p *People) CheckPassword(ctx context.Context, user, password string) (ok, mustChange bool, err error) {
	lp, err := p.store.GetLoginProfile(ctx, user)
	if iamd.KindOf(err) == iamd.NotFound {
		verify(dummyHash, password)
		return false, false, nil
	}
	if err != nil {
		return false, false, err
	}
	if !verify(lp.Hash, password) {
		return false, false, nil
	}
	pp, err := p.policy(ctx)
	if err != nil {
		return false, false, err
	}
	expired := pp != nil && pp.MaxPasswordAge > 0 && p.now().Sub(lp.ChangedAt) > time.Duration(pp.MaxPasswordAge)*24*time.Hour
	return true, lp.ResetRequired || expired, nil
}
