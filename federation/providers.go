package federation

import (
	"context"
	"encoding/hex"
	"net/url"
	"slices"
	"strings"

	"iamd"
)

// AWS's quotas for OpenID Connect providers.
const (
	MaxClientIDs   = 100
	MaxThumbprints = 5
	MaxTags        = 50
)

// CanonicalURL returns the URL by which a provider is known (its ARN's
// last part, the prefix of its condition keys): the issuer without
// https://, its host in lower case, without a trailing slash. An issuer
// must be https, without query, fragment or user information.
func CanonicalURL(issuer string) (string, error) {
	u, err := url.Parse(issuer)
	bad := func(why string) (string, error) {
		return "", iamd.Errorf(iamd.InvalidInput, "The URL %s is not valid: %s.", clip(issuer), why)
	}
	switch {
	case err != nil:
		return bad("it does not parse")
	case !strings.EqualFold(u.Scheme, "https"):
		return bad("it must begin with https://")
	case u.Host == "" || u.User != nil:
		return bad("it must name a host, without user information")
	case u.RawQuery != "" || u.ForceQuery || u.Fragment != "":
		return bad("it may not have a query or a fragment")
	case strings.Contains(u.Path, "//"):
		return bad("its path has an empty segment")
	}
	return strings.ToLower(u.Host) + strings.TrimSuffix(u.EscapedPath(), "/"), nil
}

// providerURL returns the URL an ARN of this account names.
func (f *Federation) providerURL(arn string) (string, error) {
	prefix := "arn:aws:iam::" + f.svc.Account().ID + ":oidc-provider/"
	u, ok := strings.CutPrefix(arn, prefix)
	if !ok || u == "" {
		return "", iamd.Errorf(iamd.InvalidInput, "%s is not a valid ARN of an OpenID Connect provider of this account.", clip(arn))
	}
	return u, nil
}

func checkThumbprints(ts []string) ([]string, error) {
	if len(ts) > MaxThumbprints {
		return nil, iamd.Errorf(iamd.LimitExceeded, "Thumbprint list must contain fewer than %d entries.", MaxThumbprints+1)
	}
	out := make([]string, 0, len(ts))
	for _, t := range ts {
		if b, err := hex.DecodeString(t); err != nil || len(b) != 20 {
			return nil, iamd.Errorf(iamd.InvalidInput, "Thumbprint %s is not valid: it must be 40 hexadecimal digits (a certificate's SHA-1 fingerprint).", clip(t))
		}
		out = append(out, strings.ToLower(t))
	}
	return out, nil
}

func checkClientIDs(ids []string) error {
	if len(ids) > MaxClientIDs {
		return iamd.Errorf(iamd.LimitExceeded, "Cannot exceed quota for ClientIdsPerOpenIdConnectProvider: %d", MaxClientIDs)
	}
	return nil
}

// CreateProvider registers the provider of issuer.
func (f *Federation) CreateProvider(ctx context.Context, c *iamd.Caller, issuer string, clientIDs, thumbprints []string, tags []iamd.Tag) (*iamd.OIDCProvider, error) {
	u, err := CanonicalURL(issuer)
	if err != nil {
		return nil, err
	}
	p := &iamd.OIDCProvider{URL: u, CreatedAt: f.now().UTC().Truncate(1e6), Tags: tags}
	if err := f.svc.AuthorizeTagged(ctx, c, "iam:CreateOpenIDConnectProvider", p.ARN(f.svc.Account().ID), iamd.TagFacts{Setting: tags}); err != nil {
		return nil, err
	}
	if err := checkClientIDs(clientIDs); err != nil {
		return nil, err
	}
	for _, id := range clientIDs {
		if !slices.Contains(p.ClientIDs, id) {
			p.ClientIDs = append(p.ClientIDs, id)
		}
	}
	if p.Thumbprints, err = checkThumbprints(thumbprints); err != nil {
		return nil, err
	}
	if len(tags) > MaxTags {
		return nil, iamd.Errorf(iamd.LimitExceeded, "The number of tags has reached the maximum limit.")
	}
	if p.ID, err = iamd.NewUUID(f.rand); err != nil {
		return nil, err
	}
	if err := f.store.CreateOIDCProvider(ctx, p); err != nil {
		return nil, err
	}
	return p, nil
}

// get reads the provider an ARN names, for action by c: its URL and
// the provider, once action is allowed on it (with its tags, for
// iam:ResourceTag/…, and the request's tag facts). Whether it exists is
// told only to a caller allowed the action.
func (f *Federation) get(ctx context.Context, c *iamd.Caller, action, arn string, facts iamd.TagFacts) (string, *iamd.OIDCProvider, error) {
	u, err := f.providerURL(arn)
	var p *iamd.OIDCProvider
	if err == nil {
		if p, err = f.store.GetOIDCProvider(ctx, u); err == nil {
			facts.Resource = p.Tags
		}
	}
	if aerr := f.svc.AuthorizeTagged(ctx, c, action, arn, facts); aerr != nil {
		return "", nil, aerr
	}
	if iamd.KindOf(err) == iamd.NotFound {
		return "", nil, iamd.OIDCProviderNotFound(arn)
	}
	return u, p, err
}

// GetProvider returns the provider an ARN names.
func (f *Federation) GetProvider(ctx context.Context, c *iamd.Caller, arn string) (*iamd.OIDCProvider, error) {
	_, p, err := f.get(ctx, c, "iam:GetOpenIDConnectProvider", arn, iamd.TagFacts{})
	return p, err
}

// ListProviders lists the account's providers.
func (f *Federation) ListProviders(ctx context.Context, c *iamd.Caller) ([]*iamd.OIDCProvider, error) {
	if err := f.svc.Authorize(ctx, c, "iam:ListOpenIDConnectProviders", "*"); err != nil {
		return nil, err
	}
	return f.store.ListOIDCProviders(ctx)
}

// DeleteProvider deletes the provider an ARN names. Sessions it gave stay
// valid until they expire, as on AWS; new tokens of it are refused.
func (f *Federation) DeleteProvider(ctx context.Context, c *iamd.Caller, arn string) error {
	return f.update(ctx, c, "iam:DeleteOpenIDConnectProvider", arn, iamd.TagFacts{}, nil)
}

// update applies fn to the provider an ARN names, once action (with the
// request's tag facts) is allowed on it; nil fn deletes it.
func (f *Federation) update(ctx context.Context, c *iamd.Caller, action, arn string, facts iamd.TagFacts, fn func(*iamd.OIDCProvider) error) error {
	u, _, err := f.get(ctx, c, action, arn, facts)
	if err != nil {
		return err
	}
	if fn == nil {
		err = f.store.DeleteOIDCProvider(ctx, u)
	} else {
		err = f.store.UpdateOIDCProvider(ctx, u, fn)
	}
	if iamd.KindOf(err) == iamd.NotFound {
		return iamd.OIDCProviderNotFound(arn)
	}
	if err == nil {
		f.keys.forget(u) // a changed provider's keys are fetched again
	}
	return err
}

// AddClientID adds an audience; adding one it has changes nothing.
func (f *Federation) AddClientID(ctx context.Context, c *iamd.Caller, arn, id string) error {
	return f.update(ctx, c, "iam:AddClientIDToOpenIDConnectProvider", arn, iamd.TagFacts{}, func(p *iamd.OIDCProvider) error {
		if slices.Contains(p.ClientIDs, id) {
			return nil
		}
		p.ClientIDs = append(p.ClientIDs, id)
		return checkClientIDs(p.ClientIDs)
	})
}

// RemoveClientID removes an audience; removing one it lacks changes
// nothing, as on AWS.
func (f *Federation) RemoveClientID(ctx context.Context, c *iamd.Caller, arn, id string) error {
	return f.update(ctx, c, "iam:RemoveClientIDFromOpenIDConnectProvider", arn, iamd.TagFacts{}, func(p *iamd.OIDCProvider) error {
		p.ClientIDs = slices.DeleteFunc(p.ClientIDs, func(x string) bool { return x == id })
		return nil
	})
}

// UpdateThumbprints replaces the thumbprints.
func (f *Federation) UpdateThumbprints(ctx context.Context, c *iamd.Caller, arn string, ts []string) error {
	checked, err := checkThumbprints(ts)
	if err != nil {
		return err
	}
	return f.update(ctx, c, "iam:UpdateOpenIDConnectProviderThumbprint", arn, iamd.TagFacts{}, func(p *iamd.OIDCProvider) error {
		p.Thumbprints = checked
		return nil
	})
}

// TagProvider adds or replaces tags.
func (f *Federation) TagProvider(ctx context.Context, c *iamd.Caller, arn string, tags []iamd.Tag) error {
	return f.update(ctx, c, "iam:TagOpenIDConnectProvider", arn, iamd.TagFacts{Setting: tags}, func(p *iamd.OIDCProvider) error {
		merged, err := iamd.MergeTags(p.Tags, tags)
		if err != nil {
			return err
		}
		p.Tags = merged
		return nil
	})
}

// UntagProvider removes tags by key.
func (f *Federation) UntagProvider(ctx context.Context, c *iamd.Caller, arn string, keys []string) error {
	return f.update(ctx, c, "iam:UntagOpenIDConnectProvider", arn, iamd.TagFacts{Removing: keys}, func(p *iamd.OIDCProvider) error {
		p.Tags = iamd.RemoveTags(p.Tags, keys)
		return nil
	})
}

// ListProviderTags returns the provider's tags.
func (f *Federation) ListProviderTags(ctx context.Context, c *iamd.Caller, arn string) ([]iamd.Tag, error) {
	_, p, err := f.get(ctx, c, "iam:ListOpenIDConnectProviderTags", arn, iamd.TagFacts{})
	if err != nil {
		return nil, err
	}
	return p.Tags, nil
}

func clip(s string) string {
	if len(s) > 128 {
		return s[:128] + "…"
	}
	return s
}
