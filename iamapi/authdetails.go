package iamapi

import (
	"context"

	"iamd"
	"iamd/authdetails"
	"iamd/awsquery"
)

// getAccountAuthorizationDetails is GetAccountAuthorizationDetails, with
// Filter (User, Role, Group, LocalManagedPolicy, AWSManagedPolicy),
// MaxItems and Marker.
func (a *API) getAccountAuthorizationDetails(ctx context.Context, c *iamd.Caller, p awsquery.Params) (any, error) {
	v := newValidator(p)
	page := v.page()
	var f authdetails.Filter
	for _, k := range v.list("Filter") {
		switch k {
		case "User":
			f.Users = true
		case "Group":
			f.Groups = true
		case "Role":
			f.Roles = true
		case "LocalManagedPolicy":
			f.LocalPolicies = true
		case "AWSManagedPolicy":
			f.AWSPolicies = true
		default:
			v.Fail("Value '[%s]' at 'filter' failed to satisfy constraint: Member must satisfy constraint: [Member must satisfy enum value set: [User, Role, Group, LocalManagedPolicy, AWSManagedPolicy]]", clip(k))
		}
	}
	if v.Err != nil {
		return nil, v.Err
	}
	d, err := authdetails.Get(ctx, a.svc, c, f, page)
	if err != nil {
		return nil, err
	}
	account := a.svc.Account().ID
	out := authDetailsResult{UserDetailList: []userDetail{}, GroupDetailList: []groupDetail{}, RoleDetailList: []roleDetail{},
		Policies: []policyDetail{}, IsTruncated: d.Truncated, Marker: d.Marker}
	for _, u := range d.Users {
		ud := userDetail{user: a.user(u.User, true), UserPolicyList: inlineList(u.Inline), AttachedManagedPolicies: attachedList(u.Attached),
			GroupList: append([]string{}, u.Groups...)}
		out.UserDetailList = append(out.UserDetailList, ud)
	}
	for _, g := range d.Groups {
		out.GroupDetailList = append(out.GroupDetailList, groupDetail{group: a.group(g.Group), GroupPolicyList: inlineList(g.Inline),
			AttachedManagedPolicies: attachedList(g.Attached)})
	}
	for _, r := range d.Roles {
		rd := roleDetail{Path: r.Path, RoleName: r.Name, RoleId: r.ID, Arn: r.ARN(account), CreateDate: awsquery.Timestamp(r.CreatedAt),
			AssumeRolePolicyDocument: encodeDocument(r.TrustPolicy), InstanceProfileList: []struct{}{}, RolePolicyList: inlineList(r.Inline),
			AttachedManagedPolicies: attachedList(r.Attached), PermissionsBoundary: boundaryOf(r.Boundary)}
		if len(r.Tags) > 0 {
			rd.Tags = &tags{}
			for _, t := range r.Tags {
				rd.Tags.Member = append(rd.Tags.Member, tag(t))
			}
		}
		out.RoleDetailList = append(out.RoleDetailList, rd)
	}
	for _, p := range d.Policies {
		pd := policyDetail{managedPolicy: a.policy(p.ManagedPolicy, true)}
		pd.Tags = nil // not in ManagedPolicyDetail
		for _, v := range p.Versions {
			pd.PolicyVersionList = append(pd.PolicyVersionList, versionShape(v, true))
		}
		out.Policies = append(out.Policies, pd)
	}
	return out, nil
}

func inlineList(ps []iamd.InlinePolicy) []inlineDetail {
	out := []inlineDetail{}
	for _, p := range ps {
		out = append(out, inlineDetail{PolicyName: p.Name, PolicyDocument: encodeDocument(p.Document)})
	}
	return out
}

func attachedList(as []iamd.AttachedPolicy) []attachedPolicy {
	out := []attachedPolicy{}
	for _, ap := range as {
		out = append(out, attachedPolicy{PolicyName: ap.Name(), PolicyArn: ap.ARN})
	}
	return out
}

type authDetailsResult struct {
	UserDetailList  []userDetail   `xml:"UserDetailList>member"`
	GroupDetailList []groupDetail  `xml:"GroupDetailList>member"`
	RoleDetailList  []roleDetail   `xml:"RoleDetailList>member"`
	Policies        []policyDetail `xml:"Policies>member"`
	IsTruncated     bool
	Marker          string `xml:",omitempty"`
}

type inlineDetail struct {
	PolicyName     string
	PolicyDocument string
}

type userDetail struct {
	user
	UserPolicyList          []inlineDetail   `xml:"UserPolicyList>member"`
	GroupList               []string         `xml:"GroupList>member"`
	AttachedManagedPolicies []attachedPolicy `xml:"AttachedManagedPolicies>member"`
}

type groupDetail struct {
	group
	GroupPolicyList         []inlineDetail   `xml:"GroupPolicyList>member"`
	AttachedManagedPolicies []attachedPolicy `xml:"AttachedManagedPolicies>member"`
}

type roleDetail struct {
	Path                     string
	RoleName                 string
	RoleId                   string
	Arn                      string
	CreateDate               string
	AssumeRolePolicyDocument string
	InstanceProfileList      []struct{}       `xml:"InstanceProfileList>member"`
	RolePolicyList           []inlineDetail   `xml:"RolePolicyList>member"`
	AttachedManagedPolicies  []attachedPolicy `xml:"AttachedManagedPolicies>member"`
	PermissionsBoundary      *boundary        `xml:",omitempty"`
	Tags                     *tags            `xml:",omitempty"`
}

type policyDetail struct {
	managedPolicy
	PolicyVersionList []policyVersion `xml:"PolicyVersionList>member"`
}
