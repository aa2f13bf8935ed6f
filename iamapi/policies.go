package iamapi

import (
	"context"
	"net/url"
	"regexp"
	"strconv"
	"strings"

	"iamd"
	"iamd/awsquery"
)

// Shapes of the policy and group actions (botocore's IAM model).
var (
	rePolicyPath = regexp.MustCompile(`^((/[A-Za-z0-9.,+@=_-]+)*)/$`)
	reDocument   = regexp.MustCompile(`^[\x09\x0A\x0D\x20-\x{FF}]+$`)
	reVersionID  = regexp.MustCompile(`^v[1-9][0-9]*(\.[A-Za-z0-9-]*)?$`)
)

func (v *validator) groupName() string {
	return v.Str("GroupName", true, 1, 128, reName, `[\w+=,.@-]+`)
}

func (v *validator) policyName() string {
	return v.Str("PolicyName", true, 1, 128, reName, `[\w+=,.@-]+`)
}

func (v *validator) policyARN() string {
	return v.Str("PolicyArn", true, 20, 2048, nil, "") // arnType has no pattern
}

func (v *validator) document() string {
	return v.Str("PolicyDocument", true, 1, 131072, reDocument, `[\u0009\u000A\u000D\u0020-\u00FF]+`)
}

func (v *validator) versionID() string {
	return v.Str("VersionId", true, 0, 1024, reVersionID, `v[1-9][0-9]*(\.[A-Za-z0-9-]*)?`)
}

func (v *validator) policyPathPrefix() string {
	return v.Str("PathPrefix", false, 1, 512, rePolicyPath, `((/[A-Za-z0-9\.,\+@=_-]+)*)/`)
}

func (v *validator) boolean(name string) bool {
	s, ok := v.P[name]
	if !ok {
		return false
	}
	switch strings.ToLower(s) {
	case "true":
		return true
	case "false":
	default:
		v.Fail("Value '%s' at '%s' failed to satisfy constraint: Member must be a boolean", clip(s), lowerFirst(name))
	}
	return false
}

// list reads name.member.1, name.member.2, …
// members is list with each member's length checked against the model.
func (v *validator) members(name string, min, max int) []string {
	out := v.list(name)
	for i := range out {
		v.Str(name+".member."+strconv.Itoa(i+1), true, min, max, nil, "")
	}
	return out
}

func (v *validator) list(name string) []string {
	var out []string
	for i := 1; ; i++ {
		s, ok := v.P[name+".member."+strconv.Itoa(i)]
		if !ok {
			return out
		}
		out = append(out, s)
	}
}

// encodeDocument is how IAM returns policy documents: URL-encoded (RFC
// 3986), which botocore and the aws CLI decode and the SDKs pass on.
func encodeDocument(doc string) string {
	return strings.ReplaceAll(url.QueryEscape(doc), "+", "%20")
}

// ---- wire shapes ----

type group struct {
	Path       string
	GroupName  string
	GroupId    string
	Arn        string
	CreateDate string
}

func (a *API) group(g *iamd.Group) group {
	return group{Path: g.Path, GroupName: g.Name, GroupId: g.ID, Arn: g.ARN(a.svc.Account().ID), CreateDate: awsquery.Timestamp(g.CreatedAt)}
}

type managedPolicy struct {
	PolicyName                    string
	PolicyId                      string
	Arn                           string
	Path                          string
	DefaultVersionId              string
	AttachmentCount               int
	PermissionsBoundaryUsageCount int
	IsAttachable                  bool
	Description                   string `xml:",omitempty"`
	CreateDate                    string
	UpdateDate                    string
	Tags                          *tags `xml:",omitempty"`
}

func (a *API) policy(p *iamd.ManagedPolicy, withDescription bool) managedPolicy {
	out := managedPolicy{PolicyName: p.Name, PolicyId: p.ID, Arn: p.ARN(a.svc.Account().ID), Path: p.Path, DefaultVersionId: p.DefaultVersion,
		AttachmentCount: p.AttachmentCount, PermissionsBoundaryUsageCount: p.BoundaryCount, IsAttachable: true, CreateDate: awsquery.Timestamp(p.CreatedAt), UpdateDate: awsquery.Timestamp(p.UpdatedAt)}
	if withDescription { // as AWS: GetPolicy and CreatePolicy describe, ListPolicies does not
		out.Description = p.Description
		if len(p.Tags) > 0 {
			out.Tags = &tags{}
			for _, t := range p.Tags {
				out.Tags.Member = append(out.Tags.Member, tag(t))
			}
		}
	}
	return out
}

type policyVersion struct {
	Document         string `xml:",omitempty"`
	VersionId        string
	IsDefaultVersion bool
	CreateDate       string
}

func versionShape(v *iamd.PolicyVersion, withDocument bool) policyVersion {
	out := policyVersion{VersionId: v.ID, IsDefaultVersion: v.Default, CreateDate: awsquery.Timestamp(v.CreatedAt)}
	if withDocument {
		out.Document = encodeDocument(v.Document)
	}
	return out
}

type attachedPolicy struct {
	PolicyName string
	PolicyArn  string
}

type policyResult struct{ Policy managedPolicy }
type groupResult struct{ Group group }
type policyVersionResult struct{ PolicyVersion policyVersion }

type listPoliciesResult struct {
	Policies    []managedPolicy `xml:"Policies>member"`
	IsTruncated bool
	Marker      string `xml:",omitempty"`
}

type listPolicyVersionsResult struct {
	Versions    []policyVersion `xml:"Versions>member"`
	IsTruncated bool
}

type listAttachedResult struct {
	AttachedPolicies []attachedPolicy `xml:"AttachedPolicies>member"`
	IsTruncated      bool
	Marker           string `xml:",omitempty"`
}

type policyGroup struct {
	GroupName string
	GroupId   string
}

type policyUser struct {
	UserName string
	UserId   string
}

type listEntitiesResult struct {
	PolicyGroups []policyGroup `xml:"PolicyGroups>member"`
	PolicyUsers  []policyUser  `xml:"PolicyUsers>member"`
	PolicyRoles  []policyRole  `xml:"PolicyRoles>member"`
	IsTruncated  bool
	Marker       string `xml:",omitempty"`
}

type policyRole struct {
	RoleName string
	RoleId   string
}

type getUserPolicyResult struct {
	UserName       string
	PolicyName     string
	PolicyDocument string
}

type getGroupPolicyResult struct {
	GroupName      string
	PolicyName     string
	PolicyDocument string
}

type policyNamesResult struct {
	PolicyNames []string `xml:"PolicyNames>member"`
	IsTruncated bool
	Marker      string `xml:",omitempty"`
}

type getGroupResult struct {
	Group       group
	Users       []user `xml:"Users>member"`
	IsTruncated bool
	Marker      string `xml:",omitempty"`
}

type listGroupsResult struct {
	Groups      []group `xml:"Groups>member"`
	IsTruncated bool
	Marker      string `xml:",omitempty"`
}

// ---- managed policies ----

func (a *API) createPolicy(ctx context.Context, c *iamd.Caller, p awsquery.Params) (any, error) {
	v := newValidator(p)
	name := v.policyName()
	path := v.Str("Path", false, 1, 512, rePolicyPath, `((/[A-Za-z0-9\.,\+@=_-]+)*)/`)
	doc := v.document()
	desc := v.Str("Description", false, 0, 1000, nil, "")
	tags := v.tags()
	if v.Err != nil {
		return nil, v.Err
	}
	pol, err := a.svc.CreatePolicy(ctx, c, name, path, desc, doc, tags)
	if err != nil {
		return nil, err
	}
	return policyResult{a.policy(pol, true)}, nil
}

func (a *API) getPolicy(ctx context.Context, c *iamd.Caller, p awsquery.Params) (any, error) {
	v := newValidator(p)
	arn := v.policyARN()
	if v.Err != nil {
		return nil, v.Err
	}
	pol, err := a.svc.GetPolicy(ctx, c, arn)
	if err != nil {
		return nil, err
	}
	return policyResult{a.policy(pol, true)}, nil
}

func (a *API) listPolicies(ctx context.Context, c *iamd.Caller, p awsquery.Params) (any, error) {
	v := newValidator(p)
	scope := iamd.ScopeAll
	switch s := p["Scope"]; s {
	case "", "All":
	case "AWS":
		scope = iamd.ScopeAWS
	case "Local":
		scope = iamd.ScopeLocal
	default:
		v.Fail("Value '%s' at 'scope' failed to satisfy constraint: Member must satisfy enum value set: [All, AWS, Local]", clip(s))
	}
	onlyAttached := v.boolean("OnlyAttached")
	prefix := v.policyPathPrefix()
	page := v.page()
	f := iamd.PolicyFilter{PathPrefix: prefix, OnlyAttached: onlyAttached}
	switch u := p["PolicyUsageFilter"]; u {
	case "", "PermissionsPolicy": // every managed policy can be one
	case "PermissionsBoundary":
		f.OnlyBoundaries = true
	default:
		v.Fail("Value '%s' at 'policyUsageFilter' failed to satisfy constraint: Member must satisfy enum value set: [PermissionsPolicy, PermissionsBoundary]", clip(u))
	}
	if v.Err != nil {
		return nil, v.Err
	}
	ps, next, err := a.svc.ListPolicies(ctx, c, scope, f, page)
	if err != nil {
		return nil, err
	}
	out := listPoliciesResult{Policies: make([]managedPolicy, 0, len(ps)), IsTruncated: next != "", Marker: next}
	for _, pol := range ps {
		out.Policies = append(out.Policies, a.policy(pol, false))
	}
	return out, nil
}

func (a *API) deletePolicy(ctx context.Context, c *iamd.Caller, p awsquery.Params) (any, error) {
	v := newValidator(p)
	arn := v.policyARN()
	if v.Err != nil {
		return nil, v.Err
	}
	return nil, a.svc.DeletePolicy(ctx, c, arn)
}

func (a *API) createPolicyVersion(ctx context.Context, c *iamd.Caller, p awsquery.Params) (any, error) {
	v := newValidator(p)
	arn := v.policyARN()
	doc := v.document()
	def := v.boolean("SetAsDefault")
	if v.Err != nil {
		return nil, v.Err
	}
	pv, err := a.svc.CreatePolicyVersion(ctx, c, arn, doc, def)
	if err != nil {
		return nil, err
	}
	return policyVersionResult{versionShape(pv, false)}, nil
}

func (a *API) getPolicyVersion(ctx context.Context, c *iamd.Caller, p awsquery.Params) (any, error) {
	v := newValidator(p)
	arn := v.policyARN()
	id := v.versionID()
	if v.Err != nil {
		return nil, v.Err
	}
	pv, err := a.svc.GetPolicyVersion(ctx, c, arn, id)
	if err != nil {
		return nil, err
	}
	return policyVersionResult{versionShape(pv, true)}, nil
}

func (a *API) listPolicyVersions(ctx context.Context, c *iamd.Caller, p awsquery.Params) (any, error) {
	v := newValidator(p)
	arn := v.policyARN()
	v.page() // at most five versions: always one page
	if v.Err != nil {
		return nil, v.Err
	}
	vs, err := a.svc.ListPolicyVersions(ctx, c, arn)
	if err != nil {
		return nil, err
	}
	out := listPolicyVersionsResult{Versions: make([]policyVersion, 0, len(vs))}
	for _, pv := range vs {
		out.Versions = append(out.Versions, versionShape(pv, false))
	}
	return out, nil
}

func (a *API) deletePolicyVersion(ctx context.Context, c *iamd.Caller, p awsquery.Params) (any, error) {
	v := newValidator(p)
	arn := v.policyARN()
	id := v.versionID()
	if v.Err != nil {
		return nil, v.Err
	}
	return nil, a.svc.DeletePolicyVersion(ctx, c, arn, id)
}

func (a *API) setDefaultPolicyVersion(ctx context.Context, c *iamd.Caller, p awsquery.Params) (any, error) {
	v := newValidator(p)
	arn := v.policyARN()
	id := v.versionID()
	if v.Err != nil {
		return nil, v.Err
	}
	return nil, a.svc.SetDefaultPolicyVersion(ctx, c, arn, id)
}

func (a *API) listEntitiesForPolicy(ctx context.Context, c *iamd.Caller, p awsquery.Params) (any, error) {
	v := newValidator(p)
	arn := v.policyARN()
	prefix := v.Str("PathPrefix", false, 1, 512, rePath, `(\u002F)|(\u002F[\u0021-\u007E]+\u002F)`)
	page := v.page()
	var kind *iamd.EntityKind
	switch f := p["EntityFilter"]; f {
	case "", "LocalManagedPolicy", "AWSManagedPolicy":
	case "User":
		k := iamd.EntityUser
		kind = &k
	case "Group":
		k := iamd.EntityGroup
		kind = &k
	case "Role":
		k := iamd.EntityRole
		kind = &k
	default:
		v.Fail("Value '%s' at 'entityFilter' failed to satisfy constraint: Member must satisfy enum value set: [User, Role, Group, LocalManagedPolicy, AWSManagedPolicy]", clip(f))
	}
	if v.Err != nil {
		return nil, v.Err
	}
	es, next, err := a.svc.ListEntitiesForPolicy(ctx, c, arn, kind, prefix, page)
	if err != nil {
		return nil, err
	}
	out := listEntitiesResult{PolicyGroups: []policyGroup{}, PolicyUsers: []policyUser{}, PolicyRoles: []policyRole{}, IsTruncated: next != "", Marker: next}
	for _, e := range es {
		switch e.Kind {
		case iamd.EntityGroup:
			out.PolicyGroups = append(out.PolicyGroups, policyGroup{GroupName: e.Name, GroupId: e.ID})
		case iamd.EntityRole:
			out.PolicyRoles = append(out.PolicyRoles, policyRole{RoleName: e.Name, RoleId: e.ID})
		default:
			out.PolicyUsers = append(out.PolicyUsers, policyUser{UserName: e.Name, UserId: e.ID})
		}
	}
	return out, nil
}

// ---- policies of users and groups ----

// entity reads UserName or GroupName, as the action names.
func (v *validator) entity(kind iamd.EntityKind) iamd.Entity {
	switch kind {
	case iamd.EntityGroup:
		return iamd.Entity{Kind: kind, Name: v.groupName()}
	case iamd.EntityRole:
		return iamd.Entity{Kind: kind, Name: v.roleName()}
	}
	return iamd.Entity{Kind: kind, Name: v.userName(true, 128)}
}

func (a *API) attachPolicy(kind iamd.EntityKind) action {
	return func(ctx context.Context, c *iamd.Caller, p awsquery.Params) (any, error) {
		v := newValidator(p)
		e := v.entity(kind)
		arn := v.policyARN()
		if v.Err != nil {
			return nil, v.Err
		}
		return nil, a.svc.AttachPolicy(ctx, c, e, arn)
	}
}

func (a *API) detachPolicy(kind iamd.EntityKind) action {
	return func(ctx context.Context, c *iamd.Caller, p awsquery.Params) (any, error) {
		v := newValidator(p)
		e := v.entity(kind)
		arn := v.policyARN()
		if v.Err != nil {
			return nil, v.Err
		}
		return nil, a.svc.DetachPolicy(ctx, c, e, arn)
	}
}

func (a *API) listAttachedPolicies(kind iamd.EntityKind) action {
	return func(ctx context.Context, c *iamd.Caller, p awsquery.Params) (any, error) {
		v := newValidator(p)
		e := v.entity(kind)
		prefix := v.policyPathPrefix()
		page := v.page()
		if v.Err != nil {
			return nil, v.Err
		}
		as, next, err := a.svc.ListAttachedPolicies(ctx, c, e, prefix, page)
		if err != nil {
			return nil, err
		}
		out := listAttachedResult{AttachedPolicies: make([]attachedPolicy, 0, len(as)), IsTruncated: next != "", Marker: next}
		for _, ap := range as {
			out.AttachedPolicies = append(out.AttachedPolicies, attachedPolicy{PolicyName: ap.Name(), PolicyArn: ap.ARN})
		}
		return out, nil
	}
}

func (a *API) putInlinePolicy(kind iamd.EntityKind) action {
	return func(ctx context.Context, c *iamd.Caller, p awsquery.Params) (any, error) {
		v := newValidator(p)
		e := v.entity(kind)
		name := v.policyName()
		doc := v.document()
		if v.Err != nil {
			return nil, v.Err
		}
		return nil, a.svc.PutInlinePolicy(ctx, c, e, name, doc)
	}
}

func (a *API) getInlinePolicy(kind iamd.EntityKind) action {
	return func(ctx context.Context, c *iamd.Caller, p awsquery.Params) (any, error) {
		v := newValidator(p)
		e := v.entity(kind)
		name := v.policyName()
		if v.Err != nil {
			return nil, v.Err
		}
		ip, err := a.svc.GetInlinePolicy(ctx, c, e, name)
		if err != nil {
			return nil, err
		}
		switch kind {
		case iamd.EntityGroup:
			return getGroupPolicyResult{GroupName: e.Name, PolicyName: ip.Name, PolicyDocument: encodeDocument(ip.Document)}, nil
		case iamd.EntityRole:
			return getRolePolicyResult{RoleName: e.Name, PolicyName: ip.Name, PolicyDocument: encodeDocument(ip.Document)}, nil
		}
		return getUserPolicyResult{UserName: e.Name, PolicyName: ip.Name, PolicyDocument: encodeDocument(ip.Document)}, nil
	}
}

func (a *API) deleteInlinePolicy(kind iamd.EntityKind) action {
	return func(ctx context.Context, c *iamd.Caller, p awsquery.Params) (any, error) {
		v := newValidator(p)
		e := v.entity(kind)
		name := v.policyName()
		if v.Err != nil {
			return nil, v.Err
		}
		return nil, a.svc.DeleteInlinePolicy(ctx, c, e, name)
	}
}

func (a *API) listInlinePolicies(kind iamd.EntityKind) action {
	return func(ctx context.Context, c *iamd.Caller, p awsquery.Params) (any, error) {
		v := newValidator(p)
		e := v.entity(kind)
		page := v.page()
		if v.Err != nil {
			return nil, v.Err
		}
		names, next, err := a.svc.ListInlinePolicies(ctx, c, e, page)
		if err != nil {
			return nil, err
		}
		if names == nil {
			names = []string{}
		}
		return policyNamesResult{PolicyNames: names, IsTruncated: next != "", Marker: next}, nil
	}
}

// ---- groups ----

func (a *API) createGroup(ctx context.Context, c *iamd.Caller, p awsquery.Params) (any, error) {
	v := newValidator(p)
	name := v.groupName()
	path := v.Str("Path", false, 1, 512, rePath, `(\u002F)|(\u002F[\u0021-\u007E]+\u002F)`)
	if v.Err != nil {
		return nil, v.Err
	}
	g, err := a.svc.CreateGroup(ctx, c, name, path)
	if err != nil {
		return nil, err
	}
	return groupResult{a.group(g)}, nil
}

func (a *API) getGroup(ctx context.Context, c *iamd.Caller, p awsquery.Params) (any, error) {
	v := newValidator(p)
	name := v.groupName()
	page := v.page()
	if v.Err != nil {
		return nil, v.Err
	}
	g, users, next, err := a.svc.GetGroup(ctx, c, name, page)
	if err != nil {
		return nil, err
	}
	out := getGroupResult{Group: a.group(g), Users: make([]user, 0, len(users)), IsTruncated: next != "", Marker: next}
	for _, u := range users {
		out.Users = append(out.Users, a.user(u, false))
	}
	return out, nil
}

func (a *API) groups(gs []*iamd.Group, next string) listGroupsResult {
	out := listGroupsResult{Groups: make([]group, 0, len(gs)), IsTruncated: next != "", Marker: next}
	for _, g := range gs {
		out.Groups = append(out.Groups, a.group(g))
	}
	return out
}

func (a *API) listGroups(ctx context.Context, c *iamd.Caller, p awsquery.Params) (any, error) {
	v := newValidator(p)
	prefix := v.Str("PathPrefix", false, 1, 512, rePrefix, `\u002F[\u0021-\u007F]*`)
	page := v.page()
	if v.Err != nil {
		return nil, v.Err
	}
	gs, next, err := a.svc.ListGroups(ctx, c, prefix, page)
	if err != nil {
		return nil, err
	}
	return a.groups(gs, next), nil
}

func (a *API) deleteGroup(ctx context.Context, c *iamd.Caller, p awsquery.Params) (any, error) {
	v := newValidator(p)
	name := v.groupName()
	if v.Err != nil {
		return nil, v.Err
	}
	return nil, a.svc.DeleteGroup(ctx, c, name)
}

func (a *API) addUserToGroup(ctx context.Context, c *iamd.Caller, p awsquery.Params) (any, error) {
	v := newValidator(p)
	g := v.groupName()
	u := v.userName(true, 128)
	if v.Err != nil {
		return nil, v.Err
	}
	return nil, a.svc.AddUserToGroup(ctx, c, g, u)
}

func (a *API) removeUserFromGroup(ctx context.Context, c *iamd.Caller, p awsquery.Params) (any, error) {
	v := newValidator(p)
	g := v.groupName()
	u := v.userName(true, 128)
	if v.Err != nil {
		return nil, v.Err
	}
	return nil, a.svc.RemoveUserFromGroup(ctx, c, g, u)
}

func (a *API) listGroupsForUser(ctx context.Context, c *iamd.Caller, p awsquery.Params) (any, error) {
	v := newValidator(p)
	u := v.userName(true, 128)
	page := v.page()
	if v.Err != nil {
		return nil, v.Err
	}
	gs, next, err := a.svc.ListGroupsForUser(ctx, c, u, page)
	if err != nil {
		return nil, err
	}
	return a.groups(gs, next), nil
}
