// Package federation is how callers come in through their OpenID Connect
// provider rather than with stored keys: IAM's OIDC providers (the
// account's list of trusted issuers) and STS's AssumeRoleWithWebIdentity,
// which verifies a provider's token (its signature against the provider's
// published keys, its issuer, audience and times) and exchanges it for a
// role's temporary credentials where the role's trust policy allows it.
// The credentials are ordinary iamd sessions: every door takes them.
package federation

import (
	"context"
	"crypto/rand"
	"crypto/x509"
	"io"
	"log/slog"
	"time"

	"iamd"
)

// ProviderView reads providers for token exchanges: the node's replica,
// or the store.
type ProviderView interface {
	GetOIDCProvider(ctx context.Context, url string) (*iamd.OIDCProvider, error)
}

// Config configures a Federation.
type Config struct {
	Service *iamd.Service // authorizes IAM calls; makes the sessions
	Store   iamd.Store    // where providers are written
	View    ProviderView  // where exchanges read them (default Store)
	Now     func() time.Time
	Rand    io.Reader
	Logger  *slog.Logger
	// RootCAs are the roots a provider's TLS certificate must chain to
	// unless one of its thumbprints vouches for it; nil: the system's.
	RootCAs *x509.CertPool
	// Fetch bounds what fetching a provider's discovery document and keys
	// may cost: each document's size, each fetch's time, and how often an
	// issuer's keys are fetched again for a key ID it has not published.
	MaxDocument  int64         // default 256 KiB
	FetchTimeout time.Duration // default 5 s
	MinRefetch   time.Duration // default 10 s
	KeysTTL      time.Duration // keys older than this are fetched again (default 1 h)
	// Skew is how far a token's exp, nbf and iat may be from the clock
	// (default 2 minutes).
	Skew time.Duration
}

// Federation serves OIDC providers and AssumeRoleWithWebIdentity.
type Federation struct {
	svc   *iamd.Service
	store iamd.Store
	view  ProviderView
	now   func() time.Time
	rand  io.Reader
	log   *slog.Logger
	keys  *keySets
	skew  time.Duration
}

// New returns a Federation.
func New(cfg Config) *Federation {
	f := &Federation{svc: cfg.Service, store: cfg.Store, view: cfg.View, now: cfg.Now, rand: cfg.Rand, log: cfg.Logger, skew: cfg.Skew}
	if f.view == nil {
		f.view = cfg.Store
	}
	if f.now == nil {
		f.now = time.Now
	}
	if f.rand == nil {
		f.rand = rand.Reader
	}
	if f.log == nil {
		f.log = slog.New(slog.DiscardHandler)
	}
	if f.skew <= 0 {
		f.skew = 2 * time.Minute
	}
	f.keys = newKeySets(cfg, f.now)
	return f
}

// WebIdentityInput is an AssumeRoleWithWebIdentity request, its shapes
// already valid.
type WebIdentityInput struct {
	RoleARN, SessionName string
	Token                string
	Duration             int // seconds; 0 for 3600
	Policy               string
	PolicyARNs           []string
}

// WebIdentityOutput is what AssumeRoleWithWebIdentity answers.
type WebIdentityOutput struct {
	Credentials    *iamd.Credentials
	Caller         *iamd.Caller // the session
	Subject        string       // SubjectFromWebIdentityToken
	Provider       string       // the token's issuer
	Audience       string       // the client ID it was issued for
	SourceIdentity string
}

// AssumeRoleWithWebIdentity verifies in's token and exchanges it for
// temporary credentials of in's role. Refusals say which check failed
// (the issuer unknown, the audience not a client ID, a trust condition not
// met, the key not found) and never hold the token.
func (f *Federation) AssumeRoleWithWebIdentity(ctx context.Context, in WebIdentityInput) (*WebIdentityOutput, error) {
	id, issuer, err := f.verify(ctx, in.Token)
	if err != nil {
		return nil, err
	}
	creds, who, err := f.svc.AssumeRoleWithWebIdentity(ctx, id, iamd.AssumeRoleInput{RoleARN: in.RoleARN, SessionName: in.SessionName,
		Duration: in.Duration, Policy: in.Policy, PolicyARNs: in.PolicyARNs})
	if err != nil {
		return nil, err
	}
	return &WebIdentityOutput{Credentials: creds, Caller: who, Subject: id.Subject, Provider: issuer, Audience: id.Audience,
		SourceIdentity: id.SourceIdentity}, nil
}
