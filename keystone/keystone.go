// Package keystone serves the part of OpenStack Keystone's identity API v3
// that object stores use to accept keys from an outside authority: Ceph
// RGW (rgw_s3_auth_use_keystone) and Swift's s3api with the s3token
// middleware send each S3 request's string to sign and signature to
// POST /v3/s3tokens; EC2-style services send a whole request to
// POST /v3/ec2tokens. Both are answered with who signed: a Keystone user,
// project and roles. The calling service logs in first with
// POST /v3/auth/tokens (password method: its iamd access key ID as the
// user name, the secret as the password) and must be allowed
// iamd:DecideRequests.
//
// What iamd never hands out: a key's secret (the credentials API that would
// return it, GET /v3/users/{id}/credentials/OS-EC2/{access}, is not
// served), and a token for a signed request (s3tokens and ec2tokens answer
// without X-Subject-Token, and no API accepts a token but those two). The
// service's own token opens nothing but s3tokens and ec2tokens, lasts an
// hour, and dies with its key.
//
// Mapping: the root and IAM users are users of one project, the account
// (id: the account ID); a Lightsail bucket's keys are the bucket's user in a
// project of the bucket's own (id: the bucket's UUID without dashes, name:
// the bucket's name), so that the store keeps them in an account of their
// own. Every answer carries the roles configured. expires_at is
// AnswerTTL after the answer: a store that caches answers forgets a
// deactivated key within it.
package keystone

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/netip"
	"net/url"
	"strings"
	"time"

	"iamd"
	"iamd/audit"
	"iamd/sigv4"
)

// AnswerTTL is the life of an s3tokens or ec2tokens answer.
const AnswerTTL = 10 * time.Second

// MaxPresignedAge is how old a request's time may be when s3tokens is
// asked about it: a presigned URL lives up to 7 days.
const MaxPresignedAge = 7 * 24 * time.Hour

const maxBody = 64 << 10

// Config configures a Handler.
type Config struct {
	// Service is the first account's: the calling service's user is one
	// of its.
	Service *iamd.Service
	// Accounts, when set, are the deployment's accounts: an EC2 credential
	// is checked in the account its key is for, which is its project.
	Accounts iamd.Accounts
	// Roles are the role names every answer carries; empty: "member".
	Roles  []string
	Logger *slog.Logger
	// Audit, when set, receives a line per login (refused ones too) and
	// per s3tokens and ec2tokens call.
	Audit *audit.Log
	Now   func() time.Time // tests only
}

// Handler serves the API.
type Handler struct {
	svc      *iamd.Service
	accounts iamd.Accounts // nil: one account
	roles    []role
	log      *slog.Logger
	audit    *audit.Log
	now      func() time.Time
}

// New returns a Handler.
func New(c Config) *Handler {
	h := &Handler{svc: c.Service, accounts: c.Accounts, log: c.Logger, audit: c.Audit, now: c.Now}
	if h.log == nil {
		h.log = slog.New(slog.DiscardHandler)
	}
	if h.now == nil {
		h.now = time.Now
	}
	names := c.Roles
	if len(names) == 0 {
		names = []string{"member"}
	}
	for _, n := range names {
		sum := sha256.Sum256([]byte("role:" + n))
		h.roles = append(h.roles, role{ID: hex.EncodeToString(sum[:16]), Name: n})
	}
	return h
}

// ---- wire shapes (Keystone identity API v3) ----

type domain struct {
	ID   string `json:"id"`
	Name string `json:"name"`
}

var defaultDomain = domain{ID: "default", Name: "Default"}

type user struct {
	ID     string `json:"id"`
	Name   string `json:"name"`
	Domain domain `json:"domain"`
}

type project struct {
	ID     string `json:"id"`
	Name   string `json:"name"`
	Domain domain `json:"domain"`
}

func (p *project) orEmpty() string {
	if p == nil {
		return ""
	}
	return p.ID
}

type role struct {
	ID   string `json:"id"`
	Name string `json:"name"`
}

type token struct {
	Methods   []string `json:"methods"`
	User      user     `json:"user"`
	Project   *project `json:"project,omitempty"`
	Roles     []role   `json:"roles"`
	ExpiresAt string   `json:"expires_at"`
	IssuedAt  string   `json:"issued_at"`
	AuditIDs  []string `json:"audit_ids"`
	Catalog   []any    `json:"catalog"`
}

// Keystone writes times with microseconds.
const timeFormat = "2006-01-02T15:04:05.000000Z"

// apiError is Keystone's error body: {"error": {code, title, message}}.
type apiError struct {
	Code    int    `json:"code"`
	Title   string `json:"title"`
	Message string `json:"message"`
}

func (e *apiError) Error() string { return e.Message }

var (
	errUnauthorized = &apiError{http.StatusUnauthorized, "Unauthorized", "The request you have made requires authentication."}
	errNotFound     = &apiError{http.StatusNotFound, "Not Found", "The resource could not be found."}
	errBadJSON      = &apiError{http.StatusBadRequest, "Bad Request", "Malformed request body."}
	errSignature    = &apiError{http.StatusUnauthorized, "Unauthorized", "The request you have made requires authentication."}
)

// call is what the audit log says of one call.
type call struct {
	action, target string
	service        *iamd.Caller // the calling store, once known
	signer         *iamd.Caller // who signed the request it asked about
}

func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	c := &call{}
	res, status, err := h.serve(r, w.Header(), c)
	if err != nil {
		h.writeError(w, r, c, err)
		return
	}
	if t, ok := res.(map[string]any)["token"].(*token); ok {
		h.log.Info("keystone", "method", r.Method, "path", r.URL.Path, "status", status, "user_id", t.User.ID, "project_id", t.Project.orEmpty())
	}
	h.record(r, c, status, "")
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(res)
}

// record writes the audit log's line for a call that names an action.
func (h *Handler) record(r *http.Request, c *call, status int, code string) {
	if h.audit == nil || c.action == "" {
		return
	}
	rec := &audit.Record{Door: audit.DoorKeystone, Service: "keystone", Action: c.action, Target: c.target, Status: status,
		ErrorCode: code, Outcome: audit.Allowed}
	if ap, err := netip.ParseAddrPort(r.RemoteAddr); err == nil {
		rec.SourceIP = ap.Addr().Unmap().String()
	}
	if c.service != nil {
		rec.Principal, rec.Account, rec.AccessKeyID = c.service.ARN(), c.service.Account, c.service.AccessKeyID
	}
	if c.signer != nil {
		rec.Identity = c.signer.ARN()
	}
	switch {
	case status == http.StatusUnauthorized || status == http.StatusForbidden:
		rec.Outcome = audit.Denied
	case status >= 400:
		rec.Outcome = audit.Failed
	}
	// Logins and answers are not changes: written, not fsynced.
	if err := h.audit.Write(rec, false); err != nil {
		h.log.Error("writing the audit log failed", "err", err)
	}
}

func (h *Handler) serve(r *http.Request, hdr http.Header, c *call) (any, int, error) {
	path := strings.TrimSuffix(r.URL.Path, "/")
	switch {
	case r.Method == http.MethodGet && (path == "" || path == "/v3"):
		return h.versions(r, path), http.StatusOK, nil
	case r.Method != http.MethodPost:
		return nil, 0, errNotFound
	}
	switch path {
	case "/v3/auth/tokens":
		c.action = "Login"
	case "/v3/s3tokens":
		c.action = "S3Tokens"
	case "/v3/ec2tokens":
		c.action = "EC2Tokens"
	default:
		return nil, 0, errNotFound
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, maxBody+1))
	if err != nil || len(body) > maxBody {
		return nil, 0, errBadJSON
	}
	switch path {
	case "/v3/auth/tokens":
		return h.login(r.Context(), body, hdr, c)
	case "/v3/s3tokens":
		return h.signed(r.Context(), r, body, c, h.s3token)
	}
	return h.signed(r.Context(), r, body, c, h.ec2token)
}

// versions is the discovery document keystoneauth reads.
func (h *Handler) versions(r *http.Request, path string) any {
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	v := map[string]any{
		"id": "v3.14", "status": "stable", "updated": "2020-04-07T00:00:00Z",
		"links":       []map[string]string{{"rel": "self", "href": scheme + "://" + r.Host + "/v3/"}},
		"media-types": []map[string]string{{"base": "application/json", "type": "application/vnd.openstack.identity-v3+json"}},
	}
	if path == "/v3" {
		return map[string]any{"version": v}
	}
	return map[string]any{"versions": map[string]any{"values": []any{v}}}
}

// ---- POST /v3/auth/tokens ----

type loginRequest struct {
	Auth struct {
		Identity struct {
			Methods  []string `json:"methods"`
			Password struct {
				User struct {
					ID       string `json:"id"`
					Name     string `json:"name"`
					Password string `json:"password"`
				} `json:"user"`
			} `json:"password"`
		} `json:"identity"`
		Scope json.RawMessage `json:"scope"`
	} `json:"auth"`
}

func (h *Handler) login(ctx context.Context, body []byte, hdr http.Header, lc *call) (any, int, error) {
	var req loginRequest
	if json.Unmarshal(body, &req) != nil {
		return nil, 0, errBadJSON
	}
	id := req.Auth.Identity.Password.User.ID
	if id == "" {
		id = req.Auth.Identity.Password.User.Name
	}
	lc.target = id
	if len(req.Auth.Identity.Methods) != 1 || req.Auth.Identity.Methods[0] != "password" || id == "" {
		return nil, 0, errUnauthorized
	}
	c, err := h.svc.CheckSecret(ctx, id, req.Auth.Identity.Password.User.Password)
	if err != nil {
		return nil, 0, err
	}
	caller := c.Caller
	lc.service = &caller
	if err := h.svc.Authorize(ctx, &caller, iamd.GatewayAction, "*"); err != nil {
		return nil, 0, err
	}
	tok, expires, err := h.svc.NewServiceToken(id)
	if err != nil {
		return nil, 0, err
	}
	hdr.Set("X-Subject-Token", tok)
	t, err := h.describe(&caller, []string{"password"}, expires)
	if err != nil {
		return nil, 0, err
	}
	if len(req.Auth.Scope) == 0 || string(req.Auth.Scope) == "null" {
		t.Project = nil // an unscoped token, as asked
	}
	return map[string]any{"token": t}, http.StatusCreated, nil
}

// ---- s3tokens and ec2tokens ----

// signed authenticates the calling service by its token, then answers
// with check's result. Temporary credentials are not accepted from the
// store's clients: a store that caches answers would keep serving a
// session past its revocation, and Keystone users are long-lived.
func (h *Handler) signed(ctx context.Context, r *http.Request, body []byte, lc *call, check func(context.Context, json.RawMessage) (*iamd.Caller, error)) (any, int, error) {
	svc, _, err := h.svc.ServiceTokenCredential(ctx, r.Header.Get("X-Auth-Token"))
	if err != nil {
		return nil, 0, err
	}
	sc := svc.Caller
	lc.service = &sc
	if err := h.svc.Authorize(ctx, &sc, iamd.GatewayAction, "*"); err != nil {
		return nil, 0, err
	}
	var req struct {
		Credentials json.RawMessage `json:"credentials"`
	}
	if json.Unmarshal(body, &req) != nil || len(req.Credentials) == 0 {
		return nil, 0, errBadJSON
	}
	var access struct {
		Access string `json:"access"`
	}
	json.Unmarshal(req.Credentials, &access)
	lc.target = access.Access
	c, err := check(ctx, req.Credentials)
	if err != nil {
		return nil, 0, err
	}
	if c.Session != nil || iamd.IsSessionKey(c.AccessKeyID) {
		return nil, 0, errUnauthorized
	}
	lc.signer = c
	t, err := h.describe(c, []string{"ec2credential"}, h.now().Add(AnswerTTL))
	if err != nil {
		return nil, 0, err
	}
	return map[string]any{"token": t}, http.StatusOK, nil
}

// s3token checks {"access", "token": base64 string to sign, "signature"}.
func (h *Handler) s3token(ctx context.Context, raw json.RawMessage) (*iamd.Caller, error) {
	var cr struct {
		Access    string `json:"access"`
		Token     string `json:"token"`
		Signature string `json:"signature"`
	}
	if json.Unmarshal(raw, &cr) != nil || cr.Access == "" || cr.Token == "" || cr.Signature == "" {
		return nil, errBadJSON
	}
	sts, err := decodeBase64(cr.Token)
	if err != nil {
		return nil, errBadJSON
	}
	if !strings.HasPrefix(string(sts), "AWS4-HMAC-SHA256\n") {
		// Signature version 2 (HMAC-SHA1) is not accepted: iamd keys sign
		// with SigV4 only.
		return nil, errSignature
	}
	c, a, err := h.keyService(ctx, cr.Access).CheckStringToSign(ctx, cr.Access, sts, cr.Signature, MaxPresignedAge)
	if err != nil {
		return nil, err
	}
	if a.Service != "s3" {
		return nil, errSignature
	}
	caller := c.Caller
	return &caller, nil
}

// decodeBase64 accepts both alphabets, padded or not: Swift sends the
// URL-safe one, RGW the standard one.
func decodeBase64(s string) ([]byte, error) {
	s = strings.TrimRight(s, "=")
	if strings.ContainsAny(s, "-_") {
		return base64.RawURLEncoding.DecodeString(s)
	}
	return base64.RawStdEncoding.DecodeString(s)
}

// ec2Credentials is a whole request, as keystoneclient's Ec2Signer and
// Keystone's ec2tokens describe it.
type ec2Credentials struct {
	Access    string            `json:"access"`
	Signature string            `json:"signature"`
	Host      string            `json:"host"`
	Verb      string            `json:"verb"`
	Path      string            `json:"path"`
	Params    map[string]string `json:"params"`
	Headers   map[string]string `json:"headers"`
	BodyHash  string            `json:"body_hash"`
}

// ec2token rebuilds the request and checks its SigV4 signature with the
// body hash given. As in Keystone, a POST's parameters are its body, so
// they are not part of the canonical query string.
func (h *Handler) ec2token(ctx context.Context, raw json.RawMessage) (*iamd.Caller, error) {
	var cr ec2Credentials
	if json.Unmarshal(raw, &cr) != nil || cr.Access == "" || cr.Verb == "" || cr.Path == "" || !strings.HasPrefix(cr.Path, "/") {
		return nil, errBadJSON
	}
	r, err := http.NewRequestWithContext(ctx, strings.ToUpper(cr.Verb), "http://placeholder", nil)
	if err != nil {
		return nil, errBadJSON
	}
	r.URL = &url.URL{Scheme: "http", Path: cr.Path, RawPath: cr.Path}
	if r.Method != http.MethodPost {
		q := url.Values{}
		for k, v := range cr.Params {
			q.Set(k, v)
		}
		r.URL.RawQuery = strings.ReplaceAll(q.Encode(), "+", "%20")
	}
	r.Header = http.Header{}
	for k, v := range cr.Headers {
		r.Header.Set(k, v)
	}
	r.Host = cmpOr(r.Header.Get("Host"), cr.Host)
	a, err := sigv4.Parse(r)
	if err != nil {
		return nil, errSignature
	}
	if a.AccessKeyID != cr.Access || a.Presigned && a.Signature != cr.Signature {
		return nil, errSignature
	}
	// Only long-term keys, and never a request made for iamd's own
	// services: a signed IAM call replayed here must not authenticate its
	// signer to the store.
	if a.SecurityToken != "" || iamd.IsSessionKey(a.AccessKeyID) || iamd.IsOwnService(a.Service) {
		return nil, errSignature
	}
	if !a.Presigned {
		a.Signature = cr.Signature
	}
	v := sigv4.Verifier{Now: h.now}
	var c *iamd.CachedCredential
	svc := h.keyService(ctx, a.AccessKeyID)
	p, err := v.Begin(r, a, a.Service, func(a *sigv4.Auth) ([]byte, error) {
		cc, key, err := svc.SigningKeyFor(ctx, a)
		c = cc
		return key, err
	})
	if err != nil {
		return nil, err
	}
	if !p.Verified() {
		if err := p.FinishHash(r, cr.BodyHash); err != nil {
			return nil, err
		}
	}
	svc.RecordUse(a.AccessKeyID, a.Region, a.Service)
	caller := c.Caller
	return &caller, nil
}

// keyService is the Service of the account an EC2 credential's key is
// for.
func (h *Handler) keyService(ctx context.Context, keyID string) *iamd.Service {
	if h.accounts == nil {
		return h.svc
	}
	return h.accounts.ForKey(ctx, keyID)
}

func cmpOr(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// describe is the token body for a caller: its Keystone user and project.
// The root, IAM users and buckets have one; anything else (a role's
// session) is refused rather than shown as someone it is not.
func (h *Handler) describe(c *iamd.Caller, methods []string, expires time.Time) (*token, error) {
	now := h.now().UTC()
	id := sha256.Sum256([]byte(c.AccessKeyID + now.String()))
	t := &token{
		Methods: methods, Roles: h.roles, Catalog: []any{},
		ExpiresAt: expires.UTC().Format(timeFormat), IssuedAt: now.Format(timeFormat),
		AuditIDs: []string{base64.RawURLEncoding.EncodeToString(id[:16])},
	}
	account := project{ID: c.Account, Name: c.Account, Domain: defaultDomain}
	switch {
	case c.Session != nil:
		return nil, errUnauthorized
	case c.Kind == iamd.CallerUser:
		t.User = user{ID: c.User.ID, Name: c.User.Name, Domain: defaultDomain}
		t.Project = &account
	case c.Kind == iamd.CallerBucket:
		t.User = user{ID: c.Bucket.PrincipalID, Name: "bucket/" + c.Bucket.Name, Domain: defaultDomain}
		t.Project = &project{ID: BucketProject(c.Bucket), Name: c.Bucket.Name, Domain: defaultDomain}
	case c.Kind == iamd.CallerRoot:
		t.User = user{ID: c.Account, Name: "root", Domain: defaultDomain}
		t.Project = &account
	default:
		return nil, errUnauthorized
	}
	return t, nil
}

// BucketProject is the Keystone project ID of a Lightsail bucket: its UUID
// without dashes, the form Keystone's own IDs take.
func BucketProject(b *iamd.Bucket) string { return strings.ReplaceAll(b.ID, "-", "") }

func (h *Handler) writeError(w http.ResponseWriter, r *http.Request, c *call, err error) {
	var ae *apiError
	var se *sigv4.Error
	switch {
	case errors.As(err, &ae):
	case errors.Is(err, iamd.ErrNoSuchIdentity), errors.As(err, &se):
		ae = errUnauthorized
	case iamd.KindOf(err) == iamd.AccessDenied:
		ae = &apiError{http.StatusForbidden, "Forbidden", "You are not authorized to perform the requested action: " + iamd.GatewayAction + "."}
	case iamd.KindOf(err) == iamd.Unavailable:
		ae = &apiError{http.StatusServiceUnavailable, "Service Unavailable", "The service is temporarily unavailable."}
	default:
		ae = &apiError{http.StatusInternalServerError, "Internal Server Error", "An unexpected error prevented the server from fulfilling your request."}
		h.log.Error("keystone request failed", "path", r.URL.Path, "err", err)
	}
	if ae.Code == http.StatusUnauthorized {
		w.Header().Set("WWW-Authenticate", `Keystone uri="`+scheme(r)+"://"+r.Host+`/v3"`)
	}
	h.log.Info("keystone", "method", r.Method, "path", r.URL.Path, "status", ae.Code)
	h.record(r, c, ae.Code, ae.Title)
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(ae.Code)
	json.NewEncoder(w).Encode(map[string]*apiError{"error": ae})
}

func scheme(r *http.Request) string {
	if r.TLS != nil {
		return "https"
	}
	return "http"
}
