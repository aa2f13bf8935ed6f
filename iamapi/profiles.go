package iamapi

import (
	"context"

	"iamd"
	"iamd/awsquery"
)

type instanceProfile struct {
	Path                string
	InstanceProfileName string
	InstanceProfileId   string
	Arn                 string
	CreateDate          string
	Roles               []role `xml:"Roles>member"`
	Tags                *tags  `xml:",omitempty"`
}

// instanceProfile is the wire form of p, with its role as GetRole gives it
// (read as the account: the caller was allowed the profile).
func (a *API) instanceProfile(ctx context.Context, p *iamd.InstanceProfile) (instanceProfile, error) {
	out := instanceProfile{Path: p.Path, InstanceProfileName: p.Name, InstanceProfileId: p.ID, Arn: p.ARN(a.svc.Account().ID),
		CreateDate: awsquery.Timestamp(p.CreatedAt), Roles: []role{}}
	if p.Role != "" {
		r, err := a.svc.GetRole(ctx, &iamd.Caller{Kind: iamd.CallerRoot, Account: a.svc.Account().ID}, p.Role)
		if err != nil {
			return out, err
		}
		out.Roles = append(out.Roles, a.role(r, false))
	}
	if len(p.Tags) > 0 {
		out.Tags = &tags{}
		for _, t := range p.Tags {
			out.Tags.Member = append(out.Tags.Member, tag(t))
		}
	}
	return out, nil
}

type instanceProfileResult struct{ InstanceProfile instanceProfile }

func (v *validator) instanceProfileName() string {
	return v.Str("InstanceProfileName", true, 1, 128, reName, `[\w+=,.@-]+`)
}

func (a *API) createInstanceProfile(ctx context.Context, c *iamd.Caller, p awsquery.Params) (any, error) {
	v := newValidator(p)
	name := v.instanceProfileName()
	path := v.Str("Path", false, 1, 512, rePath, `(\u002F)|(\u002F[\u0021-\u007E]+\u002F)`)
	tags := v.tags()
	if v.Err != nil {
		return nil, v.Err
	}
	ip, err := a.profiles.Create(ctx, c, name, path, tags)
	if err != nil {
		return nil, err
	}
	out, err := a.instanceProfile(ctx, ip)
	return instanceProfileResult{out}, err
}

func (a *API) getInstanceProfile(ctx context.Context, c *iamd.Caller, p awsquery.Params) (any, error) {
	v := newValidator(p)
	name := v.instanceProfileName()
	if v.Err != nil {
		return nil, v.Err
	}
	ip, err := a.profiles.Get(ctx, c, name)
	if err != nil {
		return nil, err
	}
	out, err := a.instanceProfile(ctx, ip)
	return instanceProfileResult{out}, err
}

func (a *API) listed(ctx context.Context, ps []*iamd.InstanceProfile, next string) (any, error) {
	out := listInstanceProfilesResult{InstanceProfiles: []instanceProfile{}, IsTruncated: next != "", Marker: next}
	for _, ip := range ps {
		w, err := a.instanceProfile(ctx, ip)
		if err != nil {
			return nil, err
		}
		out.InstanceProfiles = append(out.InstanceProfiles, w)
	}
	return out, nil
}

func (a *API) listInstanceProfiles(ctx context.Context, c *iamd.Caller, p awsquery.Params) (any, error) {
	v := newValidator(p)
	prefix := v.Str("PathPrefix", false, 1, 512, rePath, `\u002F[\u0021-\u007F]*`)
	page := v.page()
	if v.Err != nil {
		return nil, v.Err
	}
	if prefix == "" {
		prefix = "/"
	}
	ps, next, err := a.profiles.List(ctx, c, prefix, "", page)
	if err != nil {
		return nil, err
	}
	return a.listed(ctx, ps, next)
}

func (a *API) listInstanceProfilesForRole(ctx context.Context, c *iamd.Caller, p awsquery.Params) (any, error) {
	v := newValidator(p)
	role := v.roleName()
	page := v.page()
	if v.Err != nil {
		return nil, v.Err
	}
	ps, next, err := a.profiles.List(ctx, c, "/", role, page)
	if err != nil {
		return nil, err
	}
	return a.listed(ctx, ps, next)
}

func (a *API) deleteInstanceProfile(ctx context.Context, c *iamd.Caller, p awsquery.Params) (any, error) {
	v := newValidator(p)
	name := v.instanceProfileName()
	if v.Err != nil {
		return nil, v.Err
	}
	return nil, a.profiles.Delete(ctx, c, name)
}

func (a *API) instanceProfileRole(add bool) action {
	return func(ctx context.Context, c *iamd.Caller, p awsquery.Params) (any, error) {
		v := newValidator(p)
		name := v.instanceProfileName()
		role := v.roleName()
		if v.Err != nil {
			return nil, v.Err
		}
		if add {
			return nil, a.profiles.AddRole(ctx, c, name, role)
		}
		return nil, a.profiles.RemoveRole(ctx, c, name, role)
	}
}

func (a *API) tagInstanceProfile(ctx context.Context, c *iamd.Caller, p awsquery.Params) (any, error) {
	v := newValidator(p)
	name := v.instanceProfileName()
	tags := v.requiredTags()
	if v.Err != nil {
		return nil, v.Err
	}
	return nil, a.profiles.Tag(ctx, c, name, tags)
}

func (a *API) untagInstanceProfile(ctx context.Context, c *iamd.Caller, p awsquery.Params) (any, error) {
	v := newValidator(p)
	name := v.instanceProfileName()
	keys := v.tagKeys()
	if v.Err != nil {
		return nil, v.Err
	}
	return nil, a.profiles.Untag(ctx, c, name, keys)
}

func (a *API) listInstanceProfileTags(ctx context.Context, c *iamd.Caller, p awsquery.Params) (any, error) {
	v := newValidator(p)
	name := v.instanceProfileName()
	page := v.page()
	if v.Err != nil {
		return nil, v.Err
	}
	ts, err := a.profiles.ListTags(ctx, c, name)
	if err != nil {
		return nil, err
	}
	return pagedTags(ts, page)
}
