package iamd

import (
	"context"
	"errors"
	"sort"
	"strings"
	"time"

	"iamd/policy"
)

// WebIdentity is a caller its OpenID Connect provider vouches for with a
// token, as package federation verified it (signature, issuer, audience,
// times): who the provider says it is, and the claims the role's trust
// policy may test as <provider URL>:<claim>.
type WebIdentity struct {
	Provider *OIDCProvider
	Subject  string // sub
	Audience string // the aud that is one of the provider's client IDs
	// Claims are the token's claims as condition keys' values, by claim
	// name (sub, aud, amr, azp, email, …): strings, lists of strings, and
	// numbers and booleans as text.
	Claims map[string][]string
	// Tags and TransitiveTagKeys are the session tags the token carries
	// (its https://aws.amazon.com/tags claim).
	Tags              []Tag
	TransitiveTagKeys []string
	// SourceIdentity is the token's https://aws.amazon.com/source_identity.
	SourceIdentity string
}

// AssumeRoleWithWebIdentity returns temporary credentials of a role for a
// caller its identity provider vouches for, as AWS decides them: the role's
// trust policy must allow sts:AssumeRoleWithWebIdentity to the provider
// ({"Federated": its ARN}), with its conditions on the provider's keys
// (sub, aud, amr, …) met, and sts:TagSession too when the token carries
// session tags. There are no identity policies to consult: the caller has
// none. in's Tags, TransitiveTagKeys and SourceIdentity are ignored: they
// come from the token.
func (s *Service) AssumeRoleWithWebIdentity(ctx context.Context, id *WebIdentity, in AssumeRoleInput) (*Credentials, *Caller, error) {
	const action = "sts:AssumeRoleWithWebIdentity"
	provider := id.Provider.ARN(s.account.ID)
	refused := func(why string) error {
		return Errorf(AccessDenied, "Not authorized to perform %s: %s", action, why)
	}
	// A role that does not exist, or is another account's, is refused as
	// one whose trust policy does not name the provider: a token of any
	// registered provider must not tell which roles exist.
	notTrusted := refused("no trust policy allows " + action + " on " + clipText(in.RoleARN) + " to " + provider)
	for _, t := range id.Tags {
		if strings.HasPrefix(strings.ToLower(t.Key), "aws:") {
			return nil, nil, Errorf(InvalidInput, "The session tag key %s in the token is invalid: keys starting with aws: are reserved.", t.Key)
		}
	}
	prefix := "arn:aws:iam::" + s.account.ID + ":role/"
	if !strings.HasPrefix(in.RoleARN, prefix) {
		return nil, nil, notTrusted
	}
	name := in.RoleARN[strings.LastIndexByte(in.RoleARN, '/')+1:]
	rp, err := s.rolePoliciesOf(ctx, name)
	if errors.Is(err, ErrNotFound) || err == nil && rp.role.ARN(s.account.ID) != in.RoleARN {
		return nil, nil, notTrusted
	}
	if err != nil {
		return nil, nil, err
	}
	role := rp.role
	trust, err := s.authz.compileTrust(role.TrustPolicy)
	if err != nil {
		return nil, nil, &Error{Kind: Internal, Message: "a stored trust policy does not parse", Err: err}
	}
	trust = trust.BindPrincipals(role.TrustIDs)
	pc := policy.Context{CurrentTime: s.now(), Request: map[string][]string{"sts:rolesessionname": {in.SessionName}}}
	for claim, values := range id.Claims {
		pc.Request[strings.ToLower(id.Provider.URL+":"+claim)] = values
	}
	if id.SourceIdentity != "" {
		pc.Request["sts:sourceidentity"] = []string{id.SourceIdentity}
	}
	if len(id.Tags) > 0 {
		keys := make([]string, 0, len(id.Tags))
		for _, t := range id.Tags {
			pc.Request["aws:requesttag/"+strings.ToLower(t.Key)] = []string{t.Value}
			keys = append(keys, t.Key)
		}
		sort.Strings(keys)
		pc.Request["aws:tagkeys"] = keys
	}
	pr := &policy.Principal{Federated: provider}
	arn := role.ARN(s.account.ID)
	for _, act := range []string{action, "sts:TagSession"} {
		if act == "sts:TagSession" && len(id.Tags) == 0 {
			break
		}
		req := &policy.Request{Action: act, Resource: arn, Context: &pc, Principal: pr}
		switch policy.Evaluate([]*policy.Policy{trust}, req) {
		case policy.Allowed:
			continue
		case policy.ExplicitDeny:
			return nil, nil, refused("the trust policy of role " + role.Name + " denies " + act + " to " + provider)
		}
		if unmet := policy.Unmet([]*policy.Policy{trust}, req); len(unmet) > 0 {
			return nil, nil, refused("the trust policy of role " + role.Name + " allows " + act + " to " + provider +
				" only where a condition this token does not meet holds: " + strings.Join(unmet, "; "))
		}
		if act == action {
			return nil, nil, notTrusted
		}
		return nil, nil, refused("the trust policy of role " + role.Name + " does not allow " + act + " to " + provider)
	}
	d := in.Duration
	if d == 0 {
		d = DefaultSessionDuration
	}
	if d < MinSessionDuration || d > role.MaxSessionDuration {
		return nil, nil, Errorf(Invalid, "The requested DurationSeconds exceeds the MaxSessionDuration set for this role.")
	}
	if err := s.checkSessionPolicies(ctx, in); err != nil {
		return nil, nil, err
	}
	sess := &Session{Kind: SessionOfRole, RoleName: role.Name, RoleID: role.ID, Name: in.SessionName,
		Policy: in.Policy, PolicyARNs: in.PolicyARNs, Tags: id.Tags, Transitive: id.TransitiveTagKeys,
		SourceIdentity: id.SourceIdentity, Source: provider, Subject: id.Subject}
	creds, err := s.mint(sess, time.Duration(d)*time.Second)
	if err != nil {
		return nil, nil, err
	}
	return creds, &Caller{Kind: CallerRole, Account: s.account.ID, Role: role, Session: sess, AccessKeyID: creds.AccessKeyID}, nil
}

// checkSessionPolicies refuses session policies AWS refuses: an inline
// one too large or malformed, a managed one that does not exist.
func (s *Service) checkSessionPolicies(ctx context.Context, in AssumeRoleInput) error {
	if in.Policy != "" {
		if PolicySize(in.Policy) > MaxSessionPolicySize {
			return Errorf(LimitExceeded, "The session policy is larger than %d characters.", MaxSessionPolicySize)
		}
		if err := checkDocument(in.Policy); err != nil {
			return err
		}
	}
	for _, arn := range in.PolicyARNs {
		if _, _, err := s.resolvePolicyIn(ctx, s.view, arn); err != nil {
			return err
		}
	}
	return nil
}

func clipText(s string) string {
	if len(s) > 256 {
		return s[:256] + "…"
	}
	return s
}
