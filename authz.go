package iamd

import (
	"context"
	"net/netip"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"iamd/policy"
)

// RequestInfo holds the facts of one request that conditions may test;
// the server sets it on a copy of the cached Caller.
type RequestInfo struct {
	SourceIP        netip.Addr // the TCP peer
	SecureTransport bool       // the request came over TLS
	Region          string     // the region the request was signed for
	// Keys are condition keys of the request that iamd itself sets (by
	// lower-case name), such as DoorServiceKey for a door's call.
	Keys map[string][]string
}

// authz caches what users may do: each user's policies, compiled, for at
// most the credential TTL, and each distinct document compiled once.
type authz struct {
	users sync.Map     // user ID → *userPolicies
	gen   atomic.Int64 // bumped by every change; see Service.policiesOf
	docs  sync.Map     // document text → *policy.Policy
	bytes atomic.Int64 // text bytes of the documents in docs
}

// userPolicies is the compiled set of policies that apply to one user, in
// the order the store returned their sources.
type userPolicies struct {
	loaded      time.Time
	policies    []*policy.Policy
	conditional bool           // a statement has a Condition (see policy.HasConditions)
	principal   policy.Context // the user's facts, without the request's
	// bounded says a permissions boundary applies: only what boundary
	// allows too is allowed (nothing, when its policy is gone).
	bounded  bool
	boundary *policy.Policy
}

// bound sets up's permissions boundary, arn ("" for none).
func (s *Service) bound(ctx context.Context, up *userPolicies, arn string) error {
	if arn == "" {
		return nil
	}
	p, err := s.compileBoundary(ctx, arn)
	if err != nil {
		return err
	}
	up.bounded, up.boundary = true, p
	if p != nil {
		up.conditional = up.conditional || policy.HasConditions([]*policy.Policy{p})
	}
	return nil
}

// maxCompiledBytes bounds the document cache by the text of the documents
// it holds (their compiled form is a small multiple of it); past it the
// cache starts over. Only documents in force reach it.
const maxCompiledBytes = 16 << 20

// compile returns the compiled form of doc, compiling it once.
func (a *authz) compile(doc string) (*policy.Policy, error) {
	if p, ok := a.docs.Load(doc); ok {
		return p.(*policy.Policy), nil
	}
	p, err := policy.Parse(doc)
	if err != nil {
		return nil, err
	}
	if a.bytes.Add(int64(len(doc))) > maxCompiledBytes {
		a.docs.Clear()
		a.bytes.Store(int64(len(doc)))
	}
	a.docs.Store(doc, p)
	return p, nil
}

// CompiledPolicyBytes is the text size of the policy documents held
// compiled in memory.
func (s *Service) CompiledPolicyBytes() int64 { return s.authz.bytes.Load() }

// forgetPolicies drops every cached policy set, so that the next request
// of each user reads its policies again.
func (s *Service) forgetPolicies() {
	s.authz.gen.Add(1)
	s.authz.users.Clear()
	s.tell(Change{Policies: true})
}

// policiesOf returns the compiled policies of user u, from memory when
// fresh.
func (s *Service) policiesOf(ctx context.Context, u *User) (*userPolicies, error) {
	if v, ok := s.authz.users.Load(u.ID); ok {
		up := v.(*userPolicies)
		if s.ttl == 0 || s.now().Sub(up.loaded) < s.ttl {
			return up, nil
		}
	}
	gen := s.authz.gen.Load()
	srcs, err := s.view.UserPolicies(ctx, u.Name)
	if err != nil {
		return nil, err
	}
	up, err := s.compileSources(srcs)
	if err != nil {
		return nil, err
	}
	up.principal = principalContext(u, s.account.ID)
	up.conditional = policy.HasConditions(up.policies)
	if err := s.bound(ctx, up, u.Boundary); err != nil {
		return nil, err
	}
	if s.authz.gen.Load() == gen {
		s.authz.users.Store(u.ID, up)
	}
	return up, nil
}

func (s *Service) compileSources(srcs []PolicySource) (*userPolicies, error) {
	up := &userPolicies{loaded: s.now(), policies: make([]*policy.Policy, 0, len(srcs))}
	for _, src := range srcs {
		var p *policy.Policy
		if src.Document == "" {
			b, ok := awsManagedByARN[src.Policy.ARN]
			if !ok {
				return nil, Errorf(Internal, "unknown AWS-managed policy %s is attached", src.Policy.ARN)
			}
			p = b.compiled
		} else {
			var err error
			if p, err = s.authz.compile(src.Document); err != nil {
				// Documents are checked when written; one that no longer
				// parses must not widen access. Deny statements in it are
				// lost too, so refuse everything.
				return nil, &Error{Kind: Internal, Message: "a stored policy does not parse", Err: err}
			}
		}
		up.policies = append(up.policies, p)
	}
	return up, nil
}

// principalContext is what conditions and policy variables see of user u
// and account; the request's own facts are added per request.
func principalContext(u *User, account string) policy.Context {
	pc := policy.Context{
		Username:         u.Name,
		UserID:           u.ID,
		PrincipalARN:     u.ARN(account),
		PrincipalAccount: account,
		PrincipalType:    "User",
	}
	for _, t := range u.Tags {
		pc.PrincipalTags = append(pc.PrincipalTags, policy.Tag(t))
	}
	return pc
}

// resource is what an action is decided on: the ARN of the entity as
// stored (names are unique case-insensitively, so the spelling a request
// uses may differ from the entity's), and the ARN as the request named it.
// Policies see only the first; a refusal shows only the second, so that it
// tells the caller nothing it may not learn: whether the entity exists, how
// it is spelt, its path, who owns a key.
//
// tags are the stored entity's (iam:ResourceTag/… and aws:ResourceTag/…);
// setting and removing are what the request itself says about tags
// (aws:RequestTag/… and aws:TagKeys), for a create with tags, a Tag… or an
// Untag… action.
//
// boundary is the permissions boundary iam:PermissionsBoundary sees: the
// one a create or PutPermissionsBoundary asks for, else the entity's own.
type resource struct {
	arn, requested string
	tags           []Tag
	setting        []Tag
	removing       []string
	boundary       string
}

// bounding is r for a request that sets arn as the permissions boundary.
func (r resource) bounding(arn string) resource {
	if arn != "" {
		r.boundary = arn
	}
	return r
}

// on is a resource whose stored and requested ARNs are the same: a new
// entity, a listing, or "*".
func on(arn string) resource { return resource{arn: arn, requested: arn} }

// withTags is r for a request that sets tags (a create or a Tag… action):
// aws:RequestTag/<key> for each, and aws:TagKeys.
func (r resource) withTags(tags []Tag) resource {
	r.setting = tags
	return r
}

// withoutTags is r for an Untag… action: aws:TagKeys are the keys removed.
func (r resource) withoutTags(keys []string) resource {
	r.removing = keys
	return r
}

// tagKeys adds r's tag condition keys to pc: attribute-based access
// control as AWS documents it for IAM. Tag keys are case-insensitive in
// IAM, and condition keys are matched in lower case.
func (r resource) tagKeys(pc *policy.Context) {
	if len(r.tags) == 0 && len(r.setting) == 0 && r.removing == nil && r.boundary == "" {
		return
	}
	req := make(map[string][]string, len(pc.Request)+2*len(r.tags)+len(r.setting)+1)
	for k, v := range pc.Request {
		req[k] = v
	}
	for _, t := range r.tags {
		k := strings.ToLower(t.Key)
		req["iam:resourcetag/"+k] = []string{t.Value}
		req["aws:resourcetag/"+k] = []string{t.Value}
	}
	keys := r.removing
	if r.setting != nil {
		keys = nil
		for _, t := range r.setting {
			req["aws:requesttag/"+strings.ToLower(t.Key)] = []string{t.Value}
			keys = append(keys, t.Key)
		}
	}
	if keys != nil {
		req["aws:tagkeys"] = keys
	}
	if r.boundary != "" {
		req["iam:permissionsboundary"] = []string{r.boundary}
	}
	pc.Request = req
}

// authorize decides whether c may perform action on r (an ARN, or "*" for
// an action that names none), as AWS decides identity-based policies. The
// root may do everything; a bucket's key has its fixed scope: STS and
// nothing else here; temporary credentials what their policies and their
// session's allow.
func (s *Service) authorize(ctx context.Context, c *Caller, action string, r resource) error {
	switch {
	case c.Kind == CallerRoot && c.Session == nil && s.guard == nil:
		return nil
	case c.Kind == CallerBucket:
		if strings.HasPrefix(action, "sts:") {
			return nil
		}
		return s.denied(c, action, r.requested, false)
	}
	d, err := s.decider(ctx, c)
	if err != nil {
		return err
	}
	pc := d.context(c, s.now())
	r.tagKeys(&pc)
	req := &policy.Request{Action: action, Resource: r.arn, Context: &pc}
	if g := guarded(d.guard, req); g != policy.Allowed {
		return refused(c, action, r.requested, g == policy.ExplicitDeny, "a service control policy")
	}
	switch d.decide(req) {
	case policy.Allowed:
		return nil
	case policy.ExplicitDeny:
		return s.denied(c, action, r.requested, true)
	}
	if c.Session != nil && c.Session.Kind == SessionOfUser && c.Session.MFA == 0 && !c.Session.Console && userSessionBars(action) {
		return Errorf(AccessDenied, "User: %s is not authorized to perform: %s on resource: %s with credentials from GetSessionToken: they may not call IAM, nor STS but AssumeRole and GetCallerIdentity",
			c.ARN(), action, r.requested)
	}
	return s.denied(c, action, r.requested, false)
}

// decider decides for one caller: its own policies (all of them for the
// root) and, for temporary credentials, its session's.
type decider struct {
	root        bool
	policies    []*policy.Policy
	bounded     bool
	boundary    *policy.Policy // nil with bounded: allows nothing
	session     *Session
	principal   policy.Context
	conditional bool               // a Condition may take part in a decision
	guard       [][]*policy.Policy // the account's guardrail (Guardrail), by level
}

// decider returns c's decider. Bucket keys have none: their scope is fixed.
// What a session adds was worked out once, when it was checked
// (Service.sessionCredential).
func (s *Service) decider(ctx context.Context, c *Caller) (decider, error) {
	d := decider{session: c.Session}
	switch c.Kind {
	case CallerRoot:
		d.root = true
		d.principal = policy.Context{UserID: c.Account, PrincipalARN: "arn:aws:iam::" + c.Account + ":root", PrincipalAccount: c.Account, PrincipalType: "Account"}
	case CallerUser:
		up, err := s.policiesOf(ctx, c.User)
		if err != nil {
			return decider{}, err
		}
		d.policies, d.principal, d.conditional = up.policies, up.principal, up.conditional
		d.bounded, d.boundary = up.bounded, up.boundary
	case CallerRole:
		rp, err := s.rolePoliciesOf(ctx, c.Role.Name)
		if err != nil {
			return decider{}, err
		}
		d.policies, d.principal, d.conditional = rp.policies, rp.principal, rp.conditional
		d.bounded, d.boundary = rp.bounded, rp.boundary
		d.principal.UserID, d.principal.PrincipalTags = c.Session.userID, c.Session.principalTags
	default:
		return decider{}, Errorf(Internal, "no policies for a caller of kind %d", c.Kind)
	}
	if s.guard != nil {
		var err error
		if d.guard, err = s.guard.Levels(ctx); err != nil {
			return decider{}, err
		}
	}
	if c.Session != nil {
		d.principal.TokenIssueTime = c.Session.IssuedAt()
		d.principal.MFAAuthTime = c.Session.MFAAt()
		d.conditional = d.conditional || c.Session.conditional
	}
	return d, nil
}

// context is what conditions see of a request by c at now.
func (d *decider) context(c *Caller, now time.Time) policy.Context {
	pc := d.principal
	pc.SourceIP, pc.SecureTransport, pc.RequestedRegion = c.Request.SourceIP, c.Request.SecureTransport, c.Request.Region
	pc.Request = c.Request.Keys
	pc.CurrentTime = now
	return pc
}

// decide decides r: the account's guardrail, the caller's policies,
// intersected with the session's when it has some; an explicit Deny in
// any wins.
func (d *decider) decide(r *policy.Request) policy.Decision {
	if g := guarded(d.guard, r); g != policy.Allowed {
		return g
	}
	if d.session != nil && d.session.Kind == SessionOfUser && d.session.MFA == 0 && !d.session.Console && userSessionBars(r.Action) {
		return policy.ImplicitDeny
	}
	id := policy.Allowed
	if !d.root {
		id = policy.Evaluate(d.policies, r)
	}
	if id == policy.ExplicitDeny {
		return id
	}
	if d.bounded { // the effective permissions are the intersection
		if d.boundary == nil {
			return policy.ImplicitDeny
		}
		switch policy.Evaluate([]*policy.Policy{d.boundary}, r) {
		case policy.ExplicitDeny:
			return policy.ExplicitDeny
		case policy.ImplicitDeny:
			return policy.ImplicitDeny
		}
	}
	if d.session != nil && d.session.hasPolicies {
		switch policy.Evaluate(d.session.sessionPolicies, r) {
		case policy.ExplicitDeny:
			return policy.ExplicitDeny
		case policy.ImplicitDeny:
			return policy.ImplicitDeny
		}
	}
	return id
}

// userSessionBars reports whether GetSessionToken's credentials, asked for
// without an MFA code, may not call action: IAM at all, and STS but
// AssumeRole and GetCallerIdentity (with a code they may, as on AWS).
func userSessionBars(action string) bool {
	a := strings.ToLower(action)
	return strings.HasPrefix(a, "iam:") || strings.HasPrefix(a, "sts:") && a != "sts:assumerole" && a != "sts:getcalleridentity"
}

// rolePolicies is a role with its compiled policies.
type rolePolicies struct {
	userPolicies
	role *Role
}

// rolePoliciesOf returns role name and its compiled policies, from memory
// when fresh (they share the users' cache and its invalidation).
func (s *Service) rolePoliciesOf(ctx context.Context, name string) (*rolePolicies, error) {
	key := "role:" + FoldName(name)
	if v, ok := s.authz.users.Load(key); ok {
		rp := v.(*rolePolicies)
		if s.ttl == 0 || s.now().Sub(rp.loaded) < s.ttl {
			return rp, nil
		}
	}
	gen := s.authz.gen.Load()
	role, err := s.view.GetRole(ctx, name)
	if err != nil {
		return nil, err
	}
	srcs, err := s.view.RolePolicies(ctx, name)
	if err != nil {
		return nil, err
	}
	up, err := s.compileSources(srcs)
	if err != nil {
		return nil, err
	}
	rp := &rolePolicies{userPolicies: *up, role: role}
	rp.principal = policy.Context{
		UserID: role.ID, PrincipalARN: role.ARN(s.account.ID), PrincipalAccount: s.account.ID, PrincipalType: "AssumedRole",
	}
	for _, t := range role.Tags {
		rp.principal.PrincipalTags = append(rp.principal.PrincipalTags, policy.Tag(t))
	}
	rp.conditional = policy.HasConditions(rp.policies)
	if err := s.bound(ctx, &rp.userPolicies, role.Boundary); err != nil {
		return nil, err
	}
	if s.authz.gen.Load() == gen {
		s.authz.users.Store(key, rp)
	}
	return rp, nil
}

// compileTrust returns the compiled form of a trust policy.
func (a *authz) compileTrust(doc string) (*policy.Policy, error) {
	key := "trust\x00" + doc
	if p, ok := a.docs.Load(key); ok {
		return p.(*policy.Policy), nil
	}
	p, err := policy.ParseTrust(doc)
	if err != nil {
		return nil, err
	}
	a.docs.Store(key, p)
	a.bytes.Add(int64(len(doc)))
	return p, nil
}

// Authorize is authorize for actions served outside the Service, on a
// resource the caller names exactly.
func (s *Service) Authorize(ctx context.Context, c *Caller, action, resource string) error {
	return s.authorize(ctx, c, action, on(resource))
}

// TagFacts are what tag condition keys see of a request: the tags of the
// resource acted on (iam:ResourceTag/…, aws:ResourceTag/…) and those the
// request sets (aws:RequestTag/…, aws:TagKeys) or removes (aws:TagKeys).
type TagFacts struct {
	Resource []Tag
	Setting  []Tag
	Removing []string
}

// AuthorizeTagged is Authorize with the request's tag facts, for the
// packages that keep tagged resources of their own (OpenID Connect
// providers, instance profiles, MFA devices).
func (s *Service) AuthorizeTagged(ctx context.Context, c *Caller, action, resource string, f TagFacts) error {
	r := on(resource)
	r.tags, r.setting, r.removing = f.Resource, f.Setting, f.Removing
	return s.authorize(ctx, c, action, r)
}

func (s *Service) denied(c *Caller, action, resource string, explicit bool) error {
	return refused(c, action, resource, explicit, "an identity-based policy")
}

// refused is AWS's refusal of action by c on resource for want of an
// Allow in the policies of kind ("an identity-based policy", "a service
// control policy"), or for their explicit Deny.
func refused(c *Caller, action, resource string, explicit bool, kind string) error {
	resource = DeniedResource(action, resource)
	if explicit {
		return Errorf(AccessDenied, "User: %s is not authorized to perform: %s on resource: %s with an explicit deny in %s",
			c.ARN(), action, resource, kind)
	}
	_, bare, _ := strings.Cut(kind, " ") // without its article
	return Errorf(AccessDenied, "User: %s is not authorized to perform: %s on resource: %s because no %s allows the %s action",
		c.ARN(), action, resource, bare, action)
}

// DeniedResource is how IAM names the resource of a refused action: an
// existing user, role or group by kind and name ("user bob", "role deploy":
// hashicorp/boundary#3877, aws/aws-cdk#27067, aws/chalice#591), a managed
// policy by kind and ARN ("policy arn:…": aws-amplify/amplify-js#7540).
// Creating one and passing a role name the ARN, as AWS's answers do
// (serverless-components/backend#10 for CreateRole; iam:PassRole); so does
// anything else. The name is the one requested, whether or not it exists.
func DeniedResource(action, resource string) string {
	switch strings.ToLower(action) {
	case "iam:createuser", "iam:createrole", "iam:creategroup", "iam:createpolicy", "iam:passrole":
		return resource
	}
	rest, ok := strings.CutPrefix(resource, "arn:aws:iam::")
	if !ok {
		return resource
	}
	_, rest, ok = strings.Cut(rest, ":")
	if !ok {
		return resource
	}
	kind, path, ok := strings.Cut(rest, "/")
	if !ok || path == "" || strings.HasSuffix(path, "/") || strings.ContainsAny(path, "*?") {
		return resource // a prefix (ListUsers) or a pattern: the ARN as is
	}
	switch kind {
	case "user", "role", "group":
		return kind + " " + path[strings.LastIndexByte(path, '/')+1:]
	case "policy":
		return "policy " + resource
	}
	return resource
}

// ---- resource ARNs ----

func (s *Service) arn(resource string) string { return "arn:aws:iam::" + s.account.ID + ":" + resource }

// userARN is the named user as authorization sees it: decided on the
// user's ARN with its path and spelling, which only the store knows, and
// shown as user/<name as requested>. A user that does not exist is
// decided on the requested form; the action then fails with NotFound if
// allowed. Only IAM users' requests are evaluated.
func (s *Service) userARN(ctx context.Context, c *Caller, name string) resource {
	r := on(s.arn("user/" + name))
	switch {
	case c.Kind == CallerRoot && c.Session == nil: // decided without policies
	case c.Kind == CallerUser && FoldName(name) == FoldName(c.User.Name):
		r.arn, r.tags, r.boundary = c.User.ARN(s.account.ID), c.User.Tags, c.User.Boundary
	default:
		if u, err := s.view.GetUser(ctx, name); err == nil {
			r.arn, r.tags, r.boundary = u.ARN(s.account.ID), u.Tags, u.Boundary
		}
	}
	return r
}

// groupARN is userARN for groups.
func (s *Service) groupARN(ctx context.Context, c *Caller, name string) resource {
	r := on(s.arn("group/" + name))
	if c.Kind != CallerRoot || c.Session != nil {
		if g, err := s.view.GetGroup(ctx, name); err == nil {
			r.arn = g.ARN(s.account.ID)
		}
	}
	return r
}

// ownerARN is the resource of a key's owner.
func (s *Service) ownerARN(ctx context.Context, c *Caller, o Owner) resource {
	switch o.Kind {
	case OwnerRoot:
		return on(s.arn("root"))
	case OwnerBucket:
		return s.bucketARN(ctx, c, o.Name)
	}
	return s.userARN(ctx, c, o.Name)
}

// bucketARN is the named bucket: decided on its ARN (…:Bucket/<its ID>),
// or "*" if it does not exist, and shown as …:Bucket/<name as requested>.
func (s *Service) bucketARN(ctx context.Context, c *Caller, name string) resource {
	r := resource{arn: "*", requested: "arn:aws:lightsail:" + s.region + ":" + s.account.ID + ":Bucket/" + name}
	if c.Kind != CallerUser {
		return r
	}
	if b, err := s.view.GetBucket(ctx, name); err == nil {
		r.arn = b.ARN(s.region, s.account.ID)
	}
	return r
}
