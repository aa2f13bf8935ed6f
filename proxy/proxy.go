// Package proxy is an authenticating front for HTTP APIs, as AWS API
// Gateway's IAM authorization is one: it verifies the SigV4 signature of
// each request (service execute-api, body hash included), has iamd decide
// execute-api:Invoke on arn:aws:execute-api:<region>:<account>:<api-id>/
// <stage>/<METHOD>/<path> with the caller's policies, and forwards allowed
// requests to the upstream with the caller's identity in headers.
//
// Verification and decision are package iamdauth's, which never holds a
// key's secret: the front is iamdauth with a reverse proxy behind it.
package proxy

import (
	"context"
	"log/slog"
	"net/http"
	"net/http/httputil"
	"net/url"
	"strings"

	"iamd/gateway"
	"iamd/iamdauth"
)

// Identity headers the upstream receives, after any a client sent under
// these names was removed; modelled on API Gateway's
// requestContext.identity (userArn, accountId, accessKey, caller, user).
const (
	HeaderPrefix    = "X-Iamd-Identity-"
	HeaderUserARN   = HeaderPrefix + "User-Arn"
	HeaderAccount   = HeaderPrefix + "Account-Id"
	HeaderAccessKey = HeaderPrefix + "Access-Key"
	HeaderCaller    = HeaderPrefix + "Caller"
	HeaderUser      = HeaderPrefix + "User"
)

// Config configures a Proxy.
type Config struct {
	Upstream *url.URL
	APIID    string
	Stage    string
	Region   string // the API's region: signatures must be scoped to it
	IAMD     *gateway.Client
	Account  string // iamd's account, as its version call reports it
	Logger   *slog.Logger
	MaxBody  int64  // see iamdauth.Config
	SpoolDir string // see iamdauth.Config
}

// Proxy is the front, an http.Handler; AuthHandler is the same decision
// for nginx auth_request and Caddy forward_auth.
type Proxy struct {
	cfg  Config
	auth *iamdauth.Authenticator
	rp   *httputil.ReverseProxy
	log  *slog.Logger
}

// New returns a Proxy for cfg; it follows iamd's changes until ctx ends.
func New(ctx context.Context, cfg Config) *Proxy {
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	p := &Proxy{cfg: cfg, log: cfg.Logger}
	p.auth = iamdauth.New(ctx, iamdauth.Config{IAMD: cfg.IAMD, Service: "execute-api", Region: cfg.Region,
		MaxBody: cfg.MaxBody, SpoolDir: cfg.SpoolDir, Logger: cfg.Logger,
		Decide: func(r *http.Request) (string, string) {
			return "execute-api:Invoke", "arn:aws:execute-api:" + cfg.Region + ":" + cfg.Account + ":" + cfg.APIID + "/" + cfg.Stage + "/" +
				r.Method + "/" + strings.TrimPrefix(r.URL.Path, "/")
		}})
	p.rp = &httputil.ReverseProxy{
		// Rewrite runs after the hop-by-hop headers (those the client
		// named in Connection among them) are gone from Out: identity
		// headers set here reach the upstream whatever the client sent.
		Rewrite: func(pr *httputil.ProxyRequest) {
			pr.SetURL(cfg.Upstream)
			pr.Out.Host = pr.In.Host
			pr.SetXForwarded()
			identify(pr.Out.Header, callerFrom(pr.In))
		},
		ErrorHandler: func(w http.ResponseWriter, r *http.Request, err error) {
			p.log.Warn("upstream request failed", "err", err)
			iamdauth.WriteRefusal(w, &iamdauth.Refusal{Status: http.StatusBadGateway, Message: "Internal server error"}, p.log)
		},
	}
	return p
}

// isIdentityHeader reports whether a header name is, or may be read by
// the upstream as, one of the identity headers: CGI and WSGI servers turn
// both "-" and "_" into "_", so X_Iamd_Identity_User_Arn arrives as
// HTTP_X_IAMD_IDENTITY_USER_ARN.
func isIdentityHeader(name string) bool {
	n := strings.ReplaceAll(strings.ToLower(strings.TrimSpace(name)), "_", "-")
	return strings.HasPrefix(n, strings.ToLower(HeaderPrefix))
}

// identify replaces the identity headers of h with the caller's: every
// header that isIdentityHeader is removed first.
func identify(h http.Header, c *iamdauth.Caller) {
	for k := range h {
		if isIdentityHeader(k) {
			delete(h, k)
		}
	}
	h.Set(HeaderUserARN, c.ARN)
	h.Set(HeaderAccount, c.Account)
	h.Set(HeaderAccessKey, c.AccessKeyID)
	h.Set(HeaderCaller, c.ID)
	h.Set(HeaderUser, c.ID)
}

type callerKey struct{}

func callerFrom(r *http.Request) *iamdauth.Caller {
	return r.Context().Value(callerKey{}).(*iamdauth.Caller)
}

// errHopByHopIdentity refuses a request that asks for an identity header
// to be dropped on the way (Connection: X-Iamd-Identity-…).
var errHopByHopIdentity = &iamdauth.Refusal{Status: http.StatusBadRequest, Type: "BadRequestException",
	Message: "The Connection header must not name an X-Iamd-Identity- header."}

func (p *Proxy) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	for _, v := range r.Header.Values("Connection") {
		for _, name := range strings.Split(v, ",") {
			if isIdentityHeader(name) {
				iamdauth.WriteRefusal(w, errHopByHopIdentity, p.log)
				return
			}
		}
	}
	c, body, err := p.auth.Authenticate(r)
	if err != nil {
		iamdauth.WriteRefusal(w, err, p.log)
		return
	}
	defer body.Close()
	r.Body = body
	p.rp.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), callerKey{}, c)))
}

// AuthHandler answers nginx auth_request and Caddy forward_auth: the
// original method and URI come in X-Original-Method and X-Original-URI
// (nginx) or X-Forwarded-Method and X-Forwarded-Uri (Caddy), the client's
// headers as they were. No body reaches it: the payload hash is taken from
// X-Amz-Content-Sha256 when the client signed one, and is the empty body's
// otherwise. 200 carries the identity headers; 401 is a failed
// authentication, 403 a refusal by the policies.
func (p *Proxy) AuthHandler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		method := firstOf(r.Header, "X-Original-Method", "X-Forwarded-Method")
		uri := firstOf(r.Header, "X-Original-Uri", "X-Forwarded-Uri")
		u, err := url.ParseRequestURI(uri)
		if method == "" || err != nil {
			iamdauth.WriteRefusal(w, &iamdauth.Refusal{Status: http.StatusBadRequest,
				Message: "X-Original-Method and X-Original-URI must name the request to decide."}, p.log)
			return
		}
		orig := r.Clone(r.Context())
		orig.Method, orig.URL, orig.RequestURI, orig.ContentLength = method, u, uri, 0
		c, err := p.auth.AuthenticateHeaders(orig)
		if err != nil {
			// nginx passes only 401 and 403 on: a failed signature is 401.
			if rf, ok := err.(*iamdauth.Refusal); ok && !rf.Denied && rf.Status == http.StatusForbidden {
				err = &iamdauth.Refusal{Status: http.StatusUnauthorized, Type: rf.Type, Message: rf.Message}
			}
			iamdauth.WriteRefusal(w, err, p.log)
			return
		}
		identify(w.Header(), c)
		w.WriteHeader(http.StatusOK)
	})
}

func firstOf(h http.Header, names ...string) string {
	for _, n := range names {
		if v := h.Get(n); v != "" {
			return v
		}
	}
	return ""
}
