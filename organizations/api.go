package organizations

import (
	"context"
	"encoding/base64"
	"errors"
	"net/http"
	"strconv"

	"iamd"
	"iamd/awsjson"
)

// TargetPrefix names Organizations' operations in X-Amz-Target.
const TargetPrefix = "AWSOrganizationsV20161128"

// SigningName is the service name in Organizations' signatures.
const SigningName = "organizations"

// API is Organizations' operations over JSON 1.1.
type API struct {
	g       *Organizations
	actions map[string]func(ctx context.Context, c *iamd.Caller, body []byte) (any, error)
}

// NewAPI returns the JSON door of g.
func NewAPI(g *Organizations) *API {
	a := &API{g: g}
	a.actions = map[string]func(context.Context, *iamd.Caller, []byte) (any, error){
		"CreateOrganization":    a.createOrganization,
		"DescribeOrganization":  a.describeOrganization,
		"DeleteOrganization":    a.deleteOrganization,
		"ListRoots":             a.listRoots,
		"ListAccounts":          a.listAccounts,
		"DescribeAccount":       a.describeAccount,
		"EnablePolicyType":      a.enablePolicyType,
		"DisablePolicyType":     a.disablePolicyType,
		"CreatePolicy":          a.createPolicy,
		"DescribePolicy":        a.describePolicy,
		"UpdatePolicy":          a.updatePolicy,
		"DeletePolicy":          a.deletePolicy,
		"ListPolicies":          a.listPolicies,
		"AttachPolicy":          a.attachPolicy,
		"DetachPolicy":          a.detachPolicy,
		"ListPoliciesForTarget": a.listPoliciesForTarget,
		"ListTargetsForPolicy":  a.listTargetsForPolicy,

		"ListAWSServiceAccessForOrganization": a.listServiceAccess,
		"TagResource":                         a.tagResource,
		"UntagResource":                       a.untagResource,
		"ListTagsForResource":                 a.listTagsForResource,
		"CreateAccount":                       a.createAccount,
		"DescribeCreateAccountStatus":         a.describeCreateAccountStatus,
		"ListCreateAccountStatus":             a.listCreateAccountStatus,
		"CloseAccount":                        a.closeAccount,
		"ListParents":                         a.listParents,
	}
	return a
}

// Actions lists the operations served.
func (a *API) Actions() []string {
	out := make([]string, 0, len(a.actions))
	for k := range a.actions {
		out = append(out, k)
	}
	return out
}

// Do runs operation for c with the raw JSON body.
func (a *API) Do(ctx context.Context, c *iamd.Caller, operation string, body []byte) (any, error) {
	fn, ok := a.actions[operation]
	if !ok {
		return nil, &awsjson.Error{Status: http.StatusBadRequest, Type: "UnknownOperationException", Message: "Organizations has no operation " + clip(operation) + " here."}
	}
	return fn(ctx, c, body)
}

func clip(s string) string {
	if len(s) > 64 {
		return s[:64] + "…"
	}
	return s
}

// ErrorResponse returns the HTTP status and envelope for err; unknown
// failures become ServiceException without detail.
func ErrorResponse(err error) (int, awsjson.ErrorBody) {
	var je *awsjson.Error
	var oe *Error
	switch {
	case errors.As(err, &je):
		return je.Status, awsjson.ErrorBody{Type: je.Type, Message: je.Message}
	case errors.As(err, &oe):
		return http.StatusBadRequest, awsjson.ErrorBody{Type: oe.Type, Message: oe.Message, Reason: oe.Reason}
	}
	switch iamd.KindOf(err) {
	case iamd.AccessDenied:
		return http.StatusBadRequest, awsjson.ErrorBody{Type: "AccessDeniedException", Message: iamd.MessageOf(err)}
	case iamd.Invalid, iamd.InvalidInput:
		return http.StatusBadRequest, awsjson.ErrorBody{Type: "InvalidInputException", Message: iamd.MessageOf(err)}
	case iamd.Unavailable:
		return http.StatusServiceUnavailable, awsjson.ErrorBody{Type: "ServiceException", Message: "AWS Organizations can't complete your request because of an internal service error. Try again later."}
	}
	return http.StatusInternalServerError, awsjson.ErrorBody{Type: "ServiceException",
		Message: "AWS Organizations can't complete your request because of an internal service error. Try again later."}
}

// ---- wire shapes ----

type organization struct {
	Id, Arn, FeatureSet, MasterAccountArn, MasterAccountId, MasterAccountEmail string
	AvailablePolicyTypes                                                       []policyType
}

type policyType struct{ Type, Status string }

type root struct {
	Id, Arn, Name string
	PolicyTypes   []policyType
}

type policySummary struct {
	Id, Arn, Name, Description, Type string
	AwsManaged                       bool
}

type policyOut struct {
	PolicySummary policySummary
	Content       string
}

type account struct {
	Id, Arn, Email, Name, Status, State, JoinedMethod string
	JoinedTimestamp                                   awsjson.Time
}

type target struct{ TargetId, Arn, Name, Type string }

type tag struct{ Key, Value string }

func tagsIn(in []tag) []iamd.Tag {
	out := make([]iamd.Tag, len(in))
	for i, t := range in {
		out[i] = iamd.Tag{Key: t.Key, Value: t.Value}
	}
	return out
}

func (a *API) organization(o *Org) organization {
	acct := a.g.account()
	return organization{Id: o.ID, Arn: o.ARN(acct), FeatureSet: o.FeatureSet, MasterAccountId: acct,
		MasterAccountArn: o.AccountARN(acct, acct), AvailablePolicyTypes: []policyType{}}
}

func (a *API) root(o *Org) root {
	r := root{Id: o.RootID, Arn: o.RootARN(a.g.account()), Name: "Root", PolicyTypes: []policyType{}}
	for _, t := range o.PolicyTypes {
		r.PolicyTypes = append(r.PolicyTypes, policyType{Type: t, Status: "ENABLED"})
	}
	return r
}

func (a *API) summary(o *Org, p *Policy) policySummary {
	return policySummary{Id: p.ID, Arn: o.PolicyARN(a.g.account(), p), Name: p.Name, Description: p.Description, Type: p.Type, AwsManaged: p.AWSManaged}
}

func (a *API) policy(o *Org, p *Policy) any {
	return struct{ Policy policyOut }{policyOut{a.summary(o, p), p.Content}}
}

// accountOut is an account on the wire. The management account joined
// its own organization by creating it, which AWS reports as INVITED; a
// closed account is SUSPENDED while AWS keeps it.
func accountOut(ac Account) account {
	out := account{Id: ac.ID, Arn: ac.ARN, Name: ac.Name, Email: ac.Email, Status: "ACTIVE", State: "ACTIVE", JoinedMethod: "INVITED", JoinedTimestamp: awsjson.Time(ac.JoinedAt)}
	if ac.Created {
		out.JoinedMethod = "CREATED"
	}
	if ac.Closed {
		out.Status, out.State = "SUSPENDED", "SUSPENDED"
	}
	return out
}

// page returns the part of items a NextToken and MaxResults select, and
// the token of the next part ("" on the last).
func page[T any](items []T, token string, max int) ([]T, string, error) {
	start := 0
	if token != "" {
		b, err := base64.RawURLEncoding.DecodeString(token)
		n, perr := strconv.Atoi(string(b))
		if err != nil || perr != nil || n < 0 || n > len(items) {
			return nil, "", invalid("INVALID_NEXT_TOKEN", "You specified an invalid value for nextToken. You must get the value from the response to a previous call to the API.")
		}
		start = n
	}
	switch {
	case max == 0:
		max = 20
	case max < 1:
		return nil, "", invalid("MIN_VALUE_EXCEEDED", "You provided a numeric parameter that has a smaller value than allowed.")
	case max > 20:
		return nil, "", invalid("MAX_VALUE_EXCEEDED", "You provided a numeric parameter that has a larger value than allowed.")
	}
	end := min(start+max, len(items))
	next := ""
	if end < len(items) {
		next = base64.RawURLEncoding.EncodeToString([]byte(strconv.Itoa(end)))
	}
	return items[start:end], next, nil
}

type pageIn struct {
	NextToken  string
	MaxResults int
}

// required refuses a missing member, as AWS's validation does.
func required(name, v string) error {
	if v == "" {
		return invalid("INPUT_REQUIRED", "You must specify a value for "+name+".")
	}
	return nil
}

// ---- operations ----

func (a *API) createOrganization(ctx context.Context, c *iamd.Caller, body []byte) (any, error) {
	var in struct{ FeatureSet string }
	if err := awsjson.Decode(body, &in); err != nil {
		return nil, err
	}
	o, err := a.g.Create(ctx, c, in.FeatureSet)
	if err != nil {
		return nil, err
	}
	return struct{ Organization organization }{a.organization(o)}, nil
}

func (a *API) describeOrganization(ctx context.Context, c *iamd.Caller, body []byte) (any, error) {
	o, err := a.g.Describe(ctx, c, "DescribeOrganization")
	if err != nil {
		return nil, err
	}
	return struct{ Organization organization }{a.organization(o)}, nil
}

func (a *API) deleteOrganization(ctx context.Context, c *iamd.Caller, body []byte) (any, error) {
	return struct{}{}, a.g.Delete(ctx, c)
}

func (a *API) listRoots(ctx context.Context, c *iamd.Caller, body []byte) (any, error) {
	var in pageIn
	if err := awsjson.Decode(body, &in); err != nil {
		return nil, err
	}
	o, err := a.g.Describe(ctx, c, "ListRoots")
	if err != nil {
		return nil, err
	}
	roots, next, err := page([]root{a.root(o)}, in.NextToken, in.MaxResults)
	if err != nil {
		return nil, err
	}
	return struct {
		Roots     []root
		NextToken string `json:",omitempty"`
	}{roots, next}, nil
}

func (a *API) listAccounts(ctx context.Context, c *iamd.Caller, body []byte) (any, error) {
	var in pageIn
	if err := awsjson.Decode(body, &in); err != nil {
		return nil, err
	}
	accts, err := a.g.Accounts(ctx, c)
	if err != nil {
		return nil, err
	}
	part, next, err := page(accts, in.NextToken, in.MaxResults)
	if err != nil {
		return nil, err
	}
	out := make([]account, len(part))
	for i, ac := range part {
		out[i] = accountOut(ac)
	}
	return struct {
		Accounts  []account
		NextToken string `json:",omitempty"`
	}{out, next}, nil
}

func (a *API) describeAccount(ctx context.Context, c *iamd.Caller, body []byte) (any, error) {
	var in struct{ AccountId string }
	if err := awsjson.Decode(body, &in); err != nil {
		return nil, err
	}
	if err := required("AccountId", in.AccountId); err != nil {
		return nil, err
	}
	ac, err := a.g.Account(ctx, c, in.AccountId)
	if err != nil {
		return nil, err
	}
	return struct{ Account account }{accountOut(ac)}, nil
}

func (a *API) setPolicyType(ctx context.Context, c *iamd.Caller, body []byte, enable bool) (any, error) {
	var in struct{ RootId, PolicyType string }
	if err := awsjson.Decode(body, &in); err != nil {
		return nil, err
	}
	if err := errors.Join(required("RootId", in.RootId), required("PolicyType", in.PolicyType)); err != nil {
		return nil, err
	}
	o, err := a.g.SetPolicyType(ctx, c, in.RootId, in.PolicyType, enable)
	if err != nil {
		return nil, err
	}
	return struct{ Root root }{a.root(o)}, nil
}

func (a *API) enablePolicyType(ctx context.Context, c *iamd.Caller, body []byte) (any, error) {
	return a.setPolicyType(ctx, c, body, true)
}

func (a *API) disablePolicyType(ctx context.Context, c *iamd.Caller, body []byte) (any, error) {
	return a.setPolicyType(ctx, c, body, false)
}

func (a *API) createPolicy(ctx context.Context, c *iamd.Caller, body []byte) (any, error) {
	var in struct {
		Content, Description, Name, Type string
		Tags                             []tag
	}
	if err := awsjson.Decode(body, &in); err != nil {
		return nil, err
	}
	if err := errors.Join(required("Content", in.Content), required("Name", in.Name), required("Type", in.Type)); err != nil {
		return nil, err
	}
	o, p, err := a.g.CreatePolicy(ctx, c, in.Name, in.Description, in.Type, in.Content, tagsIn(in.Tags))
	if err != nil {
		return nil, err
	}
	return a.policy(o, p), nil
}

func (a *API) describePolicy(ctx context.Context, c *iamd.Caller, body []byte) (any, error) {
	var in struct{ PolicyId string }
	if err := awsjson.Decode(body, &in); err != nil {
		return nil, err
	}
	if err := required("PolicyId", in.PolicyId); err != nil {
		return nil, err
	}
	o, p, err := a.g.Policy(ctx, c, in.PolicyId)
	if err != nil {
		return nil, err
	}
	return a.policy(o, p), nil
}

func (a *API) updatePolicy(ctx context.Context, c *iamd.Caller, body []byte) (any, error) {
	var in struct {
		PolicyId                   string
		Name, Description, Content *string
	}
	if err := awsjson.Decode(body, &in); err != nil {
		return nil, err
	}
	if err := required("PolicyId", in.PolicyId); err != nil {
		return nil, err
	}
	o, p, err := a.g.UpdatePolicy(ctx, c, in.PolicyId, in.Name, in.Description, in.Content)
	if err != nil {
		return nil, err
	}
	return a.policy(o, p), nil
}

func (a *API) deletePolicy(ctx context.Context, c *iamd.Caller, body []byte) (any, error) {
	var in struct{ PolicyId string }
	if err := awsjson.Decode(body, &in); err != nil {
		return nil, err
	}
	if err := required("PolicyId", in.PolicyId); err != nil {
		return nil, err
	}
	return struct{}{}, a.g.DeletePolicy(ctx, c, in.PolicyId)
}

func (a *API) listPolicies(ctx context.Context, c *iamd.Caller, body []byte) (any, error) {
	var in struct {
		Filter string
		pageIn
	}
	if err := awsjson.Decode(body, &in); err != nil {
		return nil, err
	}
	if err := required("Filter", in.Filter); err != nil {
		return nil, err
	}
	o, ps, err := a.g.ListPolicies(ctx, c, in.Filter)
	if err != nil {
		return nil, err
	}
	return a.summaries(o, ps, in.pageIn)
}

func (a *API) summaries(o *Org, ps []*Policy, in pageIn) (any, error) {
	part, next, err := page(ps, in.NextToken, in.MaxResults)
	if err != nil {
		return nil, err
	}
	out := make([]policySummary, len(part))
	for i, p := range part {
		out[i] = a.summary(o, p)
	}
	return struct {
		Policies  []policySummary
		NextToken string `json:",omitempty"`
	}{out, next}, nil
}

func (a *API) attach(ctx context.Context, c *iamd.Caller, body []byte, attach bool) (any, error) {
	var in struct{ PolicyId, TargetId string }
	if err := awsjson.Decode(body, &in); err != nil {
		return nil, err
	}
	if err := errors.Join(required("PolicyId", in.PolicyId), required("TargetId", in.TargetId)); err != nil {
		return nil, err
	}
	return struct{}{}, a.g.Attach(ctx, c, in.PolicyId, in.TargetId, attach)
}

func (a *API) attachPolicy(ctx context.Context, c *iamd.Caller, body []byte) (any, error) {
	return a.attach(ctx, c, body, true)
}

func (a *API) detachPolicy(ctx context.Context, c *iamd.Caller, body []byte) (any, error) {
	return a.attach(ctx, c, body, false)
}

func (a *API) listPoliciesForTarget(ctx context.Context, c *iamd.Caller, body []byte) (any, error) {
	var in struct {
		TargetId, Filter string
		pageIn
	}
	if err := awsjson.Decode(body, &in); err != nil {
		return nil, err
	}
	if err := errors.Join(required("TargetId", in.TargetId), required("Filter", in.Filter)); err != nil {
		return nil, err
	}
	o, ps, err := a.g.PoliciesFor(ctx, c, in.TargetId, in.Filter)
	if err != nil {
		return nil, err
	}
	return a.summaries(o, ps, in.pageIn)
}

func (a *API) listTargetsForPolicy(ctx context.Context, c *iamd.Caller, body []byte) (any, error) {
	var in struct {
		PolicyId string
		pageIn
	}
	if err := awsjson.Decode(body, &in); err != nil {
		return nil, err
	}
	if err := required("PolicyId", in.PolicyId); err != nil {
		return nil, err
	}
	ts, err := a.g.TargetsFor(ctx, c, in.PolicyId)
	if err != nil {
		return nil, err
	}
	part, next, err := page(ts, in.NextToken, in.MaxResults)
	if err != nil {
		return nil, err
	}
	out := make([]target, len(part))
	for i, t := range part {
		out[i] = target{TargetId: t.ID, Arn: t.ARN, Name: t.Name, Type: t.Type}
	}
	return struct {
		Targets   []target
		NextToken string `json:",omitempty"`
	}{out, next}, nil
}

// listServiceAccess lists the AWS services trusted with the organization:
// none, as there are none here to trust.
func (a *API) listServiceAccess(ctx context.Context, c *iamd.Caller, body []byte) (any, error) {
	var in pageIn
	if err := awsjson.Decode(body, &in); err != nil {
		return nil, err
	}
	if _, err := a.g.Describe(ctx, c, "ListAWSServiceAccessForOrganization"); err != nil {
		return nil, err
	}
	if _, _, err := page([]struct{}{}, in.NextToken, in.MaxResults); err != nil {
		return nil, err
	}
	return struct{ EnabledServicePrincipals []struct{} }{[]struct{}{}}, nil
}

func (a *API) tagResource(ctx context.Context, c *iamd.Caller, body []byte) (any, error) {
	var in struct {
		ResourceId string
		Tags       []tag
	}
	if err := awsjson.Decode(body, &in); err != nil {
		return nil, err
	}
	if err := required("ResourceId", in.ResourceId); err != nil {
		return nil, err
	}
	if in.Tags == nil {
		return nil, invalid("INPUT_REQUIRED", "You must specify a value for Tags.")
	}
	return struct{}{}, a.g.Tag(ctx, c, in.ResourceId, tagsIn(in.Tags), nil)
}

func (a *API) untagResource(ctx context.Context, c *iamd.Caller, body []byte) (any, error) {
	var in struct {
		ResourceId string
		TagKeys    []string
	}
	if err := awsjson.Decode(body, &in); err != nil {
		return nil, err
	}
	if err := required("ResourceId", in.ResourceId); err != nil {
		return nil, err
	}
	if in.TagKeys == nil {
		return nil, invalid("INPUT_REQUIRED", "You must specify a value for TagKeys.")
	}
	return struct{}{}, a.g.Tag(ctx, c, in.ResourceId, nil, in.TagKeys)
}

func (a *API) listTagsForResource(ctx context.Context, c *iamd.Caller, body []byte) (any, error) {
	var in struct {
		ResourceId, NextToken string
	}
	if err := awsjson.Decode(body, &in); err != nil {
		return nil, err
	}
	if err := required("ResourceId", in.ResourceId); err != nil {
		return nil, err
	}
	tags, err := a.g.Tags(ctx, c, in.ResourceId)
	if err != nil {
		return nil, err
	}
	part, next, err := page(tags, in.NextToken, 20)
	if err != nil {
		return nil, err
	}
	out := make([]tag, len(part))
	for i, t := range part {
		out[i] = tag{t.Key, t.Value}
	}
	return struct {
		Tags      []tag
		NextToken string `json:",omitempty"`
	}{out, next}, nil
}

// ---- accounts ----

type createStatus struct {
	Id, AccountName, State                 string
	RequestedTimestamp, CompletedTimestamp awsjson.Time
	AccountId                              string `json:",omitempty"`
	FailureReason                          string `json:",omitempty"`
}

func statusOut(r *CreateRequest) createStatus {
	return createStatus{Id: r.ID, AccountName: r.AccountName, State: r.State, RequestedTimestamp: awsjson.Time(r.Requested),
		CompletedTimestamp: awsjson.Time(r.Completed), AccountId: r.AccountID, FailureReason: r.Failure}
}

func (a *API) createAccount(ctx context.Context, c *iamd.Caller, body []byte) (any, error) {
	var in struct {
		Email, AccountName, RoleName, IamUserAccessToBilling string
		Tags                                                 []tag
	}
	if err := awsjson.Decode(body, &in); err != nil {
		return nil, err
	}
	if err := required("Email", in.Email); err != nil {
		return nil, err
	}
	if err := required("AccountName", in.AccountName); err != nil {
		return nil, err
	}
	r, err := a.g.CreateAccount(ctx, c, in.Email, in.AccountName, in.RoleName, tagsIn(in.Tags))
	if err != nil {
		return nil, err
	}
	return struct{ CreateAccountStatus createStatus }{statusOut(r)}, nil
}

func (a *API) describeCreateAccountStatus(ctx context.Context, c *iamd.Caller, body []byte) (any, error) {
	var in struct{ CreateAccountRequestId string }
	if err := awsjson.Decode(body, &in); err != nil {
		return nil, err
	}
	if err := required("CreateAccountRequestId", in.CreateAccountRequestId); err != nil {
		return nil, err
	}
	r, err := a.g.CreateStatus(ctx, c, in.CreateAccountRequestId)
	if err != nil {
		return nil, err
	}
	return struct{ CreateAccountStatus createStatus }{statusOut(r)}, nil
}

func (a *API) listCreateAccountStatus(ctx context.Context, c *iamd.Caller, body []byte) (any, error) {
	var in struct {
		States []string
		pageIn
	}
	if err := awsjson.Decode(body, &in); err != nil {
		return nil, err
	}
	rs, err := a.g.CreateStatuses(ctx, c, in.States)
	if err != nil {
		return nil, err
	}
	part, next, err := page(rs, in.NextToken, in.MaxResults)
	if err != nil {
		return nil, err
	}
	out := make([]createStatus, len(part))
	for i, r := range part {
		out[i] = statusOut(r)
	}
	return struct {
		CreateAccountStatuses []createStatus
		NextToken             string `json:",omitempty"`
	}{out, next}, nil
}

func (a *API) closeAccount(ctx context.Context, c *iamd.Caller, body []byte) (any, error) {
	var in struct{ AccountId string }
	if err := awsjson.Decode(body, &in); err != nil {
		return nil, err
	}
	if err := required("AccountId", in.AccountId); err != nil {
		return nil, err
	}
	return struct{}{}, a.g.CloseAccount(ctx, c, in.AccountId)
}

func (a *API) listParents(ctx context.Context, c *iamd.Caller, body []byte) (any, error) {
	var in struct {
		ChildId string
		pageIn
	}
	if err := awsjson.Decode(body, &in); err != nil {
		return nil, err
	}
	if err := required("ChildId", in.ChildId); err != nil {
		return nil, err
	}
	o, err := a.g.Parent(ctx, c, in.ChildId)
	if err != nil {
		return nil, err
	}
	type parent struct{ Id, Type string }
	part, next, err := page([]parent{{o.RootID, "ROOT"}}, in.NextToken, in.MaxResults)
	if err != nil {
		return nil, err
	}
	return struct {
		Parents   []parent
		NextToken string `json:",omitempty"`
	}{part, next}, nil
}
