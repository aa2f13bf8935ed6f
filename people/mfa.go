package people

import (
	"context"
	"io"
	"net/url"
	"time"

	"iamd"
)

// MaxDevicesPerUser is AWS's limit of MFA devices one user may have.
const MaxDevicesPerUser = 8

// Seed is a new device's secret as CreateVirtualMFADevice hands it out,
// once: base32 for typing, and the otpauth:// URI an authenticator app
// scans.
type Seed struct {
	Serial string
	Base32 string
	URI    string
}

func (p *People) serial(path, name string) string {
	return "arn:aws:iam::" + p.account() + ":mfa" + path + name
}

func (p *People) open(d *iamd.MFADevice) ([]byte, error) {
	seed, err := p.sealer.Open("mfa "+d.Serial, d.Seed)
	if err != nil {
		return nil, &iamd.Error{Kind: iamd.Internal, Message: "an MFA seed does not open", Err: err}
	}
	return seed, nil
}

// CreateVirtualMFADevice makes a virtual MFA device, unassigned, and
// returns its seed: the only time it is shown.
func (p *People) CreateVirtualMFADevice(ctx context.Context, c *iamd.Caller, name, path string, tags []iamd.Tag) (*Seed, error) {
	if path == "" {
		path = "/"
	}
	serial := p.serial(path, name)
	if err := p.svc.AuthorizeTagged(ctx, c, "iam:CreateVirtualMFADevice", serial, iamd.TagFacts{Setting: tags}); err != nil {
		return nil, err
	}
	if err := iamd.CheckTagKeys(tags); err != nil {
		return nil, err
	}
	seed := make([]byte, 20) // 160 bits, as RFC 4226 recommends
	if _, err := io.ReadFull(p.rand, seed); err != nil {
		return nil, err
	}
	sealed, err := p.sealer.Seal("mfa "+serial, seed)
	if err != nil {
		return nil, err
	}
	if err := p.store.CreateMFADevice(ctx, &iamd.MFADevice{Serial: serial, Name: name, Path: path, Seed: sealed, CreatedAt: p.timestamp(), Tags: tags}); err != nil {
		return nil, err
	}
	b32 := Base32.EncodeToString(seed)
	q := url.Values{"secret": {b32}, "issuer": {"iamd " + p.account()}}
	return &Seed{Serial: serial, Base32: b32, URI: "otpauth://totp/" + url.PathEscape(name+"@"+p.account()) + "?" + q.Encode()}, nil
}

func invalidCode() error {
	return iamd.Errorf(iamd.InvalidAuthenticationCode, "Authentication code for device is not valid.")
}

// EnableMFADevice assigns a device to user, proving it with two
// consecutive codes from the last five minutes.
func (p *People) EnableMFADevice(ctx context.Context, c *iamd.Caller, user, serial, code1, code2 string) error {
	if err := p.svc.Authorize(ctx, c, "iam:EnableMFADevice", p.userARN(ctx, user)); err != nil {
		return err
	}
	if _, err := p.store.GetUser(ctx, user); err != nil {
		return err
	}
	have, err := p.store.ListMFADevices(ctx, user, nil)
	if err != nil {
		return err
	}
	if len(have) >= MaxDevicesPerUser {
		return iamd.Errorf(iamd.LimitExceeded, "Cannot exceed quota for MFADevicesPerUser: %d", MaxDevicesPerUser)
	}
	now := StepAt(p.now())
	return p.store.UpdateMFADevice(ctx, serial, func(d *iamd.MFADevice) error {
		if d.User != "" {
			return iamd.Errorf(iamd.AlreadyExists, "MFA Device is already in use.")
		}
		seed, err := p.open(d)
		if err != nil {
			return err
		}
		n := match(seed, code1, now-10, now)
		if n < 0 || match(seed, code2, n+1, n+1) < 0 {
			return invalidCode()
		}
		d.User, d.EnabledAt, d.LastStep = user, p.timestamp(), n+1
		return nil
	})
}

// ResyncMFADevice brings a device whose clock drifted back in step, with
// two consecutive codes from the last fifteen minutes or the next five.
func (p *People) ResyncMFADevice(ctx context.Context, c *iamd.Caller, user, serial, code1, code2 string) error {
	if err := p.svc.Authorize(ctx, c, "iam:ResyncMFADevice", p.userARN(ctx, user)); err != nil {
		return err
	}
	now := StepAt(p.now())
	return p.store.UpdateMFADevice(ctx, serial, func(d *iamd.MFADevice) error {
		if !sameUser(d.User, user) {
			return iamd.Errorf(iamd.NotFound, "MFA Device with serial number %s does not exist for user %s.", serial, user)
		}
		seed, err := p.open(d)
		if err != nil {
			return err
		}
		n := match(seed, code1, max(now-30, d.LastStep+1), now+10)
		if n < 0 || match(seed, code2, n+1, n+1) < 0 {
			return invalidCode()
		}
		d.LastStep = n + 1
		return nil
	})
}

func sameUser(a, b string) bool { return a != "" && iamd.FoldName(a) == iamd.FoldName(b) }

// DeactivateMFADevice takes the device from user; it stays, unassigned.
func (p *People) DeactivateMFADevice(ctx context.Context, c *iamd.Caller, user, serial string) error {
	if err := p.svc.Authorize(ctx, c, "iam:DeactivateMFADevice", p.userARN(ctx, user)); err != nil {
		return err
	}
	return p.store.UpdateMFADevice(ctx, serial, func(d *iamd.MFADevice) error {
		if !sameUser(d.User, user) {
			return iamd.Errorf(iamd.NotFound, "MFA Device with serial number %s does not exist for user %s.", serial, user)
		}
		d.User, d.EnabledAt = "", time.Time{}
		return nil
	})
}

// DeleteVirtualMFADevice deletes an unassigned device.
func (p *People) DeleteVirtualMFADevice(ctx context.Context, c *iamd.Caller, serial string) error {
	if err := p.svc.Authorize(ctx, c, "iam:DeleteVirtualMFADevice", serial); err != nil {
		return err
	}
	return p.store.DeleteMFADevice(ctx, serial)
}

// ListMFADevices lists user's devices (the caller's own when user is "").
func (p *People) ListMFADevices(ctx context.Context, c *iamd.Caller, user string) ([]*iamd.MFADevice, error) {
	if user == "" {
		if c.Kind != iamd.CallerUser {
			return nil, nil // the root's MFA is not kept by iamd
		}
		user = c.User.Name
	}
	if err := p.svc.Authorize(ctx, c, "iam:ListMFADevices", p.userARN(ctx, user)); err != nil {
		return nil, err
	}
	return p.store.ListMFADevices(ctx, user, nil)
}

// ListVirtualMFADevices lists the account's devices: assigned (true),
// unassigned (false) or all (nil).
func (p *People) ListVirtualMFADevices(ctx context.Context, c *iamd.Caller, assigned *bool) ([]*iamd.MFADevice, error) {
	if err := p.svc.Authorize(ctx, c, "iam:ListVirtualMFADevices", "*"); err != nil {
		return nil, err
	}
	return p.store.ListMFADevices(ctx, "", assigned)
}

// TagMFADevice, UntagMFADevice and MFADeviceTags manage a device's tags.
func (p *People) TagMFADevice(ctx context.Context, c *iamd.Caller, serial string, tags []iamd.Tag) error {
	if err := p.svc.AuthorizeTagged(ctx, c, "iam:TagMFADevice", serial, iamd.TagFacts{Resource: p.deviceTags(ctx, serial), Setting: tags}); err != nil {
		return err
	}
	if err := iamd.CheckTagKeys(tags); err != nil {
		return err
	}
	return p.store.UpdateMFADevice(ctx, serial, func(d *iamd.MFADevice) error {
		merged, err := iamd.MergeTags(d.Tags, tags)
		d.Tags = merged
		return err
	})
}

func (p *People) UntagMFADevice(ctx context.Context, c *iamd.Caller, serial string, keys []string) error {
	if err := p.svc.AuthorizeTagged(ctx, c, "iam:UntagMFADevice", serial, iamd.TagFacts{Resource: p.deviceTags(ctx, serial), Removing: keys}); err != nil {
		return err
	}
	return p.store.UpdateMFADevice(ctx, serial, func(d *iamd.MFADevice) error {
		d.Tags = iamd.RemoveTags(d.Tags, keys)
		return nil
	})
}

func (p *People) MFADeviceTags(ctx context.Context, c *iamd.Caller, serial string) ([]iamd.Tag, error) {
	if err := p.svc.Authorize(ctx, c, "iam:ListMFADeviceTags", serial); err != nil {
		return nil, err
	}
	d, err := p.store.GetMFADevice(ctx, serial)
	if err != nil {
		return nil, err
	}
	return d.Tags, nil
}

// VerifyMFA checks code against the device serial of the calling user, as
// STS does for GetSessionToken and AssumeRole with SerialNumber and
// TokenCode: the device must be the user's, and the code current (a step
// either side for clock drift) and not used before. It returns when the
// code was checked. Every refusal reads the same, whatever failed; past
// CodeRate a device's codes are refused unchecked until its bucket refills.
func (p *People) VerifyMFA(ctx context.Context, c *iamd.Caller, serial, code string) (time.Time, error) {
	refused := iamd.Errorf(iamd.AccessDenied, "MultiFactorAuthentication failed with invalid MFA one time pass code. ")
	if c.Kind != iamd.CallerUser || c.Session != nil && c.Session.Kind != iamd.SessionOfUser {
		return time.Time{}, refused
	}
	now := p.now()
	cur := StepAt(now)
	err := p.store.UpdateMFADevice(ctx, serial, func(d *iamd.MFADevice) error {
		if !sameUser(d.User, c.User.Name) || !p.codes.Take(d.Serial, now) {
			return refused
		}
		seed, err := p.open(d)
		if err != nil {
			return err
		}
		n := match(seed, code, max(cur-1, d.LastStep+1), cur+1)
		if n < 0 {
			return refused
		}
		d.LastStep = n
		return nil
	})
	switch {
	case iamd.KindOf(err) == iamd.NotFound:
		return time.Time{}, refused
	case err != nil:
		return time.Time{}, err
	}
	return now, nil
}

// HasMFA reports whether user has an enabled MFA device (the credential
// report's mfa_active).
func (p *People) HasMFA(ctx context.Context, user string) (bool, error) {
	ds, err := p.store.ListMFADevices(ctx, user, nil)
	return len(ds) > 0, err
}

// deviceTags are a device's tags, for iam:ResourceTag; none if it is gone.
func (p *People) deviceTags(ctx context.Context, serial string) []iamd.Tag {
	if d, err := p.store.GetMFADevice(ctx, serial); err == nil {
		return d.Tags
	}
	return nil
}
