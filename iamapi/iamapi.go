// Package iamapi serves IAM's actions over the Query protocol: it decodes
// and validates parameters against botocore's IAM model, calls the domain
// Service, and shapes results and errors as IAM does.
package iamapi

import (
	"bytes"
	"context"
	"net/http"

	"iamd"
	"iamd/accounts"
	"iamd/awsquery"
	"iamd/federation"
	"iamd/instanceprofiles"
	"iamd/people"
)

// Version is the IAM API version.
const Version = "2010-05-08"

// API is IAM's action table bound to a Service.
type API struct {
	svc      *iamd.Service
	fed      *federation.Federation     // OpenID Connect providers; nil: not served
	profiles *instanceprofiles.Profiles // instance profiles; nil: not served
	people   *people.People             // passwords and MFA devices; nil: not served
	accounts *accounts.Accounts         // the account's alias; nil: not served
	actions  map[string]action
}

// Parts are the capabilities served beside the Service's own, each by a
// package of its own; a nil one is not served.
type Parts struct {
	Federation       *federation.Federation
	InstanceProfiles *instanceprofiles.Profiles
	People           *people.People
	Accounts         *accounts.Accounts
}

type action func(ctx context.Context, c *iamd.Caller, p awsquery.Params) (any, error)

// New returns the IAM API for svc, with the parts given.
func New(svc *iamd.Service, parts Parts) *API {
	fed, profiles := parts.Federation, parts.InstanceProfiles
	a := &API{svc: svc, fed: fed, profiles: profiles, people: parts.People, accounts: parts.Accounts}
	a.actions = map[string]action{
		"CreateUser":           a.createUser,
		"GetUser":              a.getUser,
		"ListUsers":            a.listUsers,
		"DeleteUser":           a.deleteUser,
		"CreateAccessKey":      a.createAccessKey,
		"ListAccessKeys":       a.listAccessKeys,
		"UpdateAccessKey":      a.updateAccessKey,
		"DeleteAccessKey":      a.deleteAccessKey,
		"GetAccessKeyLastUsed": a.getAccessKeyLastUsed,

		"CreatePolicy":            a.createPolicy,
		"GetPolicy":               a.getPolicy,
		"ListPolicies":            a.listPolicies,
		"DeletePolicy":            a.deletePolicy,
		"CreatePolicyVersion":     a.createPolicyVersion,
		"GetPolicyVersion":        a.getPolicyVersion,
		"ListPolicyVersions":      a.listPolicyVersions,
		"DeletePolicyVersion":     a.deletePolicyVersion,
		"SetDefaultPolicyVersion": a.setDefaultPolicyVersion,
		"ListEntitiesForPolicy":   a.listEntitiesForPolicy,

		"AttachUserPolicy":          a.attachPolicy(iamd.EntityUser),
		"DetachUserPolicy":          a.detachPolicy(iamd.EntityUser),
		"ListAttachedUserPolicies":  a.listAttachedPolicies(iamd.EntityUser),
		"PutUserPolicy":             a.putInlinePolicy(iamd.EntityUser),
		"GetUserPolicy":             a.getInlinePolicy(iamd.EntityUser),
		"DeleteUserPolicy":          a.deleteInlinePolicy(iamd.EntityUser),
		"ListUserPolicies":          a.listInlinePolicies(iamd.EntityUser),
		"AttachGroupPolicy":         a.attachPolicy(iamd.EntityGroup),
		"DetachGroupPolicy":         a.detachPolicy(iamd.EntityGroup),
		"ListAttachedGroupPolicies": a.listAttachedPolicies(iamd.EntityGroup),
		"PutGroupPolicy":            a.putInlinePolicy(iamd.EntityGroup),
		"GetGroupPolicy":            a.getInlinePolicy(iamd.EntityGroup),
		"DeleteGroupPolicy":         a.deleteInlinePolicy(iamd.EntityGroup),
		"ListGroupPolicies":         a.listInlinePolicies(iamd.EntityGroup),

		"CreateGroup":         a.createGroup,
		"GetGroup":            a.getGroup,
		"ListGroups":          a.listGroups,
		"DeleteGroup":         a.deleteGroup,
		"AddUserToGroup":      a.addUserToGroup,
		"RemoveUserFromGroup": a.removeUserFromGroup,
		"ListGroupsForUser":   a.listGroupsForUser,

		"CreateRole":                     a.createRole,
		"GetRole":                        a.getRole,
		"ListRoles":                      a.listRoles,
		"GetAccountAuthorizationDetails": a.getAccountAuthorizationDetails,
		"PutUserPermissionsBoundary":     a.putBoundary(iamd.EntityUser),
		"PutRolePermissionsBoundary":     a.putBoundary(iamd.EntityRole),
		"DeleteUserPermissionsBoundary":  a.deleteBoundary(iamd.EntityUser),
		"DeleteRolePermissionsBoundary":  a.deleteBoundary(iamd.EntityRole),
		"UpdateRole":                     a.updateRole,
		"UpdateRoleDescription":          a.updateRoleDescription,
		"UpdateAssumeRolePolicy":         a.updateAssumeRolePolicy,
		"DeleteRole":                     a.deleteRole,
		"TagRole":                        a.tagRole,
		"UntagRole":                      a.untagRole,
		"ListRoleTags":                   a.listRoleTags,
		"ListInstanceProfilesForRole":    a.listNoInstanceProfilesForRole,
		"AttachRolePolicy":               a.attachPolicy(iamd.EntityRole),
		"DetachRolePolicy":               a.detachPolicy(iamd.EntityRole),
		"ListAttachedRolePolicies":       a.listAttachedPolicies(iamd.EntityRole),
		"PutRolePolicy":                  a.putInlinePolicy(iamd.EntityRole),
		"GetRolePolicy":                  a.getInlinePolicy(iamd.EntityRole),
		"DeleteRolePolicy":               a.deleteInlinePolicy(iamd.EntityRole),
		"ListRolePolicies":               a.listInlinePolicies(iamd.EntityRole),

		"UpdateUser":     a.updateUser,
		"UpdateGroup":    a.updateGroup,
		"TagUser":        a.tagUser,
		"UntagUser":      a.untagUser,
		"ListUserTags":   a.listUserTags,
		"TagPolicy":      a.tagPolicy,
		"UntagPolicy":    a.untagPolicy,
		"ListPolicyTags": a.listPolicyTags,

		"ListSSHPublicKeys":              a.emptyList("ListSSHPublicKeys", "SSHPublicKeys", true),
		"ListMFADevices":                 a.emptyList("ListMFADevices", "MFADevices", true),
		"ListSigningCertificates":        a.emptyList("ListSigningCertificates", "Certificates", true),
		"ListServiceSpecificCredentials": a.emptyList("ListServiceSpecificCredentials", "ServiceSpecificCredentials", true),
		"ListVirtualMFADevices":          a.listVirtualMFADevices,
		"GetLoginProfile":                a.loginProfile("GetLoginProfile"),
		"DeleteLoginProfile":             a.loginProfile("DeleteLoginProfile"),

		"GenerateCredentialReport": a.generateCredentialReport,
		"GetCredentialReport":      a.getCredentialReport,
		"GetAccountSummary":        a.getAccountSummary,

		"SimulatePrincipalPolicy": a.simulatePrincipalPolicy,
		"SimulateCustomPolicy":    a.simulateCustomPolicy,
	}
	if fed != nil {
		for name, act := range map[string]action{
			"CreateOpenIDConnectProvider":             a.createOpenIDConnectProvider,
			"GetOpenIDConnectProvider":                a.getOpenIDConnectProvider,
			"ListOpenIDConnectProviders":              a.listOpenIDConnectProviders,
			"DeleteOpenIDConnectProvider":             a.deleteOpenIDConnectProvider,
			"AddClientIDToOpenIDConnectProvider":      a.clientID(true),
			"RemoveClientIDFromOpenIDConnectProvider": a.clientID(false),
			"UpdateOpenIDConnectProviderThumbprint":   a.updateOpenIDConnectProviderThumbprint,
			"TagOpenIDConnectProvider":                a.tagOpenIDConnectProvider,
			"UntagOpenIDConnectProvider":              a.untagOpenIDConnectProvider,
			"ListOpenIDConnectProviderTags":           a.listOpenIDConnectProviderTags,
		} {
			a.actions[name] = act
		}
	}
	if a.people != nil {
		for name, act := range map[string]action{
			"CreateLoginProfile":          a.createLoginProfile,
			"GetLoginProfile":             a.getLoginProfile,
			"UpdateLoginProfile":          a.updateLoginProfile,
			"DeleteLoginProfile":          a.deleteLoginProfile,
			"ChangePassword":              a.changePassword,
			"GetAccountPasswordPolicy":    a.getAccountPasswordPolicy,
			"UpdateAccountPasswordPolicy": a.updateAccountPasswordPolicy,
			"DeleteAccountPasswordPolicy": a.deleteAccountPasswordPolicy,
			"CreateVirtualMFADevice":      a.createVirtualMFADevice,
			"EnableMFADevice":             a.mfaCodes(true),
			"ResyncMFADevice":             a.mfaCodes(false),
			"DeactivateMFADevice":         a.deactivateMFADevice,
			"DeleteVirtualMFADevice":      a.deleteVirtualMFADevice,
			"ListMFADevices":              a.listMFADevices,
			"ListVirtualMFADevices":       a.listVirtualMFADevicesOf,
			"TagMFADevice":                a.tagMFADevice,
			"UntagMFADevice":              a.untagMFADevice,
			"ListMFADeviceTags":           a.listMFADeviceTags,
		} {
			a.actions[name] = act
		}
	}
	if a.accounts != nil {
		a.actions["CreateAccountAlias"] = a.createAccountAlias
		a.actions["ListAccountAliases"] = a.listAccountAliases
		a.actions["DeleteAccountAlias"] = a.deleteAccountAlias
	}
	if profiles != nil {
		for name, act := range map[string]action{
			"CreateInstanceProfile":         a.createInstanceProfile,
			"GetInstanceProfile":            a.getInstanceProfile,
			"ListInstanceProfiles":          a.listInstanceProfiles,
			"DeleteInstanceProfile":         a.deleteInstanceProfile,
			"AddRoleToInstanceProfile":      a.instanceProfileRole(true),
			"RemoveRoleFromInstanceProfile": a.instanceProfileRole(false),
			"TagInstanceProfile":            a.tagInstanceProfile,
			"UntagInstanceProfile":          a.untagInstanceProfile,
			"ListInstanceProfileTags":       a.listInstanceProfileTags,
			"ListInstanceProfilesForRole":   a.listInstanceProfilesForRole,
		} {
			a.actions[name] = act
		}
	}
	return a
}

// Do runs action for caller. The result is nil for actions with no output.
func (a *API) Do(ctx context.Context, c *iamd.Caller, action string, p awsquery.Params) (any, error) {
	fn, ok := a.actions[action]
	if !ok {
		return nil, &awsquery.Error{Status: http.StatusBadRequest, Code: "InvalidAction", Message: "Could not find operation " + clip(action) + " for version " + Version}
	}
	return fn(ctx, c, p)
}

// ---- wire shapes ----

type tag struct {
	Key   string
	Value string
}

type user struct {
	Path                string `xml:",omitempty"`
	UserName            string `xml:",omitempty"`
	UserId              string
	Arn                 string
	CreateDate          string
	PasswordLastUsed    string    `xml:",omitempty"`
	PermissionsBoundary *boundary `xml:",omitempty"`
	Tags                *tags     `xml:",omitempty"`
}

// boundary is an AttachedPermissionsBoundary.
type boundary struct {
	PermissionsBoundaryType string
	PermissionsBoundaryArn  string
}

func boundaryOf(arn string) *boundary {
	if arn == "" {
		return nil
	}
	return &boundary{PermissionsBoundaryType: "PermissionsBoundaryPolicy", PermissionsBoundaryArn: arn}
}

// tags is a wrapper so that a user without tags has no <Tags> element.
type tags struct {
	Member []tag `xml:"member"`
}

func (a *API) user(u *iamd.User, withTags bool) user {
	out := user{Path: u.Path, UserName: u.Name, UserId: u.ID, Arn: u.ARN(a.svc.Account().ID), CreateDate: awsquery.Timestamp(u.CreatedAt)}
	if u.Name == "" { // the root
		out.Arn = "arn:aws:iam::" + a.svc.Account().ID + ":root"
	}
	if withTags { // as AWS: GetUser and CreateUser show the boundary, ListUsers does not
		out.PermissionsBoundary = boundaryOf(u.Boundary)
	}
	if withTags && len(u.Tags) > 0 {
		out.Tags = &tags{}
		for _, t := range u.Tags {
			out.Tags.Member = append(out.Tags.Member, tag(t))
		}
	}
	return out
}

type accessKey struct {
	UserName        string `xml:",omitempty"`
	AccessKeyId     string
	Status          string
	SecretAccessKey string `xml:",omitempty"`
	CreateDate      string
}

type userResult struct {
	User user
}

type listUsersResult struct {
	Users       []user `xml:"Users>member"`
	IsTruncated bool
	Marker      string `xml:",omitempty"`
}

type createAccessKeyResult struct {
	AccessKey accessKey
}

type listAccessKeysResult struct {
	AccessKeyMetadata []accessKey `xml:"AccessKeyMetadata>member"`
	IsTruncated       bool
	Marker            string `xml:",omitempty"`
}

// AppendXML writes the result without reflection.
func (r createAccessKeyResult) AppendXML(buf *bytes.Buffer) {
	k := r.AccessKey
	buf.WriteString("<AccessKey>")
	if k.UserName != "" {
		awsquery.Elem(buf, "UserName", k.UserName)
	}
	awsquery.Elem(buf, "AccessKeyId", k.AccessKeyId)
	awsquery.Elem(buf, "Status", k.Status)
	awsquery.Elem(buf, "SecretAccessKey", k.SecretAccessKey)
	awsquery.Elem(buf, "CreateDate", k.CreateDate)
	buf.WriteString("</AccessKey>")
}

// AppendXML writes the result without reflection: ListAccessKeys is called
// on every key rotation check.
func (r listAccessKeysResult) AppendXML(buf *bytes.Buffer) {
	buf.WriteString("<AccessKeyMetadata>")
	for _, k := range r.AccessKeyMetadata {
		buf.WriteString("<member>")
		if k.UserName != "" {
			awsquery.Elem(buf, "UserName", k.UserName)
		}
		awsquery.Elem(buf, "AccessKeyId", k.AccessKeyId)
		awsquery.Elem(buf, "Status", k.Status)
		awsquery.Elem(buf, "CreateDate", k.CreateDate)
		buf.WriteString("</member>")
	}
	buf.WriteString("</AccessKeyMetadata>")
	if r.IsTruncated {
		buf.WriteString("<IsTruncated>true</IsTruncated>")
		awsquery.Elem(buf, "Marker", r.Marker)
	} else {
		buf.WriteString("<IsTruncated>false</IsTruncated>")
	}
}

type lastUsed struct {
	LastUsedDate string `xml:",omitempty"`
	ServiceName  string
	Region       string
}

type getAccessKeyLastUsedResult struct {
	UserName          string `xml:",omitempty"`
	AccessKeyLastUsed lastUsed
}

// ---- actions ----

func (a *API) createUser(ctx context.Context, c *iamd.Caller, p awsquery.Params) (any, error) {
	v := newValidator(p)
	name := v.userName(true, 64)
	path := v.Str("Path", false, 1, 512, rePath, `(\u002F)|(\u002F[\u0021-\u007E]+\u002F)`)
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
	u, err := a.svc.CreateUser(ctx, c, name, path, tags, opts...)
	if err != nil {
		return nil, err
	}
	return userResult{a.user(u, true)}, nil
}

func (a *API) getUser(ctx context.Context, c *iamd.Caller, p awsquery.Params) (any, error) {
	v := newValidator(p)
	name := v.userName(false, 128)
	if v.Err != nil {
		return nil, v.Err
	}
	u, err := a.svc.GetUser(ctx, c, name)
	if err != nil {
		return nil, err
	}
	out := a.user(u, true)
	if a.people != nil && u.Name != "" {
		used, err := a.people.PasswordLastUsed(ctx, u.Name)
		if err != nil {
			return nil, err
		}
		if !used.IsZero() {
			out.PasswordLastUsed = awsquery.Timestamp(used)
		}
	}
	return userResult{out}, nil
}

func (a *API) listUsers(ctx context.Context, c *iamd.Caller, p awsquery.Params) (any, error) {
	v := newValidator(p)
	prefix := v.Str("PathPrefix", false, 1, 512, rePrefix, `\u002F[\u0021-\u007F]*`)
	page := v.page()
	if v.Err != nil {
		return nil, v.Err
	}
	users, next, err := a.svc.ListUsers(ctx, c, prefix, page)
	if err != nil {
		return nil, err
	}
	out := listUsersResult{Users: make([]user, 0, len(users)), IsTruncated: next != "", Marker: next}
	for _, u := range users {
		out.Users = append(out.Users, a.user(u, false))
	}
	return out, nil
}

func (a *API) deleteUser(ctx context.Context, c *iamd.Caller, p awsquery.Params) (any, error) {
	v := newValidator(p)
	name := v.userName(true, 128)
	if v.Err != nil {
		return nil, v.Err
	}
	return nil, a.svc.DeleteUser(ctx, c, name)
}

func (a *API) createAccessKey(ctx context.Context, c *iamd.Caller, p awsquery.Params) (any, error) {
	v := newValidator(p)
	name := v.userName(false, 128)
	if v.Err != nil {
		return nil, v.Err
	}
	k, secret, err := a.svc.CreateAccessKey(ctx, c, name)
	if err != nil {
		return nil, err
	}
	return createAccessKeyResult{accessKey{
		UserName: k.Owner.Name, AccessKeyId: k.ID, Status: string(k.Status),
		SecretAccessKey: secret, CreateDate: awsquery.Timestamp(k.CreatedAt),
	}}, nil
}

func (a *API) listAccessKeys(ctx context.Context, c *iamd.Caller, p awsquery.Params) (any, error) {
	v := newValidator(p)
	name := v.userName(false, 128)
	page := v.page()
	if v.Err != nil {
		return nil, v.Err
	}
	keys, next, err := a.svc.ListAccessKeys(ctx, c, name, page)
	if err != nil {
		return nil, err
	}
	out := listAccessKeysResult{AccessKeyMetadata: make([]accessKey, 0, len(keys)), IsTruncated: next != "", Marker: next}
	for _, k := range keys {
		out.AccessKeyMetadata = append(out.AccessKeyMetadata, accessKey{
			UserName: k.Owner.Name, AccessKeyId: k.ID, Status: string(k.Status), CreateDate: awsquery.Timestamp(k.CreatedAt),
		})
	}
	return out, nil
}

func (a *API) status(v *validator) iamd.KeyStatus {
	s := v.Str("Status", true, 0, 64, nil, "")
	switch s {
	case "Active", "Inactive":
		return iamd.KeyStatus(s)
	case "Expired":
		if v.Err == nil {
			v.Err = iamd.Errorf(iamd.InvalidInput, "Status Expired cannot be set; use Active or Inactive.")
		}
	default:
		if v.Err == nil {
			v.Fail("Value '%s' at 'status' failed to satisfy constraint: Member must satisfy enum value set: [Active, Inactive, Expired]", clip(s))
		}
	}
	return ""
}

func (a *API) updateAccessKey(ctx context.Context, c *iamd.Caller, p awsquery.Params) (any, error) {
	v := newValidator(p)
	name := v.userName(false, 128)
	id := v.accessKeyID()
	status := a.status(&v)
	if v.Err != nil {
		return nil, v.Err
	}
	return nil, a.svc.UpdateAccessKey(ctx, c, name, id, status)
}

func (a *API) deleteAccessKey(ctx context.Context, c *iamd.Caller, p awsquery.Params) (any, error) {
	v := newValidator(p)
	name := v.userName(false, 128)
	id := v.accessKeyID()
	if v.Err != nil {
		return nil, v.Err
	}
	return nil, a.svc.DeleteAccessKey(ctx, c, name, id)
}

func (a *API) getAccessKeyLastUsed(ctx context.Context, c *iamd.Caller, p awsquery.Params) (any, error) {
	v := newValidator(p)
	id := v.accessKeyID()
	if v.Err != nil {
		return nil, v.Err
	}
	owner, lu, err := a.svc.GetAccessKeyLastUsed(ctx, c, id)
	if err != nil {
		return nil, err
	}
	out := getAccessKeyLastUsedResult{UserName: owner.Name, AccessKeyLastUsed: lastUsed{ServiceName: "N/A", Region: "N/A"}}
	if !lu.At.IsZero() {
		out.AccessKeyLastUsed = lastUsed{LastUsedDate: awsquery.Timestamp(lu.At), ServiceName: lu.Service, Region: lu.Region}
	}
	return out, nil
}

// Actions lists the actions served.
func (a *API) Actions() []string {
	out := make([]string, 0, len(a.actions))
	for k := range a.actions {
		out = append(out, k)
	}
	return out
}
