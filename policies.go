package iamd

import (
	"context"
	"errors"
	"strconv"
	"strings"

	"iamd/policy"
)

// ---- groups ----

// CreateGroup creates a group. Its name and path are already valid.
func (s *Service) CreateGroup(ctx context.Context, c *Caller, name, path string) (*Group, error) {
	if path == "" {
		path = "/"
	}
	if err := s.authorize(ctx, c, "iam:CreateGroup", on(s.arn("group"+path+name))); err != nil {
		return nil, err
	}
	id, err := NewGroupID(s.rand)
	if err != nil {
		return nil, err
	}
	g := &Group{ID: id, Name: name, Path: path, CreatedAt: s.timestamp()}
	return g, s.store.CreateGroup(ctx, g)
}

// GetGroup returns a group and a page of its members.
func (s *Service) GetGroup(ctx context.Context, c *Caller, name string, p Page) (*Group, []*User, string, error) {
	if err := s.authorize(ctx, c, "iam:GetGroup", s.groupARN(ctx, c, name)); err != nil {
		return nil, nil, "", err
	}
	g, err := s.store.GetGroup(ctx, name)
	if err != nil {
		return nil, nil, "", err
	}
	users, next, err := s.store.ListGroupUsers(ctx, name, p)
	return g, users, next, err
}

// ListGroups lists groups whose path starts with pathPrefix.
func (s *Service) ListGroups(ctx context.Context, c *Caller, pathPrefix string, p Page) ([]*Group, string, error) {
	if pathPrefix == "" {
		pathPrefix = "/"
	}
	if err := s.authorize(ctx, c, "iam:ListGroups", on(s.arn("group"+pathPrefix))); err != nil {
		return nil, "", err
	}
	return s.store.ListGroups(ctx, pathPrefix, p)
}

// DeleteGroup deletes a group without members or policies.
func (s *Service) DeleteGroup(ctx context.Context, c *Caller, name string) error {
	if err := s.authorize(ctx, c, "iam:DeleteGroup", s.groupARN(ctx, c, name)); err != nil {
		return err
	}
	return s.store.DeleteGroup(ctx, name)
}

// AddUserToGroup adds a user to a group; the group's policies apply to it
// from the next request on.
func (s *Service) AddUserToGroup(ctx context.Context, c *Caller, group, user string) error {
	if err := s.authorize(ctx, c, "iam:AddUserToGroup", s.groupARN(ctx, c, group)); err != nil {
		return err
	}
	defer s.forgetPolicies()
	return s.store.AddUserToGroup(ctx, group, user, MaxGroupsPerUser)
}

// RemoveUserFromGroup removes a user from a group.
func (s *Service) RemoveUserFromGroup(ctx context.Context, c *Caller, group, user string) error {
	if err := s.authorize(ctx, c, "iam:RemoveUserFromGroup", s.groupARN(ctx, c, group)); err != nil {
		return err
	}
	defer s.forgetPolicies()
	return s.store.RemoveUserFromGroup(ctx, group, user)
}

// ListGroupsForUser lists the groups a user is in.
func (s *Service) ListGroupsForUser(ctx context.Context, c *Caller, user string, p Page) ([]*Group, string, error) {
	if err := s.authorize(ctx, c, "iam:ListGroupsForUser", s.userARN(ctx, c, user)); err != nil {
		return nil, "", err
	}
	return s.store.ListGroupsForUser(ctx, user, p)
}

// ---- managed policies ----

// checkDocument parses doc; MalformedPolicy with the reason if it is not a
// document iamd can evaluate. What it parses is not kept: only policies in
// force are cached, so that refused writes leave nothing behind. Callers
// check the size first.
func checkDocument(doc string) error {
	if _, err := policy.Parse(doc); err != nil {
		var se *policy.SyntaxError
		if errors.As(err, &se) {
			return &Error{Kind: MalformedPolicy, Message: se.Msg}
		}
		return err
	}
	return nil
}

func checkManagedDocument(doc string) error {
	if PolicySize(doc) > MaxManagedPolicySize {
		return LimitError("PolicySize", MaxManagedPolicySize)
	}
	return checkDocument(doc)
}

// CreatePolicy creates a customer-managed policy with doc as version v1.
func (s *Service) CreatePolicy(ctx context.Context, c *Caller, name, path, description, doc string, tags []Tag) (*ManagedPolicy, error) {
	if path == "" {
		path = "/"
	}
	if err := s.authorize(ctx, c, "iam:CreatePolicy", on(s.arn("policy"+path+name)).withTags(tags)); err != nil {
		return nil, err
	}
	if err := checkManagedDocument(doc); err != nil {
		return nil, err
	}
	id, err := NewPolicyID(s.rand)
	if err != nil {
		return nil, err
	}
	p := &ManagedPolicy{ID: id, Name: name, Path: path, Description: description, CreatedAt: s.timestamp(), Tags: tags}
	return p, s.store.CreatePolicy(ctx, p, doc)
}

// parsePolicyARN splits arn:aws:iam::<account>:policy<path><name>.
func parsePolicyARN(arn string) (account, path, name string, ok bool) {
	rest, ok := strings.CutPrefix(arn, "arn:aws:iam::")
	if !ok {
		return "", "", "", false
	}
	account, rest, ok = strings.Cut(rest, ":policy/")
	if !ok || account == "" {
		return "", "", "", false
	}
	rest = "/" + rest
	i := strings.LastIndexByte(rest, '/')
	path, name = rest[:i+1], rest[i+1:]
	return account, path, name, name != ""
}

// resolvePolicy finds the managed policy of arn: a built-in AWS-managed
// one (b) or a customer-managed one in the store (p).
func (s *Service) resolvePolicy(ctx context.Context, arn string) (p *ManagedPolicy, b *builtinPolicy, err error) {
	return s.resolvePolicyIn(ctx, s.store, arn)
}

// resolvePolicyIn is resolvePolicy reading v: the replica where a
// decision needs the policy (sessions' policy ARNs), the store where an
// IAM action answers with it.
func (s *Service) resolvePolicyIn(ctx context.Context, v View, arn string) (p *ManagedPolicy, b *builtinPolicy, err error) {
	account, path, name, ok := parsePolicyARN(arn)
	if !ok {
		return nil, nil, Errorf(InvalidInput, "ARN %s is not valid.", arn)
	}
	switch account {
	case "aws":
		if b, ok := awsManagedByARN[arn]; ok {
			return nil, b, nil
		}
		return nil, nil, PolicyNotFound(arn)
	case s.account.ID:
	default:
		return nil, nil, PolicyNotFound(arn)
	}
	p, err = v.GetPolicy(ctx, name)
	if errors.Is(err, ErrNotFound) || err == nil && p.Path != path {
		return nil, nil, PolicyNotFound(arn)
	}
	return p, nil, err
}

// authorizePolicy resolves the managed policy of arn and decides action on
// it. The decision is made on the policy's own ARN, not on the ARN as
// typed: names match case-insensitively, policy patterns do not, and a
// Deny on policy/Guardrail must hold for policy/guardrail too. A policy
// that does not exist is decided on the ARN as typed, and then NotFound.
func (s *Service) authorizePolicy(ctx context.Context, c *Caller, action, arn string, facts TagFacts) (*ManagedPolicy, *builtinPolicy, error) {
	p, b, err := s.resolvePolicy(ctx, arn)
	r := on(arn)
	r.setting, r.removing = facts.Setting, facts.Removing
	switch {
	case err == nil && b != nil:
		r.arn = b.ARN(s.account.ID)
	case err == nil:
		r.arn, r.tags = p.ARN(s.account.ID), p.Tags
	case KindOf(err) != NotFound && KindOf(err) != InvalidInput:
		return nil, nil, err
	}
	if aerr := s.authorize(ctx, c, action, r); aerr != nil {
		return nil, nil, aerr
	}
	return p, b, err
}

// customerPolicy is authorizePolicy for changes: the AWS-managed policies
// cannot be changed.
func (s *Service) customerPolicy(ctx context.Context, c *Caller, action, arn string, facts TagFacts) (*ManagedPolicy, error) {
	p, b, err := s.authorizePolicy(ctx, c, action, arn, facts)
	if err != nil {
		return nil, err
	}
	if b != nil {
		return nil, Errorf(InvalidInput, "Policy %s is an AWS managed policy and cannot be changed.", arn)
	}
	return p, nil
}

// GetPolicy returns a managed policy with its attachment count.
func (s *Service) GetPolicy(ctx context.Context, c *Caller, arn string) (*ManagedPolicy, error) {
	p, b, err := s.authorizePolicy(ctx, c, "iam:GetPolicy", arn, TagFacts{})
	if err != nil || b == nil {
		return p, err
	}
	out := b.ManagedPolicy
	if out.AttachmentCount, err = s.store.CountAttachments(ctx, b.ID); err != nil {
		return nil, err
	}
	out.BoundaryCount, err = s.store.CountBoundaryUses(ctx, b.ARN(s.account.ID))
	return &out, err
}

// PolicyScope selects managed policies in ListPolicies.
type PolicyScope int

const (
	ScopeAll PolicyScope = iota
	ScopeAWS
	ScopeLocal
)

// ListPolicies lists the managed policies f selects in scope: the
// AWS-managed ones first, then the account's. Its markers are its own:
// "a<n>" continues the AWS-managed list at n, "l<store marker>" the
// account's ("l" alone at its start).
func (s *Service) ListPolicies(ctx context.Context, c *Caller, scope PolicyScope, f PolicyFilter, p Page) ([]*ManagedPolicy, string, error) {
	if err := s.authorize(ctx, c, "iam:ListPolicies", on("*")); err != nil {
		return nil, "", err
	}
	if f.PathPrefix == "" {
		f.PathPrefix = "/"
	}
	pathPrefix := f.PathPrefix
	var out []*ManagedPolicy
	from, local := 0, ""
	switch {
	case p.Marker == "":
	case p.Marker[0] == 'a':
		n, err := strconv.Atoi(p.Marker[1:])
		if err != nil || n < 0 || n > len(awsManaged) {
			return nil, "", BadMarker()
		}
		from = n
	case p.Marker[0] == 'l': // an empty store marker: the first local page
		from, local = len(awsManaged), p.Marker[1:]
	default:
		return nil, "", BadMarker()
	}
	if scope != ScopeLocal {
		for i := from; i < len(awsManaged); i++ {
			b := awsManaged[i]
			if !strings.HasPrefix(b.Path, pathPrefix) {
				continue
			}
			mp := b.ManagedPolicy
			n, err := s.store.CountAttachments(ctx, b.ID)
			if err != nil {
				return nil, "", err
			}
			bounds, err := s.store.CountBoundaryUses(ctx, b.ARN(s.account.ID))
			if err != nil {
				return nil, "", err
			}
			if f.OnlyAttached && n == 0 || f.OnlyBoundaries && bounds == 0 {
				continue
			}
			if len(out) == p.MaxItems {
				return out, "a" + strconv.Itoa(i), nil
			}
			mp.AttachmentCount, mp.BoundaryCount = n, bounds
			out = append(out, &mp)
		}
	}
	switch {
	case scope == ScopeAWS:
		return out, "", nil
	case len(out) == p.MaxItems:
		return out, "l", nil // local policies may follow
	}
	ps, next, err := s.store.ListPolicies(ctx, f, Page{Marker: local, MaxItems: p.MaxItems - len(out)})
	if err != nil {
		return nil, "", err
	}
	out = append(out, ps...)
	if next != "" {
		next = "l" + next
	}
	return out, next, nil
}

// DeletePolicy deletes a customer-managed policy that is not attached and
// has no versions besides its default.
func (s *Service) DeletePolicy(ctx context.Context, c *Caller, arn string) error {
	p, err := s.customerPolicy(ctx, c, "iam:DeletePolicy", arn, TagFacts{})
	if err != nil {
		return err
	}
	return s.store.DeletePolicy(ctx, p.Name)
}

// CreatePolicyVersion adds a version; with setDefault it takes effect at once.
func (s *Service) CreatePolicyVersion(ctx context.Context, c *Caller, arn, doc string, setDefault bool) (*PolicyVersion, error) {
	p, err := s.customerPolicy(ctx, c, "iam:CreatePolicyVersion", arn, TagFacts{})
	if err != nil {
		return nil, err
	}
	if err := checkManagedDocument(doc); err != nil {
		return nil, err
	}
	if setDefault {
		defer s.forgetPolicies()
	}
	return s.store.CreatePolicyVersion(ctx, p.Name, doc, setDefault, s.timestamp(), MaxPolicyVersions)
}

// GetPolicyVersion returns one version of a managed policy.
func (s *Service) GetPolicyVersion(ctx context.Context, c *Caller, arn, version string) (*PolicyVersion, error) {
	p, b, err := s.authorizePolicy(ctx, c, "iam:GetPolicyVersion", arn, TagFacts{})
	if err != nil {
		return nil, err
	}
	if b != nil {
		if version != "v1" {
			return nil, PolicyVersionNotFound(arn, version)
		}
		return &PolicyVersion{ID: "v1", Document: b.Document, Default: true, CreatedAt: b.CreatedAt}, nil
	}
	v, err := s.store.GetPolicyVersion(ctx, p.Name, version)
	if errors.Is(err, ErrNotFound) {
		return nil, PolicyVersionNotFound(arn, version)
	}
	return v, err
}

// ListPolicyVersions lists a managed policy's versions, newest first.
func (s *Service) ListPolicyVersions(ctx context.Context, c *Caller, arn string) ([]*PolicyVersion, error) {
	p, b, err := s.authorizePolicy(ctx, c, "iam:ListPolicyVersions", arn, TagFacts{})
	if err != nil {
		return nil, err
	}
	if b != nil {
		return []*PolicyVersion{{ID: "v1", Document: b.Document, Default: true, CreatedAt: b.CreatedAt}}, nil
	}
	return s.store.ListPolicyVersions(ctx, p.Name)
}

// DeletePolicyVersion deletes a version other than the default.
func (s *Service) DeletePolicyVersion(ctx context.Context, c *Caller, arn, version string) error {
	p, err := s.customerPolicy(ctx, c, "iam:DeletePolicyVersion", arn, TagFacts{})
	if err != nil {
		return err
	}
	err = s.store.DeletePolicyVersion(ctx, p.Name, version)
	if errors.Is(err, ErrNotFound) {
		return PolicyVersionNotFound(arn, version)
	}
	return err
}

// SetDefaultPolicyVersion makes a version the one in effect.
func (s *Service) SetDefaultPolicyVersion(ctx context.Context, c *Caller, arn, version string) error {
	p, err := s.customerPolicy(ctx, c, "iam:SetDefaultPolicyVersion", arn, TagFacts{})
	if err != nil {
		return err
	}
	defer s.forgetPolicies()
	err = s.store.SetDefaultPolicyVersion(ctx, p.Name, version, s.timestamp())
	if errors.Is(err, ErrNotFound) {
		return PolicyVersionNotFound(arn, version)
	}
	return err
}

// ---- policies of users and groups ----

// entityAction is "iam:<verb>UserPolicy" or "iam:<verb>GroupPolicy" (with
// suffix "Policies" for listings).
func entityAction(verb string, e Entity, suffix string) string {
	switch e.Kind {
	case EntityGroup:
		return "iam:" + verb + "Group" + suffix
	case EntityRole:
		return "iam:" + verb + "Role" + suffix
	}
	return "iam:" + verb + "User" + suffix
}

func (s *Service) entityARN(ctx context.Context, c *Caller, e Entity) resource {
	switch e.Kind {
	case EntityGroup:
		return s.groupARN(ctx, c, e.Name)
	case EntityRole:
		return s.roleARN(ctx, c, e.Name)
	}
	return s.userARN(ctx, c, e.Name)
}

// AttachPolicy attaches a managed policy to a user or group.
func (s *Service) AttachPolicy(ctx context.Context, c *Caller, e Entity, arn string) error {
	if err := s.authorize(ctx, c, entityAction("Attach", e, "Policy"), s.entityARN(ctx, c, e)); err != nil {
		return err
	}
	p, b, err := s.resolvePolicy(ctx, arn)
	if err != nil {
		return err
	}
	// The policy's own ARN is stored, whatever the spelling asked for.
	ref := AttachedPolicy{ID: b.idOr(p)}
	if b != nil {
		ref.ARN = b.ARN(s.account.ID)
	} else {
		ref.ARN = p.ARN(s.account.ID)
	}
	defer s.forgetPolicies()
	return s.store.AttachPolicy(ctx, e, ref, MaxManagedPoliciesPerEntity)
}

// DetachPolicy detaches a managed policy from a user or group.
func (s *Service) DetachPolicy(ctx context.Context, c *Caller, e Entity, arn string) error {
	if err := s.authorize(ctx, c, entityAction("Detach", e, "Policy"), s.entityARN(ctx, c, e)); err != nil {
		return err
	}
	if _, _, _, ok := parsePolicyARN(arn); !ok {
		return Errorf(InvalidInput, "ARN %s is not valid.", arn)
	}
	// Attachments are stored under the policy's own ARN; a policy that
	// no longer resolves is not attached (it cannot be deleted while it is).
	p, b, err := s.resolvePolicy(ctx, arn)
	switch {
	case err == nil && b != nil:
		arn = b.ARN(s.account.ID)
	case err == nil:
		arn = p.ARN(s.account.ID)
	case KindOf(err) != NotFound:
		return err
	}
	defer s.forgetPolicies()
	return s.store.DetachPolicy(ctx, e, arn)
}

// ListAttachedPolicies lists the managed policies attached to a user or group.
func (s *Service) ListAttachedPolicies(ctx context.Context, c *Caller, e Entity, pathPrefix string, p Page) ([]AttachedPolicy, string, error) {
	if err := s.authorize(ctx, c, entityAction("ListAttached", e, "Policies"), s.entityARN(ctx, c, e)); err != nil {
		return nil, "", err
	}
	if pathPrefix == "" {
		pathPrefix = "/"
	}
	return s.store.ListAttachedPolicies(ctx, e, pathPrefix, p)
}

// ListEntitiesForPolicy lists the users and groups a managed policy is
// attached to; kind, if not nil, keeps one kind.
func (s *Service) ListEntitiesForPolicy(ctx context.Context, c *Caller, arn string, kind *EntityKind, pathPrefix string, p Page) ([]EntityInfo, string, error) {
	mp, b, err := s.authorizePolicy(ctx, c, "iam:ListEntitiesForPolicy", arn, TagFacts{})
	if err != nil {
		return nil, "", err
	}
	id := b.idOr(mp)
	if pathPrefix == "" {
		pathPrefix = "/"
	}
	return s.store.ListEntitiesForPolicy(ctx, id, kind, pathPrefix, p)
}

func (b *builtinPolicy) idOr(p *ManagedPolicy) string {
	if b != nil {
		return b.ID
	}
	return p.ID
}

// PutInlinePolicy creates or replaces an inline policy of a user or group.
func (s *Service) PutInlinePolicy(ctx context.Context, c *Caller, e Entity, name, doc string) error {
	if err := s.authorize(ctx, c, entityAction("Put", e, "Policy"), s.entityARN(ctx, c, e)); err != nil {
		return err
	}
	limit := MaxUserInlineSize
	switch e.Kind {
	case EntityGroup:
		limit = MaxGroupInlineSize
	case EntityRole:
		limit = MaxRoleInlineSize
	}
	// One document larger than the whole quota is refused unread; the
	// store checks the sum of them.
	if PolicySize(doc) > limit {
		return InlineSizeExceeded(e, limit)
	}
	if err := checkDocument(doc); err != nil {
		return err
	}
	defer s.forgetPolicies()
	return s.store.PutInlinePolicy(ctx, e, name, doc, limit)
}

// GetInlinePolicy returns an inline policy of a user or group.
func (s *Service) GetInlinePolicy(ctx context.Context, c *Caller, e Entity, name string) (*InlinePolicy, error) {
	if err := s.authorize(ctx, c, entityAction("Get", e, "Policy"), s.entityARN(ctx, c, e)); err != nil {
		return nil, err
	}
	return s.store.GetInlinePolicy(ctx, e, name)
}

// DeleteInlinePolicy deletes an inline policy of a user or group.
func (s *Service) DeleteInlinePolicy(ctx context.Context, c *Caller, e Entity, name string) error {
	if err := s.authorize(ctx, c, entityAction("Delete", e, "Policy"), s.entityARN(ctx, c, e)); err != nil {
		return err
	}
	defer s.forgetPolicies()
	return s.store.DeleteInlinePolicy(ctx, e, name)
}

// ListInlinePolicies lists the names of a user's or group's inline policies.
func (s *Service) ListInlinePolicies(ctx context.Context, c *Caller, e Entity, p Page) ([]string, string, error) {
	if err := s.authorize(ctx, c, entityAction("List", e, "Policies"), s.entityARN(ctx, c, e)); err != nil {
		return nil, "", err
	}
	return s.store.ListInlinePolicies(ctx, e, p)
}
