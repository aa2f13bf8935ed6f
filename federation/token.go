package federation

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"

	"iamd"
)

// Algorithms are the signatures a token may carry, as AWS takes them: RSA
// and ECDSA. Never none, never HMAC (whose key would be the provider's
// public key, known to anyone).
var Algorithms = []jose.SignatureAlgorithm{jose.RS256, jose.RS384, jose.RS512, jose.ES256, jose.ES384, jose.ES512}

// The claims AWS reads session tags and a source identity from.
const (
	tagsClaim           = "https://aws.amazon.com/tags"
	sourceIdentityClaim = "https://aws.amazon.com/source_identity"
)

func invalid(format string, args ...any) error {
	return iamd.Errorf(iamd.InvalidIdentityToken, format, args...)
}

// verify checks a token and returns who its provider says the caller is,
// and the token's issuer.
func (f *Federation) verify(ctx context.Context, raw string) (*iamd.WebIdentity, string, error) {
	tok, err := jwt.ParseSigned(raw, Algorithms)
	if err != nil {
		if strings.Contains(err.Error(), "unexpected signature algorithm") {
			return nil, "", invalid("The token's signature algorithm is not accepted: it must be RS256, RS384, RS512, ES256, ES384 or ES512.")
		}
		return nil, "", invalid("The token is not a signed JWT (JWS compact serialization).")
	}
	if len(tok.Headers) != 1 {
		return nil, "", invalid("The token must have exactly one signature.")
	}
	var unverified struct {
		Issuer string `json:"iss"`
	}
	if err := tok.UnsafeClaimsWithoutVerification(&unverified); err != nil || unverified.Issuer == "" {
		return nil, "", invalid("The token has no issuer (iss).")
	}
	issuer := unverified.Issuer
	u, err := CanonicalURL(issuer)
	if err != nil {
		return nil, "", invalid("No OpenIDConnect provider found in your account for %s", clip(issuer))
	}
	p, err := f.view.GetOIDCProvider(ctx, u)
	if iamd.KindOf(err) == iamd.NotFound {
		return nil, "", invalid("No OpenIDConnect provider found in your account for %s", clip(issuer))
	}
	if err != nil {
		return nil, "", err
	}
	h := tok.Headers[0]
	key, err := f.keys.key(ctx, p, h.KeyID, h.Algorithm)
	if err != nil {
		return nil, "", err
	}
	var std jwt.Claims
	var all map[string]json.RawMessage
	if err := tok.Claims(key.Key, &std, &all); err != nil {
		return nil, "", invalid("The token's signature does not verify with the key %q of https://%s.", clip(h.KeyID), p.URL)
	}
	now := f.now()
	if std.Expiry == nil {
		return nil, "", invalid("The token has no expiry (exp).")
	}
	if exp := std.Expiry.Time(); now.After(exp.Add(f.skew)) {
		return nil, "", iamd.Errorf(iamd.ExpiredIdentityToken, "Token expired: current date/time %s must be before the expiration date/time %s",
			now.UTC().Format(time.RFC3339), exp.UTC().Format(time.RFC3339))
	}
	if std.NotBefore != nil && now.Add(f.skew).Before(std.NotBefore.Time()) {
		return nil, "", invalid("The token is not valid before %s (nbf).", std.NotBefore.Time().UTC().Format(time.RFC3339))
	}
	if std.IssuedAt != nil && now.Add(f.skew).Before(std.IssuedAt.Time()) {
		return nil, "", invalid("The token was issued in the future (iat %s).", std.IssuedAt.Time().UTC().Format(time.RFC3339))
	}
	if std.Subject == "" {
		return nil, "", invalid("The token has no subject (sub).")
	}
	aud := ""
	for _, a := range std.Audience {
		if slices.Contains(p.ClientIDs, a) {
			aud = a
			break
		}
	}
	if aud == "" {
		return nil, "", invalid("Incorrect token audience: the token's audience (%s) is not a client ID of the provider %s.",
			clip(strings.Join(std.Audience, ", ")), p.ARN(f.svc.Account().ID))
	}
	id := &iamd.WebIdentity{Provider: p, Subject: std.Subject, Audience: aud, Claims: map[string][]string{}}
	for name, v := range all {
		if vs, ok := claimValues(v); ok && !strings.Contains(name, "://") {
			id.Claims[name] = vs
		}
	}
	if raw, ok := all[tagsClaim]; ok {
		if id.Tags, id.TransitiveTagKeys, err = sessionTags(raw); err != nil {
			return nil, "", err
		}
	}
	if raw, ok := all[sourceIdentityClaim]; ok {
		if json.Unmarshal(raw, &id.SourceIdentity) != nil || len(id.SourceIdentity) < 2 || len(id.SourceIdentity) > 64 {
			return nil, "", iamd.Errorf(iamd.IDPRejectedClaim, "The token's %s claim must be a string of 2 to 64 characters.", sourceIdentityClaim)
		}
	}
	return id, issuer, nil
}

// claimValues turns a claim into condition-key values: a string, a
// number or a boolean as text, or a list of them. Objects are not keys.
func claimValues(raw json.RawMessage) ([]string, bool) {
	var list []json.RawMessage
	if json.Unmarshal(raw, &list) != nil {
		list = []json.RawMessage{raw}
	}
	out := make([]string, 0, len(list))
	for _, r := range list {
		var s string
		var n json.Number
		var b bool
		switch {
		case json.Unmarshal(r, &s) == nil:
			out = append(out, s)
		case json.Unmarshal(r, &n) == nil:
			out = append(out, n.String())
		case json.Unmarshal(r, &b) == nil:
			out = append(out, strconv.FormatBool(b))
		default:
			return nil, false
		}
	}
	return out, len(out) > 0
}

// sessionTags reads the https://aws.amazon.com/tags claim:
// {"principal_tags": {"team": ["red"]}, "transitive_tag_keys": ["team"]}.
func sessionTags(raw json.RawMessage) ([]iamd.Tag, []string, error) {
	var c struct {
		PrincipalTags     map[string][]string `json:"principal_tags"`
		TransitiveTagKeys []string            `json:"transitive_tag_keys"`
	}
	reject := func(why string) ([]iamd.Tag, []string, error) {
		return nil, nil, iamd.Errorf(iamd.IDPRejectedClaim, "The token's %s claim is not valid: %s.", tagsClaim, why)
	}
	if err := json.Unmarshal(raw, &c); err != nil {
		return reject("it must be an object of principal_tags (each key to a list of one value) and transitive_tag_keys")
	}
	if len(c.PrincipalTags) > 50 {
		return reject("more than 50 tags")
	}
	keys := make([]string, 0, len(c.PrincipalTags))
	for k := range c.PrincipalTags {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var tags []iamd.Tag
	for _, k := range keys {
		v := c.PrincipalTags[k]
		if len(v) != 1 || len(k) < 1 || len(k) > 128 || len(v[0]) > 256 {
			return reject(fmt.Sprintf("tag %q must have one value, a key of 1 to 128 characters and a value of at most 256", clip(k)))
		}
		tags = append(tags, iamd.Tag{Key: k, Value: v[0]})
	}
	for _, k := range c.TransitiveTagKeys {
		if _, ok := c.PrincipalTags[k]; !ok {
			return reject(fmt.Sprintf("transitive tag key %q is not one of its principal_tags", clip(k)))
		}
	}
	return tags, c.TransitiveTagKeys, nil
}
