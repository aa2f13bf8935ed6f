package iamapi

import (
	"context"
	"regexp"
	"strconv"

	"iamd"
	"iamd/awsquery"
)

var reDescription = regexp.MustCompile(`^[\x{0009}\x{000A}\x{000D}\x{0020}-\x{007E}\x{00A1}-\x{00FF}]*$`)

func (v *validator) roleName() string {
	return v.Str("RoleName", true, 1, 64, reName, `[\w+=,.@-]+`)
}

func (v *validator) trustPolicy() string {
	return v.Str("PolicyDocument", true, 1, 131072, reDocument, `[\u0009\u000A\u000D\u0020-\u00FF]+`)
}

func (v *validator) description() *string {
	if _, ok := v.P["Description"]; !ok {
		return nil
	}
	d := v.Str("Description", false, 0, 1000, reDescription, `[\u0009\u000A\u000D\u0020-\u007E\u00A1-\u00FF]*`)
	return &d
}

func (v *validator) maxSession() *int {
	s, ok := v.P["MaxSessionDuration"]
	if !ok {
		return nil
	}
	n, err := strconv.Atoi(s)
	switch {
	case err != nil:
		v.Fail("Value '%s' at 'maxSessionDuration' failed to satisfy constraint: Member must be an integer", clip(s))
	case n < 3600:
		v.Fail("Value '%d' at 'maxSessionDuration' failed to satisfy constraint: Member must have value greater than or equal to 3600", n)
	case n > 43200:
		v.Fail("Value '%d' at 'maxSessionDuration' failed to satisfy constraint: Member must have value less than or equal to 43200", n)
	}
	return &n
}

type role struct {
	Path                     string
	RoleName                 string
	RoleId                   string
	Arn                      string
	CreateDate               string
	AssumeRolePolicyDocument string
	Description              string `xml:",omitempty"`
	MaxSessionDuration       int
	PermissionsBoundary      *boundary `xml:",omitempty"`
	Tags                     *tags     `xml:",omitempty"`
	RoleLastUsed             *struct{} `xml:",omitempty"`
}

func (a *API) role(r *iamd.Role, full bool) role {
	out := role{Path: r.Path, RoleName: r.Name, RoleId: r.ID, Arn: r.ARN(a.svc.Account().ID), CreateDate: awsquery.Timestamp(r.CreatedAt),
		AssumeRolePolicyDocument: encodeDocument(r.TrustPolicy), Description: r.Description, MaxSessionDuration: r.MaxSessionDuration,
		PermissionsBoundary: boundaryOf(r.Boundary)}
	if full {
		out.RoleLastUsed = &struct{}{}
		if len(r.Tags) > 0 {
			out.Tags = &tags{}
			for _, t := range r.Tags {
				out.Tags.Member = append(out.Tags.Member, tag(t))
			}
		}
	}
	return out
}

type roleResult struct{ Role role }

type listRolesResult struct {
	Roles       []role `xml:"Roles>member"`
	IsTruncated bool
	Marker      string `xml:",omitempty"`
}

type listTagsResult struct {
	Tags        []tag `xml:"Tags>member"`
	IsTruncated bool
	Marker      string `xml:",omitempty"`
}

type listInstanceProfilesResult struct {
	InstanceProfiles []instanceProfile `xml:"InstanceProfiles>member"`
	IsTruncated      bool
	Marker           string `xml:",omitempty"`
}

type getRolePolicyResult struct {
	RoleName       string
	PolicyName     string
	PolicyDocument string
}

func (a *API) createRole(ctx context.Context, c *iamd.Caller, p awsquery.Params) (any, error) {
	v := newValidator(p)
	name := v.roleName()
	path := v.Str("Path", false, 1, 512, rePath, `(\u002F)|(\u002F[\u0021-\u007E]+\u002F)`)
	trust := v.Str("AssumeRolePolicyDocument", true, 1, 131072, reDocument, `[\u0009\u000A\u000D\u0020-\u00FF]+`)
	desc := v.description()
	maxSession := v.maxSession()
	tags := v.tags()
	if v.Err != nil {
		return nil, v.Err
	}
	var opts []iamd.CreateOption
	if b := v.boundary(false); b != "" {
		opts = append(opts, iamd.WithBoundary(b))
	}
	if v.Err != nil {
		return nil, v.Err
	}
	d, ms := "", 0
	if desc != nil {
		d = *desc
	}
	if maxSession != nil {
		ms = *maxSession
	}
	r, err := a.svc.CreateRole(ctx, c, name, path, d, trust, ms, tags, opts...)
	if err != nil {
		return nil, err
	}
	return roleResult{a.role(r, false)}, nil
}

func (a *API) getRole(ctx context.Context, c *iamd.Caller, p awsquery.Params) (any, error) {
	v := newValidator(p)
	name := v.roleName()
	if v.Err != nil {
		return nil, v.Err
	}
	r, err := a.svc.GetRole(ctx, c, name)
	if err != nil {
		return nil, err
	}
	return roleResult{a.role(r, true)}, nil
}

func (a *API) listRoles(ctx context.Context, c *iamd.Caller, p awsquery.Params) (any, error) {
	v := newValidator(p)
	prefix := v.Str("PathPrefix", false, 1, 512, rePrefix, `\u002F[\u0021-\u007F]*`)
	page := v.page()
	if v.Err != nil {
		return nil, v.Err
	}
	rs, next, err := a.svc.ListRoles(ctx, c, prefix, page)
	if err != nil {
		return nil, err
	}
	out := listRolesResult{Roles: make([]role, 0, len(rs)), IsTruncated: next != "", Marker: next}
	for _, r := range rs {
		out.Roles = append(out.Roles, a.role(r, false))
	}
	return out, nil
}

func (a *API) updateRole(ctx context.Context, c *iamd.Caller, p awsquery.Params) (any, error) {
	v := newValidator(p)
	name := v.roleName()
	u := iamd.RoleUpdate{Description: v.description(), MaxSession: v.maxSession()}
	if v.Err != nil {
		return nil, v.Err
	}
	if err := a.svc.UpdateRole(ctx, c, name, u); err != nil {
		return nil, err
	}
	// The model's output has a result wrapper, empty: clients require it
	// (botocore raises KeyError: 'UpdateRoleResult' without it).
	return struct{}{}, nil
}

// updateRoleDescription is the older form of UpdateRole; it returns the role.
func (a *API) updateRoleDescription(ctx context.Context, c *iamd.Caller, p awsquery.Params) (any, error) {
	v := newValidator(p)
	name := v.roleName()
	desc := v.description()
	if desc == nil {
		v.Fail("Value null at 'description' failed to satisfy constraint: Member must not be null")
	}
	if v.Err != nil {
		return nil, v.Err
	}
	if err := a.svc.UpdateRole(ctx, c, name, iamd.RoleUpdate{Description: desc}); err != nil {
		return nil, err
	}
	r, err := a.svc.GetRole(ctx, c, name)
	if err != nil {
		return nil, err
	}
	return roleResult{a.role(r, false)}, nil
}

func (a *API) updateAssumeRolePolicy(ctx context.Context, c *iamd.Caller, p awsquery.Params) (any, error) {
	v := newValidator(p)
	name := v.roleName()
	doc := v.trustPolicy()
	if v.Err != nil {
		return nil, v.Err
	}
	return nil, a.svc.UpdateAssumeRolePolicy(ctx, c, name, doc)
}

func (a *API) deleteRole(ctx context.Context, c *iamd.Caller, p awsquery.Params) (any, error) {
	v := newValidator(p)
	name := v.roleName()
	if v.Err != nil {
		return nil, v.Err
	}
	return nil, a.svc.DeleteRole(ctx, c, name)
}

func (a *API) tagRole(ctx context.Context, c *iamd.Caller, p awsquery.Params) (any, error) {
	v := newValidator(p)
	name := v.roleName()
	tags := v.tags()
	if len(tags) == 0 {
		v.Fail("Value null at 'tags' failed to satisfy constraint: Member must not be null")
	}
	if v.Err != nil {
		return nil, v.Err
	}
	return nil, a.svc.TagRole(ctx, c, name, tags)
}

func (a *API) untagRole(ctx context.Context, c *iamd.Caller, p awsquery.Params) (any, error) {
	v := newValidator(p)
	name := v.roleName()
	keys := v.tagKeys()
	if v.Err != nil {
		return nil, v.Err
	}
	return nil, a.svc.UntagRole(ctx, c, name, keys)
}

func (a *API) listRoleTags(ctx context.Context, c *iamd.Caller, p awsquery.Params) (any, error) {
	v := newValidator(p)
	name := v.roleName()
	page := v.page()
	if v.Err != nil {
		return nil, v.Err
	}
	ts, err := a.svc.ListRoleTags(ctx, c, name)
	if err != nil {
		return nil, err
	}
	return pagedTags(ts, page)
}

// listInstanceProfilesForRole without instance profiles served: every
// existing role is in none.
func (a *API) listNoInstanceProfilesForRole(ctx context.Context, c *iamd.Caller, p awsquery.Params) (any, error) {
	v := newValidator(p)
	name := v.roleName()
	v.page()
	if v.Err != nil {
		return nil, v.Err
	}
	if _, err := a.svc.GetRole(ctx, c, name); err != nil {
		return nil, err
	}
	return listInstanceProfilesResult{InstanceProfiles: []instanceProfile{}}, nil
}
