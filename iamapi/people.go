package iamapi

import (
	"context"
	"encoding/base64"
	"regexp"
	"strconv"

	"github.com/skip2/go-qrcode"

	"iamd"
	"iamd/awsquery"
)

var (
	reCode   = regexp.MustCompile(`^\d+$`)
	reSerial = regexp.MustCompile(`^[\w+=/:,.@-]+$`)
)

type loginProfile struct {
	UserName              string
	CreateDate            string
	PasswordResetRequired bool
}

type loginProfileResult struct{ LoginProfile loginProfile }

func (v *validator) password(name string) string {
	return v.Sensitive(name, true, 1, 128)
}

func (v *validator) optionalBool(name string) *bool {
	if _, ok := v.P[name]; !ok {
		return nil
	}
	b := v.boolean(name)
	return &b
}

func (a *API) createLoginProfile(ctx context.Context, c *iamd.Caller, p awsquery.Params) (any, error) {
	v := newValidator(p)
	user := v.userName(false, 64)
	password := v.password("Password")
	reset := v.boolean("PasswordResetRequired")
	if v.Err != nil {
		return nil, v.Err
	}
	if user == "" && c.User != nil {
		user = c.User.Name
	}
	l, err := a.people.CreateLoginProfile(ctx, c, user, password, reset)
	if err != nil {
		return nil, err
	}
	return loginProfileResult{loginProfile{UserName: l.User, CreateDate: awsquery.Timestamp(l.CreatedAt), PasswordResetRequired: l.ResetRequired}}, nil
}

func (a *API) getLoginProfile(ctx context.Context, c *iamd.Caller, p awsquery.Params) (any, error) {
	v := newValidator(p)
	user := v.userName(false, 64)
	if v.Err != nil {
		return nil, v.Err
	}
	if user == "" && c.User != nil {
		user = c.User.Name
	}
	l, err := a.people.GetLoginProfile(ctx, c, user)
	if err != nil {
		return nil, err
	}
	return loginProfileResult{loginProfile{UserName: l.User, CreateDate: awsquery.Timestamp(l.CreatedAt), PasswordResetRequired: l.ResetRequired}}, nil
}

func (a *API) updateLoginProfile(ctx context.Context, c *iamd.Caller, p awsquery.Params) (any, error) {
	v := newValidator(p)
	user := v.userName(true, 64)
	var password *string
	if _, ok := p["Password"]; ok {
		s := v.password("Password")
		password = &s
	}
	reset := v.optionalBool("PasswordResetRequired")
	if v.Err != nil {
		return nil, v.Err
	}
	return nil, a.people.UpdateLoginProfile(ctx, c, user, password, reset)
}

func (a *API) deleteLoginProfile(ctx context.Context, c *iamd.Caller, p awsquery.Params) (any, error) {
	v := newValidator(p)
	user := v.userName(false, 64)
	if v.Err != nil {
		return nil, v.Err
	}
	if user == "" && c.User != nil {
		user = c.User.Name
	}
	return nil, a.people.DeleteLoginProfile(ctx, c, user)
}

func (a *API) changePassword(ctx context.Context, c *iamd.Caller, p awsquery.Params) (any, error) {
	v := newValidator(p)
	old, new := v.password("OldPassword"), v.password("NewPassword")
	if v.Err != nil {
		return nil, v.Err
	}
	return nil, a.people.ChangePassword(ctx, c, old, new)
}

// ---- the password policy ----

type passwordPolicy struct {
	MinimumPasswordLength      int
	RequireSymbols             bool
	RequireNumbers             bool
	RequireUppercaseCharacters bool
	RequireLowercaseCharacters bool
	AllowUsersToChangePassword bool
	ExpirePasswords            bool
	MaxPasswordAge             int `xml:",omitempty"`
	PasswordReusePrevention    int `xml:",omitempty"`
	HardExpiry                 bool
}

type passwordPolicyResult struct{ PasswordPolicy passwordPolicy }

func (a *API) getAccountPasswordPolicy(ctx context.Context, c *iamd.Caller, p awsquery.Params) (any, error) {
	pp, err := a.people.GetPasswordPolicy(ctx, c)
	if err != nil {
		return nil, err
	}
	return passwordPolicyResult{passwordPolicy{MinimumPasswordLength: pp.MinimumPasswordLength, RequireSymbols: pp.RequireSymbols,
		RequireNumbers: pp.RequireNumbers, RequireUppercaseCharacters: pp.RequireUppercaseCharacters,
		RequireLowercaseCharacters: pp.RequireLowercaseCharacters, AllowUsersToChangePassword: pp.AllowUsersToChangePassword,
		ExpirePasswords: pp.MaxPasswordAge > 0, MaxPasswordAge: pp.MaxPasswordAge, PasswordReusePrevention: pp.PasswordReusePrevention,
		HardExpiry: pp.HardExpiry}}, nil
}

func (a *API) updateAccountPasswordPolicy(ctx context.Context, c *iamd.Caller, p awsquery.Params) (any, error) {
	v := newValidator(p)
	var pp iamd.PasswordPolicy
	if n, ok := v.Int("MinimumPasswordLength", 6, 128); ok {
		pp.MinimumPasswordLength = n
	}
	if n, ok := v.Int("MaxPasswordAge", 1, 1095); ok {
		pp.MaxPasswordAge = n
	}
	if n, ok := v.Int("PasswordReusePrevention", 1, 24); ok {
		pp.PasswordReusePrevention = n
	}
	pp.RequireSymbols = v.boolean("RequireSymbols")
	pp.RequireNumbers = v.boolean("RequireNumbers")
	pp.RequireUppercaseCharacters = v.boolean("RequireUppercaseCharacters")
	pp.RequireLowercaseCharacters = v.boolean("RequireLowercaseCharacters")
	pp.AllowUsersToChangePassword = v.boolean("AllowUsersToChangePassword")
	pp.HardExpiry = v.boolean("HardExpiry")
	if v.Err != nil {
		return nil, v.Err
	}
	return nil, a.people.UpdatePasswordPolicy(ctx, c, pp)
}

func (a *API) deleteAccountPasswordPolicy(ctx context.Context, c *iamd.Caller, p awsquery.Params) (any, error) {
	return nil, a.people.DeletePasswordPolicy(ctx, c)
}

// ---- MFA devices ----

type virtualMFADevice struct {
	SerialNumber     string
	Base32StringSeed string `xml:",omitempty"` // a blob: base64 of the base32 text
	QRCodePNG        string `xml:",omitempty"` // a blob: base64 of a PNG of the otpauth:// URI
	User             *user  `xml:",omitempty"`
	EnableDate       string `xml:",omitempty"`
	Tags             *tags  `xml:",omitempty"`
}

type virtualMFADeviceResult struct{ VirtualMFADevice virtualMFADevice }

func (v *validator) serialNumber() string {
	return v.Str("SerialNumber", true, 9, 256, reSerial, `[\w+=/:,.@-]+`)
}

func (a *API) createVirtualMFADevice(ctx context.Context, c *iamd.Caller, p awsquery.Params) (any, error) {
	v := newValidator(p)
	name := v.Str("VirtualMFADeviceName", true, 1, 226, reName, `[\w+=,.@-]+`)
	path := v.Str("Path", false, 1, 512, rePath, `(\u002F)|(\u002F[\u0021-\u007F]+\u002F)`)
	tags := v.tags()
	if v.Err != nil {
		return nil, v.Err
	}
	seed, err := a.people.CreateVirtualMFADevice(ctx, c, name, path, tags)
	if err != nil {
		return nil, err
	}
	// The QR code an authenticator app scans: the otpauth:// URI, which
	// holds the seed, so it is returned here once like the seed itself.
	png, err := qrcode.Encode(seed.URI, qrcode.Medium, 256)
	if err != nil {
		return nil, err
	}
	return virtualMFADeviceResult{virtualMFADevice{SerialNumber: seed.Serial, Base32StringSeed: base64.StdEncoding.EncodeToString([]byte(seed.Base32)),
		QRCodePNG: base64.StdEncoding.EncodeToString(png)}}, nil
}

// mfaCodes is EnableMFADevice (enable) or ResyncMFADevice.
func (a *API) mfaCodes(enable bool) action {
	return func(ctx context.Context, c *iamd.Caller, p awsquery.Params) (any, error) {
		v := newValidator(p)
		user := v.userName(true, 64)
		serial := v.serialNumber()
		code1 := v.Str("AuthenticationCode1", true, 6, 6, reCode, `[\d]+`)
		code2 := v.Str("AuthenticationCode2", true, 6, 6, reCode, `[\d]+`)
		if v.Err != nil {
			return nil, v.Err
		}
		if enable {
			return nil, a.people.EnableMFADevice(ctx, c, user, serial, code1, code2)
		}
		return nil, a.people.ResyncMFADevice(ctx, c, user, serial, code1, code2)
	}
}

func (a *API) deactivateMFADevice(ctx context.Context, c *iamd.Caller, p awsquery.Params) (any, error) {
	v := newValidator(p)
	user := v.userName(false, 64)
	serial := v.serialNumber()
	if v.Err != nil {
		return nil, v.Err
	}
	if user == "" && c.User != nil {
		user = c.User.Name
	}
	return nil, a.people.DeactivateMFADevice(ctx, c, user, serial)
}

func (a *API) deleteVirtualMFADevice(ctx context.Context, c *iamd.Caller, p awsquery.Params) (any, error) {
	v := newValidator(p)
	serial := v.serialNumber()
	if v.Err != nil {
		return nil, v.Err
	}
	return nil, a.people.DeleteVirtualMFADevice(ctx, c, serial)
}

type mfaDevice struct {
	UserName     string
	SerialNumber string
	EnableDate   string
}

type listMFADevicesResult struct {
	MFADevices  []mfaDevice `xml:"MFADevices>member"`
	IsTruncated bool
	Marker      string `xml:",omitempty"`
}

// pageOf is page's share of n items, by offset, and the next marker.
func pageOf(n int, page iamd.Page) (from, to int, next string, err error) {
	if page.Marker != "" {
		if from, err = strconv.Atoi(page.Marker); err != nil || from < 0 || from > n {
			return 0, 0, "", iamd.Errorf(iamd.InvalidInput, "Invalid Marker.")
		}
	}
	to = min(n, from+page.MaxItems)
	if to < n {
		next = strconv.Itoa(to)
	}
	return from, to, next, nil
}

func (a *API) listMFADevices(ctx context.Context, c *iamd.Caller, p awsquery.Params) (any, error) {
	v := newValidator(p)
	user := v.userName(false, 128)
	page := v.page()
	if v.Err != nil {
		return nil, v.Err
	}
	ds, err := a.people.ListMFADevices(ctx, c, user)
	if err != nil {
		return nil, err
	}
	from, to, next, err := pageOf(len(ds), page)
	if err != nil {
		return nil, err
	}
	out := listMFADevicesResult{MFADevices: []mfaDevice{}, IsTruncated: next != "", Marker: next}
	for _, d := range ds[from:to] {
		out.MFADevices = append(out.MFADevices, mfaDevice{UserName: d.User, SerialNumber: d.Serial, EnableDate: awsquery.Timestamp(d.EnabledAt)})
	}
	return out, nil
}

type listVirtualMFADevicesResult struct {
	VirtualMFADevices []virtualMFADevice `xml:"VirtualMFADevices>member"`
	IsTruncated       bool
	Marker            string `xml:",omitempty"`
}

func (a *API) listVirtualMFADevicesOf(ctx context.Context, c *iamd.Caller, p awsquery.Params) (any, error) {
	v := newValidator(p)
	var assigned *bool
	switch s := v.P["AssignmentStatus"]; s {
	case "", "Any":
	case "Assigned", "Unassigned":
		b := s == "Assigned"
		assigned = &b
	default:
		v.Fail("Value '%s' at 'assignmentStatus' failed to satisfy constraint: Member must satisfy enum value set: [Unassigned, Any, Assigned]", clip(s))
	}
	page := v.page()
	if v.Err != nil {
		return nil, v.Err
	}
	ds, err := a.people.ListVirtualMFADevices(ctx, c, assigned)
	if err != nil {
		return nil, err
	}
	from, to, next, err := pageOf(len(ds), page)
	if err != nil {
		return nil, err
	}
	out := listVirtualMFADevicesResult{VirtualMFADevices: []virtualMFADevice{}, IsTruncated: next != "", Marker: next}
	for _, d := range ds[from:to] {
		vd := virtualMFADevice{SerialNumber: d.Serial}
		if d.User != "" {
			if u, err := a.svc.GetUser(ctx, &iamd.Caller{Kind: iamd.CallerRoot, Account: a.svc.Account().ID}, d.User); err == nil {
				w := a.user(u, false)
				vd.User = &w
			}
			vd.EnableDate = awsquery.Timestamp(d.EnabledAt)
		}
		if len(d.Tags) > 0 {
			vd.Tags = &tags{}
			for _, t := range d.Tags {
				vd.Tags.Member = append(vd.Tags.Member, tag(t))
			}
		}
		out.VirtualMFADevices = append(out.VirtualMFADevices, vd)
	}
	return out, nil
}

func (a *API) tagMFADevice(ctx context.Context, c *iamd.Caller, p awsquery.Params) (any, error) {
	v := newValidator(p)
	serial := v.serialNumber()
	ts := v.requiredTags()
	if v.Err != nil {
		return nil, v.Err
	}
	return nil, a.people.TagMFADevice(ctx, c, serial, ts)
}

func (a *API) untagMFADevice(ctx context.Context, c *iamd.Caller, p awsquery.Params) (any, error) {
	v := newValidator(p)
	serial := v.serialNumber()
	keys := v.tagKeys()
	if v.Err != nil {
		return nil, v.Err
	}
	return nil, a.people.UntagMFADevice(ctx, c, serial, keys)
}

func (a *API) listMFADeviceTags(ctx context.Context, c *iamd.Caller, p awsquery.Params) (any, error) {
	v := newValidator(p)
	serial := v.serialNumber()
	page := v.page()
	if v.Err != nil {
		return nil, v.Err
	}
	ts, err := a.people.MFADeviceTags(ctx, c, serial)
	if err != nil {
		return nil, err
	}
	return pagedTags(ts, page)
}
