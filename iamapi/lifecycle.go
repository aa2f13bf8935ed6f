package iamapi

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"net/http"
	"sort"
	"strconv"

	"iamd"
	"iamd/awsquery"
)

func (v *validator) newName(param string) *string {
	if _, ok := v.P[param]; !ok {
		return nil
	}
	s := v.Str(param, true, 1, 64, reName, `[\w+=,.@-]+`)
	return &s
}

func (v *validator) newPath() *string {
	if _, ok := v.P["NewPath"]; !ok {
		return nil
	}
	s := v.Str("NewPath", true, 1, 512, rePath, `(\u002F)|(\u002F[\u0021-\u007F]+\u002F)`)
	return &s
}

// tagKeys reads TagKeys.member.N.
func (v *validator) tagKeys() []string { return v.TagKeys(maxTags) }

func (v *validator) requiredTags() []iamd.Tag {
	t := v.tags()
	if len(t) == 0 {
		v.Fail("Value null at 'tags' failed to satisfy constraint: Member must not be null")
	}
	return t
}

// pagedTags is a List…Tags answer: page's share of ts (in the order the
// store keeps them), with AWS's IsTruncated and an opaque Marker.
func pagedTags(ts []iamd.Tag, page iamd.Page) (any, error) {
	from := 0
	if page.Marker != "" {
		n, err := strconv.Atoi(page.Marker)
		if err != nil || n < 0 || n > len(ts) {
			return nil, iamd.Errorf(iamd.InvalidInput, "Invalid Marker.")
		}
		from = n
	}
	out := listTagsResult{Tags: []tag{}}
	to := min(len(ts), from+page.MaxItems)
	for _, t := range ts[from:to] {
		out.Tags = append(out.Tags, tag(t))
	}
	if to < len(ts) {
		out.IsTruncated, out.Marker = true, strconv.Itoa(to)
	}
	return out, nil
}

func (a *API) updateUser(ctx context.Context, c *iamd.Caller, p awsquery.Params) (any, error) {
	v := newValidator(p)
	name := v.userName(true, 128)
	newName, newPath := v.newName("NewUserName"), v.newPath()
	if v.Err != nil {
		return nil, v.Err
	}
	return nil, a.svc.UpdateUser(ctx, c, name, newName, newPath)
}

func (a *API) updateGroup(ctx context.Context, c *iamd.Caller, p awsquery.Params) (any, error) {
	v := newValidator(p)
	name := v.groupName()
	newName, newPath := v.newName("NewGroupName"), v.newPath()
	if v.Err != nil {
		return nil, v.Err
	}
	return nil, a.svc.UpdateGroup(ctx, c, name, newName, newPath)
}

func (a *API) tagUser(ctx context.Context, c *iamd.Caller, p awsquery.Params) (any, error) {
	v := newValidator(p)
	name := v.userName(true, 128)
	tags := v.requiredTags()
	if v.Err != nil {
		return nil, v.Err
	}
	return nil, a.svc.TagUser(ctx, c, name, tags)
}

func (a *API) untagUser(ctx context.Context, c *iamd.Caller, p awsquery.Params) (any, error) {
	v := newValidator(p)
	name := v.userName(true, 128)
	keys := v.tagKeys()
	if v.Err != nil {
		return nil, v.Err
	}
	return nil, a.svc.UntagUser(ctx, c, name, keys)
}

func (a *API) listUserTags(ctx context.Context, c *iamd.Caller, p awsquery.Params) (any, error) {
	v := newValidator(p)
	name := v.userName(true, 128)
	page := v.page()
	if v.Err != nil {
		return nil, v.Err
	}
	ts, err := a.svc.ListUserTags(ctx, c, name)
	if err != nil {
		return nil, err
	}
	return pagedTags(ts, page)
}

func (a *API) tagPolicy(ctx context.Context, c *iamd.Caller, p awsquery.Params) (any, error) {
	v := newValidator(p)
	arn := v.policyARN()
	tags := v.requiredTags()
	if v.Err != nil {
		return nil, v.Err
	}
	return nil, a.svc.TagPolicy(ctx, c, arn, tags)
}

func (a *API) untagPolicy(ctx context.Context, c *iamd.Caller, p awsquery.Params) (any, error) {
	v := newValidator(p)
	arn := v.policyARN()
	keys := v.tagKeys()
	if v.Err != nil {
		return nil, v.Err
	}
	return nil, a.svc.UntagPolicy(ctx, c, arn, keys)
}

func (a *API) listPolicyTags(ctx context.Context, c *iamd.Caller, p awsquery.Params) (any, error) {
	v := newValidator(p)
	arn := v.policyARN()
	page := v.page()
	if v.Err != nil {
		return nil, v.Err
	}
	ts, err := a.svc.ListPolicyTags(ctx, c, arn)
	if err != nil {
		return nil, err
	}
	return pagedTags(ts, page)
}

// ---- credentials iamd does not have: honest empty answers ----

// emptyList answers a listing of credentials iamd never holds (SSH
// public keys, MFA devices, signing certificates, service-specific
// credentials) for an existing user: an empty list, authorized as action.
func (a *API) emptyList(action, member string, needsUser bool) action {
	return func(ctx context.Context, c *iamd.Caller, p awsquery.Params) (any, error) {
		v := newValidator(p)
		name := v.userName(false, 128)
		v.page()
		if v.Err != nil {
			return nil, v.Err
		}
		if err := a.svc.CheckUserAction(ctx, c, "iam:"+action, name, needsUser); err != nil {
			return nil, err
		}
		return emptyListResult{member: member}, nil
	}
}

// emptyListResult is <Member></Member><IsTruncated>false</IsTruncated>.
type emptyListResult struct{ member string }

func (r emptyListResult) AppendXML(buf *bytes.Buffer) {
	buf.WriteString("<" + r.member + "></" + r.member + "><IsTruncated>false</IsTruncated>")
}

// loginProfile: iamd has no passwords, so no user has a login profile.
func (a *API) loginProfile(action string) action {
	return func(ctx context.Context, c *iamd.Caller, p awsquery.Params) (any, error) {
		v := newValidator(p)
		name := v.userName(false, 128)
		if v.Err != nil {
			return nil, v.Err
		}
		if err := a.svc.CheckUserAction(ctx, c, "iam:"+action, name, true); err != nil {
			return nil, err
		}
		shown := name
		if shown == "" && c.User != nil {
			shown = c.User.Name
		}
		return nil, iamd.Errorf(iamd.NotFound, "Login Profile for User %s cannot be found.", shown)
	}
}

// ---- the credential report and the account summary ----

type generateReportResult struct {
	State       string
	Description string `xml:",omitempty"`
}

type getReportResult struct {
	Content       string
	ReportFormat  string
	GeneratedTime string
}

type summaryEntry struct {
	Key   string `xml:"key"`
	Value int    `xml:"value"`
}

type accountSummaryResult struct {
	SummaryMap []summaryEntry `xml:"SummaryMap>entry"`
}

func (a *API) generateCredentialReport(ctx context.Context, c *iamd.Caller, p awsquery.Params) (any, error) {
	state, err := a.svc.GenerateCredentialReport(ctx, c)
	if err != nil {
		return nil, err
	}
	out := generateReportResult{State: state}
	if state == iamd.ReportStarted {
		out.Description = "No report exists. Starting a new report generation task"
	}
	return out, nil
}

func (a *API) getCredentialReport(ctx context.Context, c *iamd.Caller, p awsquery.Params) (any, error) {
	r, err := a.svc.GetCredentialReport(ctx, c)
	switch {
	case errors.Is(err, iamd.ErrNoReport):
		return nil, &awsquery.Error{Status: http.StatusGone, Code: "ReportNotPresent", Message: "Credential report not present. To generate a report, use GenerateCredentialReport."}
	case errors.Is(err, iamd.ErrReportInProgress):
		return nil, &awsquery.Error{Status: http.StatusNotFound, Code: "ReportInProgress", Message: iamd.MessageOf(err)}
	case errors.Is(err, iamd.ErrReportExpired):
		return nil, &awsquery.Error{Status: http.StatusGone, Code: "ReportExpired", Message: iamd.MessageOf(err)}
	case err != nil:
		return nil, err
	}
	return getReportResult{Content: base64.StdEncoding.EncodeToString(r.Content), ReportFormat: "text/csv", GeneratedTime: awsquery.Timestamp(r.GeneratedAt)}, nil
}

func (a *API) getAccountSummary(ctx context.Context, c *iamd.Caller, p awsquery.Params) (any, error) {
	m, err := a.svc.AccountSummary(ctx, c)
	if err != nil {
		return nil, err
	}
	out := accountSummaryResult{}
	for k, v := range m {
		out.SummaryMap = append(out.SummaryMap, summaryEntry{k, v})
	}
	sort.Slice(out.SummaryMap, func(i, j int) bool { return out.SummaryMap[i].Key < out.SummaryMap[j].Key })
	return out, nil
}

// listVirtualMFADevices: the account has none.
func (a *API) listVirtualMFADevices(ctx context.Context, c *iamd.Caller, p awsquery.Params) (any, error) {
	v := newValidator(p)
	switch s := v.P["AssignmentStatus"]; s {
	case "", "Assigned", "Unassigned", "Any":
	default:
		v.Fail("Value '%s' at 'assignmentStatus' failed to satisfy constraint: Member must satisfy enum value set: [Unassigned, Any, Assigned]", clip(s))
	}
	v.page()
	if v.Err != nil {
		return nil, v.Err
	}
	if err := a.svc.Authorize(ctx, c, "iam:ListVirtualMFADevices", "*"); err != nil {
		return nil, err
	}
	return emptyListResult{member: "VirtualMFADevices"}, nil
}
