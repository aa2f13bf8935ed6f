// Package stsapi serves STS's identity actions over the Query protocol.
package stsapi

import (
	"bytes"
	"context"
	"errors"
	"net/http"
	"regexp"

	"iamd"
	"iamd/awsquery"
	"iamd/federation"
	"iamd/people"
)

// Version is the STS API version.
const Version = "2011-06-15"

// API is STS's action table bound to a Service.
type API struct {
	svc    *iamd.Service
	fed    *federation.Federation // AssumeRoleWithWebIdentity; nil: not served
	people *people.People         // MFA codes; nil: refused
	roles  iamd.Accounts          // other accounts' roles; nil: none
}

// New returns the STS API for svc, with AssumeRoleWithWebIdentity when
// fed is set.
func New(svc *iamd.Service, fed *federation.Federation, ppl *people.People) *API {
	return &API{svc: svc, fed: fed, people: ppl}
}

// WithRoles has AssumeRole assume roles of the other accounts of the
// deployment (nil: none), and returns a.
func (a *API) WithRoles(roles iamd.Accounts) *API {
	a.roles = roles
	return a
}

type getCallerIdentityResult struct {
	UserId  string
	Account string
	Arn     string
}

// AppendXML writes the result without reflection: it is iamd's hottest answer.
func (r getCallerIdentityResult) AppendXML(buf *bytes.Buffer) {
	awsquery.Elem(buf, "UserId", r.UserId)
	awsquery.Elem(buf, "Account", r.Account)
	awsquery.Elem(buf, "Arn", r.Arn)
}

type getAccessKeyInfoResult struct {
	Account string
}

var reKeyID = regexp.MustCompile(`^\w{16,128}$`)

// Do runs action for caller. Every authenticated caller may use STS.
func (a *API) Do(ctx context.Context, c *iamd.Caller, action string, p awsquery.Params) (any, error) {
	switch action {
	case "GetCallerIdentity":
		return getCallerIdentityResult{UserId: c.UserID(), Account: c.Account, Arn: c.ARN()}, nil
	case "GetAccessKeyInfo":
		id, ok := p["AccessKeyId"]
		if !ok {
			return nil, iamd.Errorf(iamd.Invalid, "Value null at 'accessKeyId' failed to satisfy constraint: Member must not be null")
		}
		if !reKeyID.MatchString(id) {
			return nil, iamd.Errorf(iamd.Invalid, "Value '%s' at 'accessKeyId' failed to satisfy constraint: Member must have length between 16 and 128 and satisfy regular expression pattern: [\\w]*", clip(id))
		}
		acct, err := a.svc.AccessKeyAccount(ctx, c, id)
		if err != nil {
			return nil, err
		}
		return getAccessKeyInfoResult{Account: acct}, nil
	case "GetSessionToken":
		return a.getSessionToken(ctx, c, p)
	case "AssumeRole":
		return a.assumeRole(ctx, c, p)
	case "AssumeRoleWithWebIdentity":
		// Served unsigned (Unsigned); a signed one is the same request.
		out, _, _, err := a.Unsigned(ctx, action, p)
		return out, err
	}
	return nil, &awsquery.Error{Status: http.StatusBadRequest, Code: "InvalidAction", Message: "Could not find operation " + clip(action) + " for version " + Version}
}

func clip(s string) string {
	if len(s) > 128 {
		return s[:128] + "…"
	}
	return s
}

var codes = map[iamd.Kind]struct {
	status int
	code   string
}{
	iamd.NotFound:        {http.StatusBadRequest, "InvalidParameterValue"},
	iamd.Invalid:         {http.StatusBadRequest, "ValidationError"},
	iamd.InvalidInput:    {http.StatusBadRequest, "InvalidParameterValue"},
	iamd.AccessDenied:    {http.StatusForbidden, "AccessDenied"},
	iamd.Unavailable:     {http.StatusServiceUnavailable, "ServiceUnavailable"},
	iamd.MalformedPolicy: {http.StatusBadRequest, "MalformedPolicyDocument"},
	iamd.LimitExceeded:   {http.StatusBadRequest, "PackedPolicyTooLarge"},
	// AssumeRoleWithWebIdentity's, as botocore's model gives them.
	iamd.InvalidIdentityToken: {http.StatusBadRequest, "InvalidIdentityToken"},
	iamd.ExpiredIdentityToken: {http.StatusBadRequest, "ExpiredTokenException"},
	iamd.IDPRejectedClaim:     {http.StatusForbidden, "IDPRejectedClaim"},
	iamd.IDPCommunication:     {http.StatusBadRequest, "IDPCommunicationError"},
}

// ErrorResponse returns the HTTP status, code and client-safe message for
// err, and whether it is the client's fault.
func ErrorResponse(err error) (status int, code, message string, sender bool) {
	var qe *awsquery.Error
	if errors.As(err, &qe) {
		return qe.Status, qe.Code, qe.Message, true
	}
	kind := iamd.KindOf(err)
	w, ok := codes[kind]
	if !ok {
		return http.StatusInternalServerError, "ServiceFailure", "The request processing has failed because of an unknown error, exception or failure.", false
	}
	message = iamd.MessageOf(err)
	if kind == iamd.Invalid {
		message = "1 validation error detected: " + message
	}
	return w.status, w.code, message, true
}

// Actions lists the actions served.
func (a *API) Actions() []string {
	out := []string{"GetCallerIdentity", "GetAccessKeyInfo", "GetSessionToken", "AssumeRole"}
	if a.fed != nil {
		out = append(out, "AssumeRoleWithWebIdentity")
	}
	return out
}

// IsUnsigned reports whether action is one STS serves without a
// signature: AssumeRoleWithWebIdentity, whose token is the credential.
func (a *API) IsUnsigned(action string) bool {
	return a.fed != nil && action == "AssumeRoleWithWebIdentity"
}
