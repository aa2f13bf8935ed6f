package iamd

import (
	"context"
	"errors"
	"io"
	"strings"

	"iamd/policy"
)

// NewRoleID returns "AROA" and 17 characters of [A-Z2-7].
func NewRoleID(r io.Reader) (string, error) { return randomID(r, "AROA", 17) }

// roleARN is userARN for roles.
func (s *Service) roleARN(ctx context.Context, c *Caller, name string) resource {
	r := on(s.arn("role/" + name))
	if c.Kind != CallerRoot || c.Session != nil {
		if ro, err := s.view.GetRole(ctx, name); err == nil {
			r.arn, r.tags, r.boundary = ro.ARN(s.account.ID), ro.Tags, ro.Boundary
		}
	}
	return r
}

// checkTrustPolicy checks a trust policy as IAM does when it is written:
// its syntax, and that every principal it names exists. It returns the
// unique IDs of this account's users and roles it names, by ARN (see
// Role.TrustIDs).
func (s *Service) checkTrustPolicy(ctx context.Context, doc string) (map[string]string, error) {
	if PolicySize(doc) > MaxTrustPolicySize {
		return nil, LimitError("ACLSizePerRole", MaxTrustPolicySize)
	}
	p, err := policy.ParseTrust(doc)
	if err != nil {
		var se *policy.SyntaxError
		if errors.As(err, &se) {
			return nil, &Error{Kind: MalformedPolicy, Message: se.Msg}
		}
		return nil, err
	}
	var ids map[string]string
	for _, a := range p.AWSPrincipals() {
		id, err := s.principalEntityID(ctx, a)
		if err != nil {
			return nil, err
		}
		if id != "" {
			if ids == nil {
				ids = map[string]string{}
			}
			ids[a] = id
			continue
		}
		ok, err := s.principalExists(ctx, a)
		if err != nil {
			return nil, err
		}
		if !ok {
			return nil, Errorf(MalformedPolicy, "Invalid principal in policy: \"AWS\":\"%s\"", a)
		}
	}
	return ids, nil
}

// principalEntityID returns the unique ID of the user or role of this
// account whose ARN (path included) is a, or "" when a names none.
func (s *Service) principalEntityID(ctx context.Context, a string) (string, error) {
	rest, ok := strings.CutPrefix(a, "arn:aws:iam::"+s.account.ID+":")
	name := rest[strings.LastIndexByte(rest, '/')+1:]
	if !ok || name == "" || strings.ContainsAny(rest, "*?") {
		return "", nil
	}
	var id, arn string
	var err error
	switch {
	case strings.HasPrefix(rest, "user/"):
		var u *User
		if u, err = s.view.GetUser(ctx, name); err == nil {
			id, arn = u.ID, u.ARN(s.account.ID)
		}
	case strings.HasPrefix(rest, "role/"):
		var r *Role
		if r, err = s.view.GetRole(ctx, name); err == nil {
			id, arn = r.ID, r.ARN(s.account.ID)
		}
	default:
		return "", nil
	}
	switch {
	case errors.Is(err, ErrNotFound), err == nil && arn != a:
		return "", nil
	case err != nil:
		return "", err
	}
	return id, nil
}

// principalExists reports whether an account ID or principal ARN of a
// trust policy names something: another account's principals are taken
// on trust (iamd serves one account, so they never match); this
// account's must exist (see isPrincipal).
func (s *Service) principalExists(ctx context.Context, a string) (bool, error) {
	if !strings.Contains(a, ":"+s.account.ID+":") && a != s.account.ID {
		return true, nil
	}
	return s.isPrincipal(ctx, a)
}

// CreateRole creates a role. Name, path, description and tags are already
// valid; maxSession is 0 for the default.
func (s *Service) CreateRole(ctx context.Context, c *Caller, name, path, description, trust string, maxSession int, tags []Tag, opts ...CreateOption) (*Role, error) {
	if path == "" {
		path = "/"
	}
	o := applyCreate(opts)
	if err := s.authorize(ctx, c, "iam:CreateRole", on(s.arn("role"+path+name)).withTags(tags).bounding(o.boundary)); err != nil {
		return nil, err
	}
	if o.boundary != "" {
		var err error
		if o.boundary, err = s.boundaryARN(ctx, o.boundary); err != nil {
			return nil, err
		}
	}
	if maxSession == 0 {
		maxSession = DefaultSessionDuration
	}
	if err := checkMaxSession(maxSession); err != nil {
		return nil, err
	}
	ids, err := s.checkTrustPolicy(ctx, trust)
	if err != nil {
		return nil, err
	}
	id, err := NewRoleID(s.rand)
	if err != nil {
		return nil, err
	}
	r := &Role{ID: id, Name: name, Path: path, Description: description, TrustPolicy: trust, TrustIDs: ids,
		MaxSessionDuration: maxSession, CreatedAt: s.timestamp(), Tags: tags, Boundary: o.boundary}
	if err := s.store.CreateRole(ctx, r); err != nil {
		return nil, err
	}
	return r, nil
}

func checkMaxSession(n int) error {
	if n < DefaultSessionDuration || n > MaxRoleSessionDuration {
		return Errorf(Invalid, "The requested MaxSessionDuration %d must be between %d and %d seconds.", n, DefaultSessionDuration, MaxRoleSessionDuration)
	}
	return nil
}

// GetRole returns a role.
func (s *Service) GetRole(ctx context.Context, c *Caller, name string) (*Role, error) {
	if err := s.authorize(ctx, c, "iam:GetRole", s.roleARN(ctx, c, name)); err != nil {
		return nil, err
	}
	return s.store.GetRole(ctx, name)
}

// ListRoles lists roles whose path starts with pathPrefix.
func (s *Service) ListRoles(ctx context.Context, c *Caller, pathPrefix string, p Page) ([]*Role, string, error) {
	if pathPrefix == "" {
		pathPrefix = "/"
	}
	if err := s.authorize(ctx, c, "iam:ListRoles", on(s.arn("role"+pathPrefix))); err != nil {
		return nil, "", err
	}
	return s.store.ListRoles(ctx, pathPrefix, p)
}

// RoleUpdate is what UpdateRole changes; nil fields stay as they are.
type RoleUpdate struct {
	Description *string
	MaxSession  *int
}

// UpdateRole changes a role's description or maximum session duration.
func (s *Service) UpdateRole(ctx context.Context, c *Caller, name string, u RoleUpdate) error {
	if err := s.authorize(ctx, c, "iam:UpdateRole", s.roleARN(ctx, c, name)); err != nil {
		return err
	}
	if u.MaxSession != nil {
		if err := checkMaxSession(*u.MaxSession); err != nil {
			return err
		}
	}
	// The next AssumeRole must see the new maximum at once.
	defer s.forgetPolicies()
	return s.store.UpdateRole(ctx, name, func(r *Role) error {
		if u.Description != nil {
			r.Description = *u.Description
		}
		if u.MaxSession != nil {
			r.MaxSessionDuration = *u.MaxSession
		}
		return nil
	})
}

// UpdateAssumeRolePolicy replaces a role's trust policy.
func (s *Service) UpdateAssumeRolePolicy(ctx context.Context, c *Caller, name, doc string) error {
	if err := s.authorize(ctx, c, "iam:UpdateAssumeRolePolicy", s.roleARN(ctx, c, name)); err != nil {
		return err
	}
	ids, err := s.checkTrustPolicy(ctx, doc)
	if err != nil {
		return err
	}
	defer s.forgetPolicies()
	return s.store.UpdateRole(ctx, name, func(r *Role) error { r.TrustPolicy, r.TrustIDs = doc, ids; return nil })
}

// DeleteRole deletes a role without policies. Its sessions are refused
// from the next request on.
func (s *Service) DeleteRole(ctx context.Context, c *Caller, name string) error {
	if err := s.authorize(ctx, c, "iam:DeleteRole", s.roleARN(ctx, c, name)); err != nil {
		return err
	}
	defer s.forgetPolicies()
	return s.store.DeleteRole(ctx, name)
}

// TagRole adds or replaces tags of a role (at most 50 in all).
func (s *Service) TagRole(ctx context.Context, c *Caller, name string, tags []Tag) error {
	if err := s.authorize(ctx, c, "iam:TagRole", s.roleARN(ctx, c, name).withTags(tags)); err != nil {
		return err
	}
	defer s.forgetPolicies()
	return s.store.UpdateRole(ctx, name, func(r *Role) error {
		merged, err := MergeTags(r.Tags, tags)
		r.Tags = merged
		return err
	})
}

// UntagRole removes tags of a role by key; absent keys are ignored.
func (s *Service) UntagRole(ctx context.Context, c *Caller, name string, keys []string) error {
	if err := s.authorize(ctx, c, "iam:UntagRole", s.roleARN(ctx, c, name).withoutTags(keys)); err != nil {
		return err
	}
	defer s.forgetPolicies()
	return s.store.UpdateRole(ctx, name, func(r *Role) error {
		r.Tags = RemoveTags(r.Tags, keys)
		return nil
	})
}

// ListRoleTags returns a role's tags.
func (s *Service) ListRoleTags(ctx context.Context, c *Caller, name string) ([]Tag, error) {
	if err := s.authorize(ctx, c, "iam:ListRoleTags", s.roleARN(ctx, c, name)); err != nil {
		return nil, err
	}
	r, err := s.store.GetRole(ctx, name)
	if err != nil {
		return nil, err
	}
	return r.Tags, nil
}

// MaxTags is how many tags an IAM entity may have.
const MaxTags = 50

// MergeTags sets tags on have: a key already there (compared
// case-insensitively) gets the new value.
func MergeTags(have, set []Tag) ([]Tag, error) {
	out := append([]Tag(nil), have...)
	for _, t := range set {
		found := false
		for i := range out {
			if FoldName(out[i].Key) == FoldName(t.Key) {
				out[i], found = t, true
			}
		}
		if !found {
			out = append(out, t)
		}
	}
	if len(out) > MaxTags {
		return have, Errorf(LimitExceeded, "The number of tags has reached the maximum limit.")
	}
	return out, nil
}

// RemoveTags drops the tags of keys (compared case-insensitively).
func RemoveTags(have []Tag, keys []string) []Tag {
	var out []Tag
	for _, t := range have {
		drop := false
		for _, k := range keys {
			drop = drop || FoldName(k) == FoldName(t.Key)
		}
		if !drop {
			out = append(out, t)
		}
	}
	return out
}
