package gateway

import (
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/tls"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
)

// Client speaks the protocol to iamd for a service that accepts iamd's
// keys (iamd proxy): it asks for the derived signing key of the key that
// signed a request, and for decisions, signing each call with the
// service's own iamd key. It never sees a key's secret.
type Client struct {
	base   string
	http   *http.Client
	creds  aws.Credentials
	signer *v4.Signer
}

// ErrNoSuchIdentity is iamd's answer for a key that does not exist or is
// not Active.
var ErrNoSuchIdentity = errors.New("no identity for the given access key id")

// ErrInvalidToken is iamd's answer for a session token that is not the
// key's, or one sent with a long-term key.
var ErrInvalidToken = errors.New("the session token is invalid or does not belong to the access key")

// NewClient returns a Client of iamd at endpoint: unix:///path/to/socket,
// or https://host:port with tlsConfig holding the client certificate.
// id and secret are the service's own iamd key.
func NewClient(endpoint string, tlsConfig *tls.Config, id, secret string) (*Client, error) {
	tr := &http.Transport{MaxIdleConnsPerHost: 64, IdleConnTimeout: 90 * time.Second}
	c := &Client{http: &http.Client{Transport: tr, Timeout: 10 * time.Second},
		creds: aws.Credentials{AccessKeyID: id, SecretAccessKey: secret}, signer: v4.NewSigner()}
	switch {
	case strings.HasPrefix(endpoint, "unix://"):
		path := strings.TrimPrefix(endpoint, "unix://")
		tr.DialContext = func(ctx context.Context, _, _ string) (net.Conn, error) {
			return (&net.Dialer{}).DialContext(ctx, "unix", path)
		}
		c.base = "http://unix"
	case strings.HasPrefix(endpoint, "https://"):
		if tlsConfig == nil || len(tlsConfig.Certificates) == 0 {
			return nil, errors.New("an https:// iamd endpoint needs a client certificate: the protocol is served on TCP only with mutual TLS")
		}
		tr.TLSClientConfig = tlsConfig
		c.base = strings.TrimSuffix(endpoint, "/")
	default:
		return nil, fmt.Errorf("iamd endpoint %q: use unix:///path or https://host:port", endpoint)
	}
	return c, nil
}

// NewClientWith is NewClient on a RoundTripper of the caller's, which
// reaches iamd at base (http://unix for a socket it dials itself): for
// tests that look at everything iamd sends.
func NewClientWith(base string, rt http.RoundTripper, id, secret string) *Client {
	return &Client{base: base, http: &http.Client{Transport: rt, Timeout: 10 * time.Second},
		creds: aws.Credentials{AccessKeyID: id, SecretAccessKey: secret}, signer: v4.NewSigner()}
}

// WithSessionToken returns a copy of c that signs its calls with the
// session token of temporary credentials (c's key is then an ASIA… key).
func (c *Client) WithSessionToken(token string) *Client {
	cc := *c
	cc.creds.SessionToken = token
	return &cc
}

// VersionInfo is iamd's answer to the version call.
type VersionInfo struct {
	Protocol  int    `json:"protocol"`
	MinClient int    `json:"minClient"`
	AccountID string `json:"accountId"`
}

// Version asks iamd which protocol it speaks and which account it serves.
func (c *Client) Version(ctx context.Context) (VersionInfo, error) {
	var v VersionInfo
	err := c.call(ctx, "/private/version", struct{}{}, &v)
	if err == nil && v.MinClient > Protocol {
		err = fmt.Errorf("iamd requires protocol %d or newer, this client speaks %d", v.MinClient, Protocol)
	}
	return v, err
}

// Derive returns the signing key of access key id for one scope, and the
// ARN of the key's holder; token is the session token of a temporary
// key, "" for others. ErrNoSuchIdentity if iamd does not accept it.
func (c *Client) Derive(ctx context.Context, id, token, date, region, service string) ([]byte, string, error) {
	var out deriveResponse
	err := c.call(ctx, "/private/derive-signing-key", deriveRequest{AccessKeyID: id, SessionToken: token, Date: date, Region: region, Service: service}, &out)
	return out.DerivedKey, out.PrincipalArn, err
}

// Decision is iamd's answer for one request.
type Decision struct {
	Decisions    [][]string // "allow", "deny", "no_match", per resource and action
	PrincipalARN string
	PrincipalID  string
	AccountID    string
	// Unconditional: no Condition took part, so the same key, action and
	// resource are decided alike until Watch reports a change.
	Unconditional bool
}

// Evaluate asks for the decisions on actions × resources of a request
// signed by key id (with its session token, if temporary), with the
// request's condition keys.
func (c *Client) Evaluate(ctx context.Context, id, token, service, region string, actions, resources []string, condition map[string][]string) (Decision, error) {
	var out evaluateResponse
	err := c.call(ctx, "/private/evaluate-policy", evaluateRequest{AccessKeyID: id, SessionToken: token, Actions: actions, Resources: resources,
		Condition: condition, Region: region, Service: service}, &out)
	if err == nil && (len(out.Decisions) != len(resources) || len(resources) > 0 && len(out.Decisions[0]) != len(actions)) {
		err = errors.New("iamd answered a decision matrix of the wrong size")
	}
	return Decision{Decisions: out.Decisions, PrincipalARN: out.PrincipalArn, PrincipalID: out.PrincipalID, AccountID: out.AccountID,
		Unconditional: out.Unconditional}, err
}

// Change is one line of the watch stream (see WatchPath).
type Change struct {
	Key      string // this key was updated or deleted
	Policies bool   // some user's policies or groups changed
	All      bool   // anything may have changed
}

// Watch streams iamd's changes to fn until ctx ends or the stream breaks;
// ready is called once the watch is in place, before any change. When it
// returns, the caller must assume that anything changed.
func (c *Client) Watch(ctx context.Context, ready func(), fn func(Change)) error {
	req, err := c.signed(ctx, WatchPath, struct{}{})
	if err != nil {
		return err
	}
	// The stream outlives the client's per-call timeout.
	resp, err := (&http.Client{Transport: c.http.Transport}).Do(req)
	if err != nil {
		return fmt.Errorf("iamd: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK || resp.Header.Get(ProtocolHeader) == "" {
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
		return fmt.Errorf("iamd: %s answered %d: %s", WatchPath, resp.StatusCode, clip(string(b)))
	}
	dec := json.NewDecoder(resp.Body)
	for {
		var l watchLine
		if err := dec.Decode(&l); err != nil {
			return fmt.Errorf("iamd: the watch ended: %w", err)
		}
		switch {
		case l.Ready:
			ready()
		case l.Key != "" || l.Policies || l.All:
			fn(Change{Key: l.Key, Policies: l.Policies, All: l.All})
		}
	}
}

// signed is a protocol call of path with body in, signed with the
// client's key.
func (c *Client) signed(ctx context.Context, path string, in any) (*http.Request, error) {
	body, err := json.Marshal(in)
	if err != nil {
		return nil, err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.base+path, bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	sum := sha256.Sum256(body)
	hash := hex.EncodeToString(sum[:])
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set(ProtocolHeader, strconv.Itoa(Protocol))
	req.Header.Set("X-Amz-Content-Sha256", hash)
	if err := c.signer.SignHTTP(ctx, c.creds, req, hash, "iam", "us-east-1", time.Now()); err != nil {
		return nil, err
	}
	return req, nil
}

func (c *Client) call(ctx context.Context, path string, in, out any) error {
	req, err := c.signed(ctx, path, in)
	if err != nil {
		return err
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return fmt.Errorf("iamd: %w", err)
	}
	defer resp.Body.Close()
	if resp.Header.Get(ProtocolHeader) == "" {
		return fmt.Errorf("iamd: the answer from %s carries no %s header: not iamd", path, ProtocolHeader)
	}
	b, err := io.ReadAll(io.LimitReader(resp.Body, maxBody))
	if err != nil {
		return fmt.Errorf("iamd: %w", err)
	}
	if resp.StatusCode != http.StatusOK {
		var e struct{ Error, Code string }
		json.Unmarshal(b, &e)
		switch e.Code {
		case "NoSuchIdentity":
			return ErrNoSuchIdentity
		case "InvalidToken":
			return ErrInvalidToken
		}
		return fmt.Errorf("iamd: %s answered %d: %s", path, resp.StatusCode, clip(e.Error))
	}
	return json.Unmarshal(b, out)
}
