// Package authdetails answers IAM's GetAccountAuthorizationDetails: every
// user, group, role and managed policy of the account with the policies
// that apply to each, in one paged listing — the call Prowler, ScoutSuite,
// PMapper and Cloudsplaining read a whole account's IAM with.
//
// The caller needs iam:GetAccountAuthorizationDetails, and nothing else:
// the reads behind it are the account's own, made once that is decided.
package authdetails

import (
	"context"
	"strconv"

	"iamd"
)

// Filter selects the kinds of entity listed; the zero Filter lists all.
type Filter struct {
	Users, Groups, Roles, LocalPolicies, AWSPolicies bool
}

func (f Filter) all() bool { return f == Filter{} }

// User is a user with its inline policies, its attached managed policies
// and the names of its groups.
type User struct {
	*iamd.User
	Inline   []iamd.InlinePolicy
	Attached []iamd.AttachedPolicy
	Groups   []string
}

// Group is a group with its policies.
type Group struct {
	*iamd.Group
	Inline   []iamd.InlinePolicy
	Attached []iamd.AttachedPolicy
}

// Role is a role with its policies.
type Role struct {
	*iamd.Role
	Inline   []iamd.InlinePolicy
	Attached []iamd.AttachedPolicy
}

// Policy is a managed policy with every version's document. AWS-managed
// policies are listed when something is attached to them, as AWS lists
// them.
type Policy struct {
	*iamd.ManagedPolicy
	Versions []*iamd.PolicyVersion
}

// Details is one page.
type Details struct {
	Users     []User
	Groups    []Group
	Roles     []Role
	Policies  []Policy
	Marker    string // the next page's; "" on the last
	Truncated bool
}

// item is one entity of the listing, in its order: users, groups, roles,
// then policies, each by name.
type item struct {
	user   *iamd.User
	group  *iamd.Group
	role   *iamd.Role
	policy *iamd.ManagedPolicy
}

// Get returns the page of the account's authorization details that page
// asks for. Its Marker is an offset into the listing, which a change made
// between pages shifts, as AWS's does.
func Get(ctx context.Context, svc *iamd.Service, c *iamd.Caller, f Filter, page iamd.Page) (*Details, error) {
	if err := svc.Authorize(ctx, c, "iam:GetAccountAuthorizationDetails", "*"); err != nil {
		return nil, err
	}
	from := 0
	if page.Marker != "" {
		n, err := strconv.Atoi(page.Marker)
		if err != nil || n < 0 {
			return nil, iamd.Errorf(iamd.InvalidInput, "Invalid Marker.")
		}
		from = n
	}
	// Decided: the reads are the account's.
	account := &iamd.Caller{Kind: iamd.CallerRoot, Account: svc.Account().ID}
	items, err := list(ctx, svc, account, f)
	if err != nil {
		return nil, err
	}
	if from > len(items) {
		return nil, iamd.Errorf(iamd.InvalidInput, "Invalid Marker.")
	}
	to := min(len(items), from+page.MaxItems)
	out := &Details{}
	if to < len(items) {
		out.Truncated, out.Marker = true, strconv.Itoa(to)
	}
	for _, it := range items[from:to] {
		if err := out.add(ctx, svc, account, it); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// list names every entity the filter selects.
func list(ctx context.Context, svc *iamd.Service, c *iamd.Caller, f Filter) ([]item, error) {
	var items []item
	if f.all() || f.Users {
		users, err := all(func(p iamd.Page) ([]*iamd.User, string, error) { return svc.ListUsers(ctx, c, "/", p) })
		if err != nil {
			return nil, err
		}
		for _, u := range users {
			items = append(items, item{user: u})
		}
	}
	if f.all() || f.Groups {
		groups, err := all(func(p iamd.Page) ([]*iamd.Group, string, error) { return svc.ListGroups(ctx, c, "/", p) })
		if err != nil {
			return nil, err
		}
		for _, g := range groups {
			items = append(items, item{group: g})
		}
	}
	if f.all() || f.Roles {
		roles, err := all(func(p iamd.Page) ([]*iamd.Role, string, error) { return svc.ListRoles(ctx, c, "/", p) })
		if err != nil {
			return nil, err
		}
		for _, r := range roles {
			items = append(items, item{role: r})
		}
	}
	for _, scope := range []struct {
		on           bool
		scope        iamd.PolicyScope
		onlyAttached bool
	}{{f.all() || f.LocalPolicies, iamd.ScopeLocal, false}, {f.all() || f.AWSPolicies, iamd.ScopeAWS, true}} {
		if !scope.on {
			continue
		}
		policies, err := all(func(p iamd.Page) ([]*iamd.ManagedPolicy, string, error) {
			return svc.ListPolicies(ctx, c, scope.scope, iamd.PolicyFilter{PathPrefix: "/", OnlyAttached: scope.onlyAttached}, p)
		})
		if err != nil {
			return nil, err
		}
		for _, p := range policies {
			items = append(items, item{policy: p})
		}
	}
	return items, nil
}

// all reads every page of a listing.
func all[T any](next func(iamd.Page) ([]T, string, error)) ([]T, error) {
	var out []T
	p := iamd.Page{MaxItems: 1000}
	for {
		got, marker, err := next(p)
		if err != nil {
			return nil, err
		}
		out = append(out, got...)
		if marker == "" {
			return out, nil
		}
		p.Marker = marker
	}
}

func (d *Details) add(ctx context.Context, svc *iamd.Service, c *iamd.Caller, it item) error {
	switch {
	case it.user != nil:
		e := iamd.Entity{Kind: iamd.EntityUser, Name: it.user.Name}
		u := User{User: it.user}
		var err error
		if u.Inline, u.Attached, err = policiesOf(ctx, svc, c, e); err != nil {
			return err
		}
		groups, err := all(func(p iamd.Page) ([]*iamd.Group, string, error) {
			return svc.ListGroupsForUser(ctx, c, it.user.Name, p)
		})
		if err != nil {
			return err
		}
		for _, g := range groups {
			u.Groups = append(u.Groups, g.Name)
		}
		d.Users = append(d.Users, u)
	case it.group != nil:
		g := Group{Group: it.group}
		var err error
		if g.Inline, g.Attached, err = policiesOf(ctx, svc, c, iamd.Entity{Kind: iamd.EntityGroup, Name: it.group.Name}); err != nil {
			return err
		}
		d.Groups = append(d.Groups, g)
	case it.role != nil:
		r := Role{Role: it.role}
		var err error
		if r.Inline, r.Attached, err = policiesOf(ctx, svc, c, iamd.Entity{Kind: iamd.EntityRole, Name: it.role.Name}); err != nil {
			return err
		}
		d.Roles = append(d.Roles, r)
	case it.policy != nil:
		arn := it.policy.ARN(svc.Account().ID)
		full, err := svc.GetPolicy(ctx, c, arn) // with its attachment count
		if err != nil {
			return err
		}
		versions, err := svc.ListPolicyVersions(ctx, c, arn)
		if err != nil {
			return err
		}
		p := Policy{ManagedPolicy: full}
		for _, v := range versions {
			if v.Document == "" {
				if v, err = svc.GetPolicyVersion(ctx, c, arn, v.ID); err != nil {
					return err
				}
			}
			p.Versions = append(p.Versions, v)
		}
		d.Policies = append(d.Policies, p)
	}
	return nil
}

// policiesOf returns e's inline policies, with their documents, and the
// managed policies attached to it.
func policiesOf(ctx context.Context, svc *iamd.Service, c *iamd.Caller, e iamd.Entity) ([]iamd.InlinePolicy, []iamd.AttachedPolicy, error) {
	names, err := all(func(p iamd.Page) ([]string, string, error) { return svc.ListInlinePolicies(ctx, c, e, p) })
	if err != nil {
		return nil, nil, err
	}
	inline := make([]iamd.InlinePolicy, 0, len(names))
	for _, n := range names {
		p, err := svc.GetInlinePolicy(ctx, c, e, n)
		if err != nil {
			return nil, nil, err
		}
		inline = append(inline, *p)
	}
	attached, err := all(func(p iamd.Page) ([]iamd.AttachedPolicy, string, error) {
		return svc.ListAttachedPolicies(ctx, c, e, "/", p)
	})
	return inline, attached, err
}
