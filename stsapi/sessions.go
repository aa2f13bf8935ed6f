package stsapi

import (
	"context"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"time"

	"iamd"
	"iamd/awsquery"
	"iamd/federation"
	"iamd/internal/params"
)

// Shapes of botocore's STS model (data/sts/2011-06-15/service-2.json).
var (
	reSessionName = regexp.MustCompile(`^[\w+=,.@-]*$`)
	reExternalID  = regexp.MustCompile(`^[\w+=,.@:/-]*$`)
	reARNChars    = regexp.MustCompile(`^[\x{0009}\x{000A}\x{000D}\x{0020}-\x{007E}\x{0085}\x{00A0}-\x{D7FF}\x{E000}-\x{FFFD}]+$`)
)

type credentials struct {
	AccessKeyId     string
	SecretAccessKey string
	SessionToken    string
	Expiration      string
}

type getSessionTokenResult struct {
	Credentials credentials
}

type assumedRoleUser struct {
	AssumedRoleId string
	Arn           string
}

type assumeRoleResult struct {
	Credentials      credentials
	AssumedRoleUser  assumedRoleUser
	PackedPolicySize int    `xml:",omitempty"`
	SourceIdentity   string `xml:",omitempty"`
}

func wire(c *iamd.Credentials) credentials {
	return credentials{AccessKeyId: c.AccessKeyID, SecretAccessKey: c.SecretAccessKey, SessionToken: c.SessionToken, Expiration: awsquery.Timestamp(c.Expiration)}
}

// mfa checks SerialNumber and TokenCode, when given, against the caller's
// MFA device; it returns when the code was checked (zero without one).
func (a *API) mfa(ctx context.Context, c *iamd.Caller, v *params.Checker) (time.Time, error) {
	serial := v.Str("SerialNumber", false, 9, 256, reSerial, `[\w+=/:,.@-]*`)
	code := v.Str("TokenCode", false, 6, 6, reCode, `[\d]*`)
	switch {
	case v.Err != nil:
		return time.Time{}, v.Err
	case serial == "" && code == "":
		return time.Time{}, nil
	case serial == "" || code == "":
		return time.Time{}, iamd.Errorf(iamd.InvalidInput, "SerialNumber and TokenCode go together.")
	case a.people == nil:
		return time.Time{}, iamd.Errorf(iamd.AccessDenied, "MultiFactorAuthentication failed with invalid MFA one time pass code. ")
	}
	return a.people.VerifyMFA(ctx, c, serial, code)
}

var (
	reSerial = regexp.MustCompile(`^[\w+=/:,.@-]+$`)
	reCode   = regexp.MustCompile(`^\d+$`)
)

func (a *API) getSessionToken(ctx context.Context, c *iamd.Caller, p awsquery.Params) (any, error) {
	v := params.Checker{P: p}
	d, _ := v.Int("DurationSeconds", iamd.MinSessionDuration, iamd.MaxUserSessionDuration)
	if v.Err != nil {
		return nil, v.Err
	}
	mfa, err := a.mfa(ctx, c, &v)
	if err != nil {
		return nil, err
	}
	creds, err := a.svc.GetSessionToken(ctx, c, d, mfa)
	if err != nil {
		return nil, err
	}
	return getSessionTokenResult{wire(creds)}, nil
}

func (a *API) assumeRole(ctx context.Context, c *iamd.Caller, p awsquery.Params) (any, error) {
	v := params.Checker{P: p}
	d, _ := v.Int("DurationSeconds", iamd.MinSessionDuration, iamd.MaxRoleSessionDuration)
	in := iamd.AssumeRoleInput{
		RoleARN:        v.Str("RoleArn", true, 20, 2048, reARNChars, `[\u0009\u000A\u000D\u0020-\u007E\u0085\u00A0-\uD7FF\uE000-\uFFFD\u10000-\u10FFFF]+`),
		SessionName:    v.Str("RoleSessionName", true, 2, 64, reSessionName, `[\w+=,.@-]*`),
		Duration:       d,
		ExternalID:     v.Str("ExternalId", false, 2, 1224, reExternalID, `[\w+=,.@:\/-]*`),
		Policy:         v.Str("Policy", false, 1, 100000, reARNChars, `[\u0009\u000A\u000D\u0020-\u00FF]+`),
		SourceIdentity: v.Str("SourceIdentity", false, 2, 64, reSessionName, `[\w+=,.@-]*`),
	}
	in.PolicyARNs = policyARNs(&v, p)
	in.Tags = v.Tags(50)
	seen := map[string]bool{}
	for _, t := range in.Tags {
		seen[iamd.FoldName(t.Key)] = true
	}
	for i := 1; ; i++ {
		k, ok := p["TransitiveTagKeys.member."+strconv.Itoa(i)]
		if !ok {
			break
		}
		if !seen[iamd.FoldName(k)] && v.Err == nil {
			v.Err = iamd.Errorf(iamd.InvalidInput, "The specified transitive tag key must be included in the requested tags.")
		}
		in.TransitiveTagKeys = append(in.TransitiveTagKeys, k)
	}
	if v.Err != nil {
		return nil, v.Err
	}
	mfa, err := a.mfa(ctx, c, &v)
	if err != nil {
		return nil, err
	}
	in.MFAAt = mfa
	creds, who, err := a.assume(ctx, c, in)
	if err != nil {
		return nil, err
	}
	out := assumeRoleResult{Credentials: wire(creds), AssumedRoleUser: assumedRoleUser{AssumedRoleId: who.UserID(), Arn: who.ARN()},
		SourceIdentity: in.SourceIdentity}
	if in.Policy != "" || len(in.PolicyARNs) > 0 || len(in.Tags) > 0 {
		out.PackedPolicySize = packedSize(in)
	}
	return out, nil
}

// packedSize is the percentage of the packed-policy quota the session
// policies and tags use, as AWS reports it; iamd's limit is the policy's
// 2,048 characters.
func packedSize(in iamd.AssumeRoleInput) int {
	n := iamd.PolicySize(in.Policy)
	for _, a := range in.PolicyARNs {
		n += len(a)
	}
	for _, t := range in.Tags {
		n += len(t.Key) + len(t.Value)
	}
	return max(1, n*100/iamd.MaxSessionPolicySize)
}

type assumeRoleWithWebIdentityResult struct {
	Credentials                 credentials
	SubjectFromWebIdentityToken string
	AssumedRoleUser             assumedRoleUser
	PackedPolicySize            int `xml:",omitempty"`
	Provider                    string
	Audience                    string
	SourceIdentity              string `xml:",omitempty"`
}

// Unsigned serves an action that takes no signature
// (AssumeRoleWithWebIdentity): its answer, the session it made, and who
// the token said the caller is ("issuer subject"), for the audit log.
func (a *API) Unsigned(ctx context.Context, action string, p awsquery.Params) (any, *iamd.Caller, string, error) {
	if !a.IsUnsigned(action) {
		return nil, nil, "", &awsquery.Error{Status: http.StatusBadRequest, Code: "InvalidAction", Message: "Could not find operation " + clip(action) + " for version " + Version}
	}
	v := params.Checker{P: p}
	d, _ := v.Int("DurationSeconds", iamd.MinSessionDuration, iamd.MaxRoleSessionDuration)
	in := federation.WebIdentityInput{
		RoleARN:     v.Str("RoleArn", true, 20, 2048, reARNChars, `[\u0009\u000A\u000D\u0020-\u007E\u0085\u00A0-\uD7FF\uE000-\uFFFD\u10000-\u10FFFF]+`),
		SessionName: v.Str("RoleSessionName", true, 2, 64, reSessionName, `[\w+=,.@-]*`),
		Token:       v.Sensitive("WebIdentityToken", true, 4, 20000),
		Duration:    d,
		Policy:      v.Str("Policy", false, 1, 100000, reARNChars, `[\u0009\u000A\u000D\u0020-\u00FF]+`),
	}
	v.Str("ProviderId", false, 4, 2048, nil, "")
	in.PolicyARNs = policyARNs(&v, p)
	if v.Err != nil {
		return nil, nil, "", v.Err
	}
	if _, ok := p["ProviderId"]; ok {
		return nil, nil, "", iamd.Errorf(iamd.InvalidInput, "ProviderId is for OAuth 2.0 access tokens of www.amazon.com and graph.facebook.com, which iamd does not take; an OpenID Connect ID token needs none.")
	}
	out, err := a.fed.AssumeRoleWithWebIdentity(ctx, in)
	if err != nil {
		return nil, nil, "", err
	}
	res := assumeRoleWithWebIdentityResult{Credentials: wire(out.Credentials), SubjectFromWebIdentityToken: out.Subject,
		AssumedRoleUser: assumedRoleUser{AssumedRoleId: out.Caller.UserID(), Arn: out.Caller.ARN()},
		Provider:        out.Provider, Audience: out.Audience, SourceIdentity: out.SourceIdentity}
	if in.Policy != "" || len(in.PolicyARNs) > 0 {
		res.PackedPolicySize = packedSize(iamd.AssumeRoleInput{Policy: in.Policy, PolicyARNs: in.PolicyARNs, Tags: out.Caller.Session.Tags})
	}
	return res, out.Caller, out.Provider + " " + out.Subject, nil
}

// policyARNs reads PolicyArns.member.N.arn.
func policyARNs(v *params.Checker, p awsquery.Params) []string {
	var out []string
	for i := 1; ; i++ {
		arn, ok := p["PolicyArns.member."+strconv.Itoa(i)+".arn"]
		if !ok {
			break
		}
		if len(arn) < 20 || len(arn) > 2048 {
			v.Fail("Value '%s' at 'policyArns.%d.member.arn' failed to satisfy constraint: Member must have length between 20 and 2048", clip(arn), i)
		}
		out = append(out, arn)
	}
	if len(out) > iamd.MaxSessionPolicyARNs {
		v.Fail("Value at 'policyArns' failed to satisfy constraint: Member must have length less than or equal to %d", iamd.MaxSessionPolicyARNs)
	}
	return out
}

// assume assumes a role of the caller's account, or of another the
// deployment serves; a role of an account it does not serve is refused
// as a role that does not exist is.
func (a *API) assume(ctx context.Context, c *iamd.Caller, in iamd.AssumeRoleInput) (*iamd.Credentials, *iamd.Caller, error) {
	parts := strings.SplitN(in.RoleARN, ":", 6)
	if a.roles == nil || len(parts) < 6 || parts[4] == c.Account || !strings.HasPrefix(in.RoleARN, "arn:aws:iam::") {
		return a.svc.AssumeRole(ctx, c, in)
	}
	roleSvc, err := a.roles.Service(ctx, parts[4])
	if iamd.KindOf(err) == iamd.NotFound {
		return a.svc.AssumeRole(ctx, c, in) // refused: not this account's role
	}
	if err != nil {
		return nil, nil, err
	}
	return iamd.AssumeRoleAcross(ctx, a.svc, roleSvc, c, in)
}
