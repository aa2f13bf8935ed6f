package iamd

import (
	"context"
	"crypto/hmac"
	"encoding/base64"
	"encoding/json"
	"errors"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"iamd/policy"
)

// Temporary credentials are stateless: the session token is the session
// itself (who, until when, with which session policies), sealed with the
// master key and bound to its ASIA… key ID; the secret is derived from the
// key ID and the master key. Minting one
// writes nothing; any node that shares the master key accepts it at once.
// Every use checks what the session rests on, from memory when nothing
// changed: the long-term key that called GetSessionToken must still be
// Active (deactivating or deleting it, or deleting its user, ends its
// sessions), and an assumed role must still exist as the same role
// (deleting it ends its sessions, also when a role of that name is made
// again). Policies are those in force at each request.

// SessionKind says how a session was obtained.
type SessionKind uint8

const (
	SessionOfUser SessionKind = iota + 1 // GetSessionToken, by a user or the root
	SessionOfRole                        // AssumeRole
)

// Session is what temporary credentials stand for.
type Session struct {
	Kind      SessionKind `json:"k"`
	KeyID     string      `json:"-"`            // the token is bound to it
	Secret    string      `json:"-"`            // derived from the key ID and the master key
	ParentKey string      `json:"pk,omitempty"` // GetSessionToken: the long-term key that asked
	RoleName  string      `json:"r,omitempty"`
	RoleID    string      `json:"ri,omitempty"`
	Name      string      `json:"n,omitempty"` // RoleSessionName
	Issued    int64       `json:"i"`           // unix seconds
	Expires   int64       `json:"e"`
	// Session policies: the session may do only what they allow too.
	Policy         string   `json:"p,omitempty"`
	PolicyARNs     []string `json:"pa,omitempty"`
	Tags           []Tag    `json:"t,omitempty"`
	SourceIdentity string   `json:"si,omitempty"`
	Source         string   `json:"src,omitempty"` // who assumed the role: its ARN, or its identity provider's
	// Subject is, for AssumeRoleWithWebIdentity, who the provider's token
	// said the caller is (sub).
	Subject string `json:"sub,omitempty"`
	// MFA is when the caller's MFA code was checked (unix seconds), for
	// credentials asked for with one; a role session of such a session
	// keeps it.
	MFA int64 `json:"mfa,omitempty"`
	// Console marks a user's session from a console sign-in with its
	// password (no key: ParentKey is ""), by the user's name and ID.
	Console bool   `json:"c,omitempty"`
	User    string `json:"u,omitempty"`
	UserID  string `json:"ui,omitempty"`
	// Transitive are the keys of Tags that carry over when this session
	// assumes another role.
	Transitive []string `json:"tt,omitempty"`

	// Worked out once when the session is checked (sessionCredential):
	sessionPolicies []*policy.Policy // compiled, nil without session policies
	hasPolicies     bool
	conditional     bool         // a session policy has a Condition
	userID          string       // role sessions: aws:userid, AROA…:<session>
	principalTags   []policy.Tag // role sessions: the role's tags, the session's over them
}

// IssuedAt and ExpiresAt are the session's times.
func (s *Session) IssuedAt() time.Time { return time.Unix(s.Issued, 0).UTC() }

// MFAAt is when the session's MFA code was checked; zero without one.
func (s *Session) MFAAt() time.Time {
	if s.MFA == 0 {
		return time.Time{}
	}
	return time.Unix(s.MFA, 0).UTC()
}
func (s *Session) ExpiresAt() time.Time { return time.Unix(s.Expires, 0).UTC() }

// Credentials are temporary credentials as STS returns them.
type Credentials struct {
	AccessKeyID     string
	SecretAccessKey string
	SessionToken    string
	Expiration      time.Time
}

const sessionAAD = "iamd session v1 "

// ErrInvalidSessionToken is the answer for a session token that is not
// one of iamd's for the key it came with, or for a long-term key.
var ErrInvalidSessionToken = &Error{Kind: NotFound, Message: "the session token is invalid or does not belong to the access key"}

// ErrExpiredToken is the answer for temporary credentials past their expiry.
var ErrExpiredToken = &Error{Kind: ExpiredToken, Message: "The security token included in the request is expired"}

// IsSessionKey reports whether id has the form of iamd's temporary key IDs.
func IsSessionKey(id string) bool { return strings.HasPrefix(id, "ASIA") }

// newSessionKeyID is "ASIA" and 16 characters carrying the account (see
// KeyAccount), as a long-term key's.
func (s *Service) newSessionKeyID() (string, error) { return newKeyID(s.rand, "ASIA", s.account.ID) }

// issuedSessionKey reports whether id is one of iamd's temporary key IDs:
// one naming this account, or of the format before key IDs carried their
// account ("ASIA", 10 random characters and 6 of a MAC of them), which a
// session minted then still has until it expires.
func (s *Service) issuedSessionKey(id string) bool {
	if len(id) != 20 || !IsSessionKey(id) {
		return false
	}
	if account, ok := KeyAccount(id); ok && account == s.account.ID {
		return true
	}
	return hmac.Equal([]byte(id[14:]), []byte(s.sealer.tag(id[4:14], 6)))
}

// mint fills in sess's key, secret and times and seals it into a token.
func (s *Service) mint(sess *Session, d time.Duration) (*Credentials, error) {
	var err error
	if sess.KeyID, err = s.newSessionKeyID(); err != nil {
		return nil, err
	}
	sess.Secret = s.sealer.sessionSecret(sess.KeyID)
	now := s.now().UTC().Truncate(time.Second)
	sess.Issued, sess.Expires = now.Unix(), now.Add(d).Unix()
	plain, err := json.Marshal(sess)
	if err != nil {
		return nil, err
	}
	sealed, err := s.sealer.Seal(sessionAAD+sess.KeyID, plain)
	if err != nil {
		return nil, err
	}
	token := base64.StdEncoding.EncodeToString(sealed)
	if len(token) > maxSessionToken {
		// A token no door would accept: refused as AWS refuses session
		// policies and tags past their packed size.
		return nil, Errorf(LimitExceeded, "Packed size of session policies and tags consumes %d%% of allotted space.", len(token)*100/maxSessionToken)
	}
	return &Credentials{AccessKeyID: sess.KeyID, SecretAccessKey: sess.Secret,
		SessionToken: token, Expiration: sess.ExpiresAt()}, nil
}

// maxSessionToken bounds a token's length before it is decoded.
const maxSessionToken = 8 << 10

// openSession returns the session a token holds for key id, or
// ErrInvalidSessionToken if it is not one of iamd's tokens for that key.
func (s *Service) openSession(id, token string) (*Session, error) {
	if len(token) > maxSessionToken {
		return nil, ErrInvalidSessionToken
	}
	sealed, err := base64.StdEncoding.DecodeString(token)
	if err != nil {
		return nil, ErrInvalidSessionToken
	}
	plain, err := s.sealer.Open(sessionAAD+id, sealed)
	if err != nil {
		return nil, ErrInvalidSessionToken
	}
	var sess Session
	if json.Unmarshal(plain, &sess) != nil {
		return nil, ErrInvalidSessionToken
	}
	sess.KeyID, sess.Secret = id, s.sealer.sessionSecret(id)
	return &sess, nil
}

// sessionEntry is a session checked once and kept while nothing it rests
// on changed: no key was invalidated (credsGen), no policy or role changed
// (the authz generation), and for at most the credential TTL.
type sessionEntry struct {
	token     string
	cc        *CachedCredential
	credsGen  int64
	authzGen  int64
	checkedAt time.Time
}

// sessions holds checked sessions by key ID.
type sessions struct {
	m     sync.Map     // ASIA… → *sessionEntry
	bytes atomic.Int64 // sessionEntry.cost of the entries in m
}

// maxKeptSessionBytes bounds the memory the entries kept take, by their
// cost; past it the cache starts over.
const maxKeptSessionBytes = 64 << 20

// cost estimates the bytes an entry holds: its token, what the session
// holds of its own (policy text, tags twice: as sent and as principal
// tags), and a fixed part for the structures around them.
func (e *sessionEntry) cost() int64 {
	sess := e.cc.Caller.Session
	n := 1024 + 2*len(e.token) + 3*len(sess.Policy) + len(sess.SourceIdentity) + len(sess.Source)
	for _, a := range sess.PolicyARNs {
		n += len(a) + 16
	}
	for _, t := range sess.Tags {
		n += 2 * (len(t.Key) + len(t.Value) + 32)
	}
	return int64(n)
}

// KeptSessionBytes is the estimated memory held by checked sessions.
func (s *Service) KeptSessionBytes() int64 { return s.sessions.bytes.Load() }

// sessionCredential returns the credential of temporary key id presented
// with token: ErrNoSuchIdentity if the token is not the key's or what the
// session rests on is gone, ErrExpiredToken after its expiry.
func (s *Service) sessionCredential(ctx context.Context, id, token string) (*CachedCredential, error) {
	now := s.now()
	if v, ok := s.sessions.m.Load(id); ok {
		e := v.(*sessionEntry)
		if hmac.Equal([]byte(e.token), []byte(token)) && e.credsGen == s.credsGen.Load() && e.authzGen == s.authz.gen.Load() &&
			(s.ttl == 0 || now.Sub(e.checkedAt) < s.ttl) {
			if now.Unix() >= e.cc.Caller.Session.Expires {
				return nil, ErrExpiredToken
			}
			return e.cc, nil
		}
	}
	credsGen, authzGen := s.credsGen.Load(), s.authz.gen.Load()
	sess, err := s.openSession(id, token)
	if err != nil {
		return nil, err
	}
	if now.Unix() >= sess.Expires {
		return nil, ErrExpiredToken
	}
	cc := &CachedCredential{
		Caller: Caller{Account: s.account.ID, Region: s.region, AccessKeyID: id, Session: sess},
		Status: StatusActive, Secret: []byte(sess.Secret), loaded: now,
	}
	switch {
	case sess.Kind == SessionOfUser && sess.Console:
		// A console sign-in: good while the user it signed in is.
		u, err := s.view.GetUser(ctx, sess.User)
		switch {
		case errors.Is(err, ErrNotFound):
			return nil, ErrNoSuchIdentity
		case err != nil:
			return nil, err
		case u.ID != sess.UserID:
			return nil, ErrNoSuchIdentity
		}
		cc.Caller.Kind, cc.Caller.User = CallerUser, u
	case sess.Kind == SessionOfUser:
		parent, err := s.Credential(ctx, sess.ParentKey)
		switch {
		case errors.Is(err, ErrNotFound):
			return nil, ErrNoSuchIdentity
		case err != nil:
			return nil, err
		case s.credStatus(parent) != StatusActive || parent.Caller.Kind == CallerBucket:
			return nil, ErrNoSuchIdentity
		case !parent.Disabled.IsZero() && sess.Issued <= parent.Disabled.Unix():
			// Deactivating the key revoked the session for good, also
			// once the key is Active again (to the second: a session
			// issued in the second of the deactivation is refused too).
			return nil, ErrNoSuchIdentity
		}
		cc.Caller.Kind, cc.Caller.User = parent.Caller.Kind, parent.Caller.User
	case sess.Kind == SessionOfRole:
		rp, err := s.rolePoliciesOf(ctx, sess.RoleName)
		switch {
		case errors.Is(err, ErrNotFound):
			return nil, ErrNoSuchIdentity
		case err != nil:
			return nil, err
		case rp.role.ID != sess.RoleID:
			return nil, ErrNoSuchIdentity
		}
		cc.Caller.Kind, cc.Caller.Role = CallerRole, rp.role
		sess.userID = rp.role.ID + ":" + sess.Name
		sess.principalTags = overTags(rp.principal.PrincipalTags, sess.Tags)
	default:
		return nil, ErrNoSuchIdentity
	}
	if err := s.compileSessionPolicies(ctx, sess); err != nil {
		return nil, err
	}
	sess.conditional = policy.HasConditions(sess.sessionPolicies)
	e := &sessionEntry{token: token, cc: cc, credsGen: credsGen, authzGen: authzGen, checkedAt: now}
	cost := e.cost()
	if old, replaced := s.sessions.m.Swap(id, e); replaced {
		cost -= old.(*sessionEntry).cost()
	}
	if s.sessions.bytes.Add(cost) > maxKeptSessionBytes {
		s.sessions.m.Clear()
		s.sessions.bytes.Store(0)
	}
	return cc, nil
}

// overTags is a role's tags with a session's over them: a session tag
// wins over the role's tag of the same key.
func overTags(role []policy.Tag, session []Tag) []policy.Tag {
	if len(session) == 0 {
		return role
	}
	tags := append([]policy.Tag(nil), role...)
	for _, t := range session {
		replaced := false
		for i := range tags {
			if strings.EqualFold(tags[i].Key, t.Key) {
				tags[i], replaced = policy.Tag(t), true
			}
		}
		if !replaced {
			tags = append(tags, policy.Tag(t))
		}
	}
	return tags
}

// compileSessionPolicies compiles a session's inline policy and the
// managed policies it names, as they are now.
func (s *Service) compileSessionPolicies(ctx context.Context, sess *Session) error {
	if sess.Policy == "" && len(sess.PolicyARNs) == 0 {
		return nil
	}
	sess.hasPolicies = true
	if sess.Policy != "" {
		p, err := s.authz.compile(sess.Policy)
		if err != nil {
			return &Error{Kind: Internal, Message: "a session policy does not parse", Err: err}
		}
		sess.sessionPolicies = append(sess.sessionPolicies, p)
	}
	for _, arn := range sess.PolicyARNs {
		p, err := s.compileManaged(ctx, arn)
		if errors.Is(err, ErrNotFound) {
			continue // a deleted policy allows nothing
		}
		if err != nil {
			return err
		}
		sess.sessionPolicies = append(sess.sessionPolicies, p)
	}
	return nil
}

// compileManaged compiles the default version of a managed policy.
func (s *Service) compileManaged(ctx context.Context, arn string) (*policy.Policy, error) {
	mp, b, err := s.resolvePolicyIn(ctx, s.view, arn)
	if err != nil {
		return nil, err
	}
	if b != nil {
		return b.compiled, nil
	}
	v, err := s.view.GetPolicyVersion(ctx, mp.Name, mp.DefaultVersion)
	if err != nil {
		return nil, err
	}
	return s.authz.compile(v.Document)
}

// credential returns the credential of key id presented with a session
// token (token is "" for long-term keys): ErrNoSuchIdentity for an unknown
// or inactive key, a long-term key with a token or a temporary one without.
func (s *Service) credential(ctx context.Context, id, token string) (*CachedCredential, error) {
	if IsSessionKey(id) {
		if token == "" {
			return nil, ErrNoSuchIdentity
		}
		return s.sessionCredential(ctx, id, token)
	}
	c, err := s.Credential(ctx, id)
	switch {
	case errors.Is(err, ErrNotFound), err == nil && s.credStatus(c) != StatusActive:
		return nil, ErrNoSuchIdentity
	case err == nil && token != "":
		return nil, ErrInvalidSessionToken
	case err != nil:
		return nil, err
	}
	return c, nil
}

// ---- STS ----

// GetSessionToken returns temporary credentials with the caller's own
// permissions, except that they may not call IAM, nor STS but AssumeRole
// and GetCallerIdentity (as AWS, without MFA). d is 0 for the default.
func (s *Service) GetSessionToken(ctx context.Context, c *Caller, d int, mfa ...time.Time) (*Credentials, error) {
	if c.Session != nil {
		return nil, Errorf(AccessDenied, "Cannot call GetSessionToken with session credentials")
	}
	if c.Kind == CallerBucket {
		return nil, Errorf(AccessDenied, "User: %s is not authorized to perform: sts:GetSessionToken", c.ARN())
	}
	max := MaxUserSessionDuration
	if c.Kind == CallerRoot {
		max = MaxRootSessionDuration
	}
	if d == 0 {
		d = min(DefaultUserSessionToken, max)
	}
	if d < MinSessionDuration || d > max {
		return nil, Errorf(Invalid, "The requested DurationSeconds exceeds the allowed range: %d to %d seconds.", MinSessionDuration, max)
	}
	sess := &Session{Kind: SessionOfUser, ParentKey: c.AccessKeyID}
	if len(mfa) > 0 && !mfa[0].IsZero() {
		sess.MFA = mfa[0].Unix() // the code was checked by the door (package people)
	}
	return s.mint(sess, time.Duration(d)*time.Second)
}

// ConsoleSessionDuration is how long a console sign-in with a password
// lasts.
const ConsoleSessionDuration = time.Hour

// ConsoleSession returns the temporary credentials of user's console
// sign-in, which its door (package signin) has checked: the user's own
// permissions, with MFA when mfa is not zero. They end when the user is
// deleted.
func (s *Service) ConsoleSession(ctx context.Context, u *User, mfa time.Time) (*Credentials, error) {
	sess := &Session{Kind: SessionOfUser, Console: true, User: u.Name, UserID: u.ID}
	if !mfa.IsZero() {
		sess.MFA = mfa.Unix()
	}
	return s.mint(sess, ConsoleSessionDuration)
}

// AssumeRoleInput is an AssumeRole request, its shapes already valid.
type AssumeRoleInput struct {
	RoleARN, SessionName string
	Duration             int // seconds; 0 for 3600
	ExternalID           string
	Policy               string
	PolicyARNs           []string
	Tags                 []Tag
	TransitiveTagKeys    []string
	SourceIdentity       string
	// MFAAt is when the caller's MFA code (SerialNumber, TokenCode) was
	// checked by the door; zero without one.
	MFAAt time.Time
}

// AssumeRole returns temporary credentials of a role, as AWS decides
// them within one account: the role's trust policy must allow the caller;
// if it names the caller itself (or "*") that is enough, if it names only
// the account the caller's own policies must allow sts:AssumeRole on the
// role too; an explicit Deny in either refuses.
func (s *Service) AssumeRole(ctx context.Context, c *Caller, in AssumeRoleInput) (*Credentials, *Caller, error) {
	return s.assumeRole(ctx, c, in, nil)
}

// AssumeRoleAcross returns temporary credentials of a role of another
// account, as AWS decides them across accounts: the caller's own account
// (callerSvc's) must allow sts:AssumeRole on the role, and the role's
// trust policy, in its account (roleSvc's), must allow the caller, even
// when it names the caller itself; an explicit Deny in either refuses.
// The session is the role's account's.
func AssumeRoleAcross(ctx context.Context, callerSvc, roleSvc *Service, c *Caller, in AssumeRoleInput) (*Credentials, *Caller, error) {
	if c.Account != callerSvc.account.ID || roleSvc.account.ID == callerSvc.account.ID {
		return nil, nil, Errorf(Internal, "AssumeRoleAcross: the caller is not of callerSvc's account, or the role is")
	}
	return roleSvc.assumeRole(ctx, c, in, callerSvc)
}

// assumeRole is AssumeRole, for a caller of this account (home nil) or of
// home's.
func (s *Service) assumeRole(ctx context.Context, c *Caller, in AssumeRoleInput, home *Service) (*Credentials, *Caller, error) {
	prefix := "arn:aws:iam::" + s.account.ID + ":role/"
	if !strings.HasPrefix(in.RoleARN, prefix) {
		return nil, nil, s.denied(c, "sts:AssumeRole", in.RoleARN, false)
	}
	name := in.RoleARN[strings.LastIndexByte(in.RoleARN, '/')+1:]
	rp, err := s.rolePoliciesOf(ctx, name)
	if errors.Is(err, ErrNotFound) || err == nil && rp.role.ARN(s.account.ID) != in.RoleARN {
		return nil, nil, s.denied(c, "sts:AssumeRole", in.RoleARN, false)
	}
	if err != nil {
		return nil, nil, err
	}
	role := rp.role
	switch c.Kind {
	case CallerBucket:
		return nil, nil, s.denied(c, "sts:AssumeRole", in.RoleARN, false)
	case CallerRoot:
		// AWS refuses the root's credentials here, long-term or not.
		return nil, nil, Errorf(AccessDenied, "Roles may not be assumed by root accounts.")
	}
	if err := checkSessionTags(c, in.Tags); err != nil {
		return nil, nil, err
	}
	if err := s.trustedFor(ctx, c, role, in, "sts:AssumeRole", home); err != nil {
		return nil, nil, err
	}
	if len(in.Tags) > 0 {
		if err := s.trustedFor(ctx, c, role, in, "sts:TagSession", home); err != nil {
			return nil, nil, err
		}
	}
	d := in.Duration
	if d == 0 {
		d = DefaultSessionDuration
	}
	if d < MinSessionDuration || d > role.MaxSessionDuration {
		return nil, nil, Errorf(Invalid, "The requested DurationSeconds exceeds the MaxSessionDuration set for this role.")
	}
	if c.Kind == CallerRole && d > DefaultSessionDuration {
		// Role chaining: AWS limits the new session to one hour.
		return nil, nil, Errorf(Invalid, "The requested DurationSeconds exceeds the 1 hour session limit for roles assumed by role chaining.")
	}
	if err := s.checkSessionPolicies(ctx, in); err != nil {
		return nil, nil, err
	}
	tags, keys := in.Tags, in.TransitiveTagKeys
	if c.Kind == CallerRole {
		// Transitive tags of the calling session carry over, and stay so.
		inherited := transitive(c.Session)
		tags = append(inherited, tags...)
		for _, t := range inherited {
			keys = append(keys, t.Key)
		}
		if in.SourceIdentity == "" {
			in.SourceIdentity = c.Session.SourceIdentity
		} else if c.Session.SourceIdentity != "" && c.Session.SourceIdentity != in.SourceIdentity {
			return nil, nil, Errorf(AccessDenied, "The source identity of a session cannot be changed.")
		}
	}
	sess := &Session{Kind: SessionOfRole, RoleName: role.Name, RoleID: role.ID, Name: in.SessionName,
		Policy: in.Policy, PolicyARNs: in.PolicyARNs, Tags: tags, Transitive: keys, SourceIdentity: in.SourceIdentity, Source: c.ARN()}
	switch {
	case !in.MFAAt.IsZero():
		sess.MFA = in.MFAAt.Unix()
	case c.Session != nil:
		sess.MFA = c.Session.MFA // a chained session keeps its caller's MFA
	}
	creds, err := s.mint(sess, time.Duration(d)*time.Second)
	if err != nil {
		return nil, nil, err
	}
	return creds, &Caller{Kind: CallerRole, Account: s.account.ID, Role: role, Session: sess, AccessKeyID: creds.AccessKeyID}, nil
}

// checkSessionTags refuses session tags AWS refuses: a key in the aws:
// namespace, and, in a role chain, a key of a transitive tag the calling
// session passes on (whatever its case or value): a chained session
// cannot change what it inherited.
func checkSessionTags(c *Caller, tags []Tag) error {
	var inherited []Tag
	if c.Session != nil {
		inherited = transitive(c.Session)
	}
	for _, t := range tags {
		if strings.HasPrefix(strings.ToLower(t.Key), "aws:") {
			return Errorf(InvalidInput, "The session tag key %s is invalid: keys starting with aws: are reserved.", t.Key)
		}
		for _, h := range inherited {
			if strings.EqualFold(h.Key, t.Key) {
				return Errorf(InvalidInput, "The session tag key %s conflicts with a transitive tag inherited from the calling session.", t.Key)
			}
		}
	}
	return nil
}

// transitive returns the tags of s marked transitive.
func transitive(s *Session) []Tag {
	var out []Tag
	for _, t := range s.Tags {
		for _, k := range s.Transitive {
			if FoldName(k) == FoldName(t.Key) {
				out = append(out, t)
			}
		}
	}
	return out
}

// trustedFor decides action (sts:AssumeRole, sts:TagSession) for c on
// role: the role's trust policy, here, and the caller's own policies, in
// its account (home when not nil, else this one).
func (s *Service) trustedFor(ctx context.Context, c *Caller, role *Role, in AssumeRoleInput, action string, home *Service) error {
	arn := role.ARN(s.account.ID)
	trust, err := s.authz.compileTrust(role.TrustPolicy)
	if err != nil {
		return &Error{Kind: Internal, Message: "a stored trust policy does not parse", Err: err}
	}
	if home == nil {
		home = s
	}
	d, err := home.decider(ctx, c)
	if err != nil {
		return err
	}
	pc := d.context(c, s.now())
	if !in.MFAAt.IsZero() {
		pc.MFAAuthTime = in.MFAAt
	}
	pc.Request = map[string][]string{"sts:rolesessionname": {in.SessionName}}
	if in.ExternalID != "" {
		pc.Request["sts:externalid"] = []string{in.ExternalID}
	}
	if in.SourceIdentity != "" {
		pc.Request["sts:sourceidentity"] = []string{in.SourceIdentity}
	}
	// This account's users and roles the policy names are matched by the
	// unique IDs they had when it was written.
	trust = trust.BindPrincipals(role.TrustIDs)
	pr := &policy.Principal{ARN: c.ARN(), Account: c.Account}
	switch c.Kind {
	case CallerUser:
		pr.ID = c.User.ID
	case CallerRole:
		pr.RoleARN, pr.RoleID = c.Role.ARN(c.Account), c.Role.ID
	}
	if c.Kind == CallerRoot {
		pr.ARN = "arn:aws:iam::" + c.Account + ":root"
	}
	req := &policy.Request{Action: action, Resource: arn, Context: &pc, Principal: pr}
	trustDecision := policy.Evaluate([]*policy.Policy{trust}, req)
	if trustDecision == policy.ExplicitDeny {
		return Errorf(AccessDenied, "User: %s is not authorized to perform: %s on resource: %s with an explicit deny in a resource-based policy", c.ARN(), action, arn)
	}
	if trustDecision != policy.Allowed {
		return Errorf(AccessDenied, "User: %s is not authorized to perform: %s on resource: %s", c.ARN(), action, arn)
	}
	direct := *pr
	direct.DirectOnly = true
	req.Principal = &direct
	named := policy.Evaluate([]*policy.Policy{trust}, req) == policy.Allowed
	// The caller's own policies: their explicit Deny always refuses; their
	// Allow is needed when the trust policy names only the account, and
	// always across accounts.
	identity := d.decide(&policy.Request{Action: action, Resource: arn, Context: &pc})
	across := home != s
	switch {
	case identity == policy.ExplicitDeny:
		return s.denied(c, action, arn, true)
	case identity == policy.Allowed, !across && (c.Kind == CallerRoot || named):
		return nil
	}
	return s.denied(c, action, arn, false)
}

// IsIssuedSessionKey reports whether id is a temporary key ID iamd issued
// (GetAccessKeyInfo answers the account for it).
func (s *Service) IsIssuedSessionKey(id string) bool { return s.issuedSessionKey(id) }
