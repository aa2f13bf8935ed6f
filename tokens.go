package iamd

import (
	"context"
	"crypto/hmac"
	"encoding/base64"
	"errors"
	"strconv"
	"strings"
	"time"
)

// A service token stands for one of iamd's keys for a short while, so that
// a service that speaks Keystone's protocol (Ceph RGW, Swift's s3token)
// presents its key's secret once, at login, and a token afterwards. The
// token is the key ID and an expiry sealed with the master key: any node
// sharing that key opens it, and it dies with its key, since every use
// looks the key up again.
const serviceTokenAAD = "iamd service token v1"

// ServiceTokenTTL is how long a service token lasts.
const ServiceTokenTTL = time.Hour

// CheckSecret returns the credential of key id if secret is its secret and
// the key is Active, and ErrNoSuchIdentity otherwise. It compares in
// constant time.
func (s *Service) CheckSecret(ctx context.Context, id, secret string) (*CachedCredential, error) {
	c, err := s.Credential(ctx, id)
	switch {
	case errors.Is(err, ErrNotFound):
		return nil, ErrNoSuchIdentity
	case err != nil:
		return nil, err
	case s.credStatus(c) != StatusActive || !hmac.Equal(c.Secret, []byte(secret)):
		return nil, ErrNoSuchIdentity
	}
	return c, nil
}

// NewServiceToken returns a token standing for key id until it expires.
func (s *Service) NewServiceToken(id string) (token string, expires time.Time, err error) {
	expires = s.now().UTC().Add(ServiceTokenTTL).Truncate(time.Second)
	sealed, err := s.sealer.Seal(serviceTokenAAD, []byte(id+" "+strconv.FormatInt(expires.Unix(), 10)))
	if err != nil {
		return "", time.Time{}, err
	}
	return base64.RawURLEncoding.EncodeToString(sealed), expires, nil
}

// ServiceTokenCredential returns the credential of the key a token stands
// for and when the token expires; ErrNoSuchIdentity if the token is not
// one of iamd's, has expired, or its key is gone or not Active.
func (s *Service) ServiceTokenCredential(ctx context.Context, token string) (*CachedCredential, time.Time, error) {
	if len(token) > 512 {
		return nil, time.Time{}, ErrNoSuchIdentity
	}
	sealed, err := base64.RawURLEncoding.DecodeString(token)
	if err != nil {
		return nil, time.Time{}, ErrNoSuchIdentity
	}
	plain, err := s.sealer.Open(serviceTokenAAD, sealed)
	if err != nil {
		return nil, time.Time{}, ErrNoSuchIdentity
	}
	id, exp, ok := strings.Cut(string(plain), " ")
	unix, err := strconv.ParseInt(exp, 10, 64)
	if !ok || err != nil || !s.now().Before(time.Unix(unix, 0)) {
		return nil, time.Time{}, ErrNoSuchIdentity
	}
	c, err := s.Credential(ctx, id)
	switch {
	case errors.Is(err, ErrNotFound):
		return nil, time.Time{}, ErrNoSuchIdentity
	case err != nil:
		return nil, time.Time{}, err
	case s.credStatus(c) != StatusActive:
		return nil, time.Time{}, ErrNoSuchIdentity
	}
	return c, time.Unix(unix, 0).UTC(), nil
}
