package stsapi

import (
	"context"

	"regexp"
	"strconv"
	"unicode/utf8"

	"iamd"
	"iamd/awsquery"
)

// Shapes of botocore's STS model (data/sts/2011-06-15/service-2.json).
var (
	reSessionName = regexp.MustCompile(`^[\w+=,.@-]*$`)
	reExternalID  = regexp.MustCompile(`^[\w+=,.@:/-]*$`)
	reARNChars    = regexp.MustCompile(`^[\x{0009}\x{000A}\x{000D}\x{0020}-\x{007E}\x{0085}\x{00A0}-\x{D7FF}\x{E000}-\x{FFFD}]+$`)
	reTagKey      = regexp.MustCompile(`^[\p{L}\p{Z}\p{N}_.:/=+\-@]+$`)
	reTagValue    = regexp.MustCompile(`^[\p{L}\p{Z}\p{N}_.:/=+\-@]*$`)
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

// params reads and checks parameters, keeping the first violation.
type params struct {
	p   awsquery.Params
	err error
}

func (v *params) fail(format string, args ...any) {
	if v.err == nil {
		v.err = iamd.Errorf(iamd.Invalid, format, args...)
	}
}

func (v *params) str(name, field string, required bool, min, max int, re *regexp.Regexp, pattern string) string {
	s, ok := v.p[name]
	if !ok {
		if required {
			v.fail("Value null at '%s' failed to satisfy constraint: Member must not be null", field)
		}
		return ""
	}
	n := utf8.RuneCountInString(s)
	switch {
	case n < min:
		v.fail("Value '%s' at '%s' failed to satisfy constraint: Member must have length greater than or equal to %d", clip(s), field, min)
	case n > max:
		v.fail("Value '%s' at '%s' failed to satisfy constraint: Member must have length less than or equal to %d", clip(s), field, max)
	case re != nil && !re.MatchString(s):
		v.fail("Value '%s' at '%s' failed to satisfy constraint: Member must satisfy regular expression pattern: %s", clip(s), field, pattern)
	}
	return s
}

func (v *params) duration(min, max int) int {
	s, ok := v.p["DurationSeconds"]
	if !ok {
		return 0
	}
	n, err := strconv.Atoi(s)
	switch {
	case err != nil:
		v.fail("Value '%s' at 'durationSeconds' failed to satisfy constraint: Member must be an integer", clip(s))
	case n < min:
		v.fail("Value '%d' at 'durationSeconds' failed to satisfy constraint: Member must have value greater than or equal to %d", n, min)
	case n > max:
		v.fail("Value '%d' at 'durationSeconds' failed to satisfy constraint: Member must have value less than or equal to %d", n, max)
	}
	return n
}

func (a *API) getSessionToken(ctx context.Context, c *iamd.Caller, p awsquery.Params) (any, error) {
	v := params{p: p}
	d := v.duration(iamd.MinSessionDuration, iamd.MaxUserSessionDuration)
	if v.err != nil {
		return nil, v.err
	}
	if _, ok := p["SerialNumber"]; ok {
		return nil, iamd.Errorf(iamd.InvalidInput, "MFA is not supported: iamd's sessions carry no MFA; omit SerialNumber and TokenCode.")
	}
	creds, err := a.svc.GetSessionToken(ctx, c, d)
	if err != nil {
		return nil, err
	}
	return getSessionTokenResult{wire(creds)}, nil
}

func (a *API) assumeRole(ctx context.Context, c *iamd.Caller, p awsquery.Params) (any, error) {
	v := params{p: p}
	in := iamd.AssumeRoleInput{
		RoleARN:        v.str("RoleArn", "roleArn", true, 20, 2048, reARNChars, `[\u0009\u000A\u000D\u0020-\u007E\u0085\u00A0-\uD7FF\uE000-\uFFFD\u10000-\u10FFFF]+`),
		SessionName:    v.str("RoleSessionName", "roleSessionName", true, 2, 64, reSessionName, `[\w+=,.@-]*`),
		Duration:       v.duration(iamd.MinSessionDuration, iamd.MaxRoleSessionDuration),
		ExternalID:     v.str("ExternalId", "externalId", false, 2, 1224, reExternalID, `[\w+=,.@:\/-]*`),
		Policy:         v.str("Policy", "policy", false, 1, 100000, reARNChars, `[\u0009\u000A\u000D\u0020-\u00FF]+`),
		SourceIdentity: v.str("SourceIdentity", "sourceIdentity", false, 2, 64, reSessionName, `[\w+=,.@-]*`),
	}
	for i := 1; ; i++ {
		arn, ok := p["PolicyArns.member."+strconv.Itoa(i)+".arn"]
		if !ok {
			break
		}
		if len(arn) < 20 || len(arn) > 2048 {
			v.fail("Value '%s' at 'policyArns.%d.member.arn' failed to satisfy constraint: Member must have length between 20 and 2048", clip(arn), i)
		}
		in.PolicyARNs = append(in.PolicyARNs, arn)
	}
	if len(in.PolicyARNs) > iamd.MaxSessionPolicyARNs {
		v.fail("Value at 'policyArns' failed to satisfy constraint: Member must have length less than or equal to %d", iamd.MaxSessionPolicyARNs)
	}
	seen := map[string]bool{}
	for i := 1; ; i++ {
		prefix := "Tags.member." + strconv.Itoa(i)
		k, ok := p[prefix+".Key"]
		val, vok := p[prefix+".Value"]
		if !ok && !vok {
			break
		}
		switch {
		case !ok || !vok:
			v.fail("Value null at 'tags.%d.member' failed to satisfy constraint: Member must not be null", i)
		case utf8.RuneCountInString(k) > 128 || !reTagKey.MatchString(k):
			v.fail("Value '%s' at 'tags.%d.member.key' failed to satisfy constraint: Member must have length between 1 and 128 and satisfy regular expression pattern: [\\p{L}\\p{Z}\\p{N}_.:/=+\\-@]+", clip(k), i)
		case utf8.RuneCountInString(val) > 256 || !reTagValue.MatchString(val):
			v.fail("Value '%s' at 'tags.%d.member.value' failed to satisfy constraint: Member must have length less than or equal to 256", clip(val), i)
		case seen[iamd.FoldName(k)]:
			if v.err == nil {
				v.err = iamd.Errorf(iamd.InvalidInput, "Duplicate tag keys found. Please note that Tag keys are case insensitive.")
			}
		}
		seen[iamd.FoldName(k)] = true
		in.Tags = append(in.Tags, iamd.Tag{Key: k, Value: val})
	}
	if len(in.Tags) > 50 {
		v.fail("Value at 'tags' failed to satisfy constraint: Member must have length less than or equal to 50")
	}
	for i := 1; ; i++ {
		k, ok := p["TransitiveTagKeys.member."+strconv.Itoa(i)]
		if !ok {
			break
		}
		if !seen[iamd.FoldName(k)] && v.err == nil {
			v.err = iamd.Errorf(iamd.InvalidInput, "The specified transitive tag key must be included in the requested tags.")
		}
		in.TransitiveTagKeys = append(in.TransitiveTagKeys, k)
	}
	if v.err != nil {
		return nil, v.err
	}
	if _, ok := p["SerialNumber"]; ok {
		return nil, iamd.Errorf(iamd.InvalidInput, "MFA is not supported: iamd's sessions carry no MFA; omit SerialNumber and TokenCode.")
	}
	creds, who, err := a.svc.AssumeRole(ctx, c, in)
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
