package federation

import (
	"context"
	"crypto/sha1"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"

	jose "github.com/go-jose/go-jose/v4"

	"iamd"
)

// maxKeys bounds the keys kept of one issuer.
const maxKeys = 100

// keySets keeps each provider's signing keys, fetched from its OpenID
// discovery document's jwks_uri. An issuer's keys are fetched when first
// needed, when older than the TTL, and when a token names a key ID they do
// not have (a rotation), at most once per MinRefetch: a flood of tokens
// with made-up key IDs costs one fetch per interval, not one per token.
type keySets struct {
	mu    sync.Mutex
	by    map[string]*issuerKeys // by provider URL
	roots *x509.CertPool
	now   func() time.Time

	maxDoc                   int64
	timeout, minRefetch, ttl time.Duration
}

type issuerKeys struct {
	mu      sync.Mutex // one fetch at a time per issuer; others wait for it
	keys    []jose.JSONWebKey
	fetched time.Time // of keys
	tried   time.Time // the last fetch, done or failed
	err     error     // the last fetch's error
	thumbs  string    // the thumbprints keys were fetched under
}

func newKeySets(cfg Config, now func() time.Time) *keySets {
	k := &keySets{by: map[string]*issuerKeys{}, roots: cfg.RootCAs, now: now,
		maxDoc: cfg.MaxDocument, timeout: cfg.FetchTimeout, minRefetch: cfg.MinRefetch, ttl: cfg.KeysTTL}
	if k.maxDoc <= 0 {
		k.maxDoc = 256 << 10
	}
	if k.timeout <= 0 {
		k.timeout = 5 * time.Second
	}
	if k.minRefetch <= 0 {
		k.minRefetch = 10 * time.Second
	}
	if k.ttl <= 0 {
		k.ttl = time.Hour
	}
	return k
}

// forget drops what is kept of a provider (changed or deleted).
func (k *keySets) forget(url string) {
	k.mu.Lock()
	delete(k.by, url)
	k.mu.Unlock()
}

// errCommunication is AWS's answer when the provider's keys cannot be had;
// why is for the operator (no secret: the provider's own addresses).
func errCommunication(why string) error {
	return iamd.Errorf(iamd.IDPCommunication, "Couldn't retrieve verification key from your identity provider, please reference AssumeRoleWithWebIdentity documentation for requirements (%s)", why)
}

// key returns p's key of ID kid for algorithm alg.
func (k *keySets) key(ctx context.Context, p *iamd.OIDCProvider, kid, alg string) (*jose.JSONWebKey, error) {
	k.mu.Lock()
	ik := k.by[p.URL]
	if ik == nil {
		ik = &issuerKeys{}
		k.by[p.URL] = ik
	}
	k.mu.Unlock()

	ik.mu.Lock()
	defer ik.mu.Unlock()
	thumbs := strings.Join(p.Thumbprints, ",")
	now := k.now()
	stale := ik.keys == nil || now.Sub(ik.fetched) > k.ttl || ik.thumbs != thumbs
	if found := find(ik.keys, kid, alg); found != nil && !stale {
		return found, nil
	}
	if now.Sub(ik.tried) >= k.minRefetch || ik.thumbs != thumbs {
		ik.tried = now
		keys, err := k.fetch(ctx, p)
		ik.err = err
		if err == nil {
			ik.keys, ik.fetched, ik.thumbs = keys, now, thumbs
		}
	}
	if found := find(ik.keys, kid, alg); found != nil && ik.thumbs == thumbs {
		return found, nil // fetched now, or kept from before a failed fetch
	}
	if ik.err != nil {
		return nil, ik.err
	}
	return nil, iamd.Errorf(iamd.InvalidIdentityToken, "The token's signing key (kid %q) is not among the keys https://%s publishes.", clip(kid), p.URL)
}

// find returns the signing key of ID kid that fits alg.
func find(keys []jose.JSONWebKey, kid, alg string) *jose.JSONWebKey {
	for i := range keys {
		key := &keys[i]
		if key.KeyID != kid || key.Use != "" && key.Use != "sig" || key.Algorithm != "" && key.Algorithm != alg {
			continue
		}
		return key
	}
	return nil
}

// fetch reads p's discovery document, then its keys.
func (k *keySets) fetch(ctx context.Context, p *iamd.OIDCProvider) ([]jose.JSONWebKey, error) {
	ctx, cancel := context.WithTimeout(ctx, k.timeout)
	defer cancel()
	client := k.client(p)
	defer client.CloseIdleConnections()
	issuer := "https://" + p.URL
	var disc struct {
		Issuer  string `json:"issuer"`
		JWKSURI string `json:"jwks_uri"`
	}
	if err := k.get(ctx, client, issuer+"/.well-known/openid-configuration", &disc); err != nil {
		return nil, err
	}
	if strings.TrimSuffix(disc.Issuer, "/") != issuer {
		return nil, errCommunication(fmt.Sprintf("the discovery document of %s names issuer %q", issuer, clip(disc.Issuer)))
	}
	u, err := url.Parse(disc.JWKSURI)
	if err != nil || u.Scheme != "https" || u.Host == "" {
		return nil, errCommunication(fmt.Sprintf("the discovery document of %s has no https jwks_uri", issuer))
	}
	var set jose.JSONWebKeySet
	if err := k.get(ctx, client, u.String(), &set); err != nil {
		return nil, err
	}
	var keys []jose.JSONWebKey
	for _, key := range set.Keys {
		if key.IsPublic() && key.Valid() {
			keys = append(keys, key)
		}
	}
	if len(keys) > maxKeys {
		return nil, errCommunication(fmt.Sprintf("%s publishes %d keys, more than %d", u.Redacted(), len(keys), maxKeys))
	}
	return keys, nil
}

// get reads a JSON document of at most maxDoc bytes.
func (k *keySets) get(ctx context.Context, client *http.Client, addr string, v any) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, addr, nil)
	if err != nil {
		return errCommunication("bad address " + clip(addr))
	}
	req.Header.Set("Accept", "application/json")
	resp, err := client.Do(req)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) && ue.Timeout() {
			return errCommunication(addr + " did not answer within " + k.timeout.String())
		}
		return errCommunication(addr + ": " + reason(err))
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return errCommunication(fmt.Sprintf("%s answered %d", addr, resp.StatusCode))
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, k.maxDoc+1))
	if err != nil {
		return errCommunication(addr + ": " + reason(err))
	}
	if int64(len(body)) > k.maxDoc {
		return errCommunication(fmt.Sprintf("%s answered more than %d bytes", addr, k.maxDoc))
	}
	if err := json.Unmarshal(body, v); err != nil {
		return errCommunication(addr + " answered what is not JSON")
	}
	return nil
}

// reason words a fetch's error without Go's wrapping.
func reason(err error) string {
	var ue *url.Error
	if errors.As(err, &ue) {
		err = ue.Err
	}
	var ce *tls.CertificateVerificationError
	switch {
	case errors.As(err, &ce), strings.Contains(err.Error(), "certificate"):
		return "its TLS certificate is trusted neither by the system's roots nor by one of the provider's thumbprints"
	case errors.Is(err, context.DeadlineExceeded):
		return "timed out"
	}
	var oe *net.OpError
	if errors.As(err, &oe) {
		return oe.Op + " failed"
	}
	return "the connection failed"
}

// client is an HTTPS client for p: a certificate chain is accepted when
// the roots vouch for it, or, as AWS uses thumbprints, when it presents a
// certificate whose SHA-1 fingerprint is one of p's and its leaf is for
// the host asked. No redirect leaves https.
func (k *keySets) client(p *iamd.OIDCProvider) *http.Client {
	thumbs := p.Thumbprints
	roots := k.roots
	var tr *http.Transport
	tr = &http.Transport{
		Proxy:                  http.ProxyFromEnvironment,
		DialContext:            (&net.Dialer{Timeout: k.timeout}).DialContext,
		TLSHandshakeTimeout:    k.timeout,
		ResponseHeaderTimeout:  k.timeout,
		MaxResponseHeaderBytes: 16 << 10,
		DialTLSContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			host, _, err := net.SplitHostPort(addr)
			if err != nil {
				return nil, err
			}
			raw, err := (&net.Dialer{Timeout: k.timeout}).DialContext(ctx, network, addr)
			if err != nil {
				return nil, err
			}
			cfg := tr.TLSClientConfig.Clone()
			cfg.ServerName = host
			cfg.VerifyConnection = verifyHost(host, roots, thumbs)
			conn := tls.Client(raw, cfg)
			if err := conn.HandshakeContext(ctx); err != nil {
				raw.Close()
				return nil, err
			}
			return conn, nil
		},
		TLSClientConfig: &tls.Config{
			MinVersion:         tls.VersionTLS12,
			InsecureSkipVerify: true, // verified by verifyHost: roots or a thumbprint
		},
	}
	return &http.Client{Transport: tr, CheckRedirect: func(req *http.Request, via []*http.Request) error {
		if len(via) >= 3 || req.URL.Scheme != "https" {
			return errors.New("redirect refused")
		}
		return nil
	}}
}

// verifyHost accepts a chain the roots vouch for as host's, or one that
// presents a certificate whose SHA-1 fingerprint is one of thumbs and
// whose leaf is for host.
func verifyHost(host string, roots *x509.CertPool, thumbs []string) func(tls.ConnectionState) error {
	return func(cs tls.ConnectionState) error {
		if len(cs.PeerCertificates) == 0 {
			return errors.New("no certificate")
		}
		leaf := cs.PeerCertificates[0]
		inter := x509.NewCertPool()
		for _, c := range cs.PeerCertificates[1:] {
			inter.AddCert(c)
		}
		if _, err := leaf.Verify(x509.VerifyOptions{DNSName: host, Roots: roots, Intermediates: inter}); err == nil {
			return nil
		}
		if err := leaf.VerifyHostname(host); err != nil {
			return err
		}
		for _, c := range cs.PeerCertificates {
			sum := sha1.Sum(c.Raw)
			if slices.Contains(thumbs, hex.EncodeToString(sum[:])) {
				return nil
			}
		}
		return &tls.CertificateVerificationError{UnverifiedCertificates: cs.PeerCertificates, Err: errors.New("untrusted")}
	}
}
