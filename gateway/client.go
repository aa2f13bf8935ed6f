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
// ARN of the key's holder. ErrNoSuchIdentity if iamd does not accept it.
func (c *Client) Derive(ctx context.Context, id, date, region, service string) ([]byte, string, error) {
	var out deriveResponse
	err := c.call(ctx, "/private/derive-signing-key", deriveRequest{AccessKeyID: id, Date: date, Region: region, Service: service}, &out)
	return out.DerivedKey, out.PrincipalArn, err
}

// Decision is iamd's answer for one request.
type Decision struct {
	Decisions    [][]string // "allow", "deny", "no_match", per resource and action
	PrincipalARN string
	PrincipalID  string
	AccountID    string
}

// Evaluate asks for the decisions on actions × resources of a request
// signed by key id, with the request's condition keys.
func (c *Client) Evaluate(ctx context.Context, id, service, region string, actions, resources []string, condition map[string][]string) (Decision, error) {
	var out evaluateResponse
	err := c.call(ctx, "/private/evaluate-policy", evaluateRequest{AccessKeyID: id, Actions: actions, Resources: resources,
		Condition: condition, Region: region, Service: service}, &out)
	if err == nil && (len(out.Decisions) != len(resources) || len(resources) > 0 && len(out.Decisions[0]) != len(actions)) {
		err = errors.New("iamd answered a decision matrix of the wrong size")
	}
	return Decision{Decisions: out.Decisions, PrincipalARN: out.PrincipalArn, PrincipalID: out.PrincipalID, AccountID: out.AccountID}, err
}

func (c *Client) call(ctx context.Context, path string, in, out any) error {
	body, err := json.Marshal(in)
	if err != nil {
		return err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.base+path, bytes.NewReader(body))
	if err != nil {
		return err
	}
	sum := sha256.Sum256(body)
	hash := hex.EncodeToString(sum[:])
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set(ProtocolHeader, strconv.Itoa(Protocol))
	req.Header.Set("X-Amz-Content-Sha256", hash)
	if err := c.signer.SignHTTP(ctx, c.creds, req, hash, "iam", "us-east-1", time.Now()); err != nil {
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
		if e.Code == "NoSuchIdentity" {
			return ErrNoSuchIdentity
		}
		return fmt.Errorf("iamd: %s answered %d: %s", path, resp.StatusCode, clip(e.Error))
	}
	return json.Unmarshal(b, out)
}
