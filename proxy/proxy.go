// Package proxy is an authenticating front for HTTP APIs, as AWS API
// Gateway's IAM authorization is one: it verifies the SigV4 signature of
// each request (service execute-api, body hash included), has iamd decide
// execute-api:Invoke on arn:aws:execute-api:<region>:<account>:<api-id>/
// <stage>/<METHOD>/<path> with the caller's policies, and forwards allowed
// requests to the upstream with the caller's identity in headers.
//
// It never holds a key's secret: it asks iamd (package gateway's Client)
// for the signing key of the one scope a request was signed for, and for
// the decision, signing those calls with its own iamd key.
package proxy

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httputil"
	"net/netip"
	"net/url"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"

	"iamd/gateway"
	"iamd/sigv4"
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
	// MaxBody bounds a request body (default 1 GiB). Bodies whose hash is
	// not among the signed headers are spooled to SpoolDir (default the
	// system's temporary directory) beyond 1 MiB, so memory stays flat.
	MaxBody  int64
	SpoolDir string
}

// Proxy is the front, an http.Handler; AuthHandler is the same decision
// for nginx auth_request and Caddy forward_auth.
type Proxy struct {
	cfg      Config
	verifier sigv4.Verifier
	rp       *httputil.ReverseProxy
	log      *slog.Logger
	keys     keyCache
}

// keyCache keeps the signing keys iamd derived, by access key ID and
// scope: one call to iamd per request instead of two. It is safe because
// every request still asks iamd for its decision, which refuses a key that
// was disabled or deleted, and a key ID is never reused.
type keyCache struct {
	m sync.Map // access key ID + "/" + scope → []byte
	n atomic.Int64
}

const maxCachedKeys = 10000

func (c *keyCache) get(id, scope string) []byte {
	if v, ok := c.m.Load(id + "/" + scope); ok {
		return v.([]byte)
	}
	return nil
}

func (c *keyCache) put(id, scope string, key []byte) {
	if c.n.Add(1) > maxCachedKeys {
		c.m.Clear()
		c.n.Store(1)
	}
	c.m.Store(id+"/"+scope, key)
}

// New returns a Proxy for cfg.
func New(cfg Config) *Proxy {
	if cfg.MaxBody <= 0 {
		cfg.MaxBody = 1 << 30
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	p := &Proxy{cfg: cfg, log: cfg.Logger, verifier: sigv4.Verifier{Region: func(r string) bool { return r == cfg.Region }}}
	p.rp = &httputil.ReverseProxy{
		Rewrite: func(pr *httputil.ProxyRequest) {
			pr.SetURL(cfg.Upstream)
			pr.Out.Host = pr.In.Host
			pr.SetXForwarded()
		},
		ErrorHandler: func(w http.ResponseWriter, r *http.Request, err error) {
			p.log.Warn("upstream request failed", "err", err)
			writeError(w, http.StatusBadGateway, "", "Internal server error")
		},
	}
	return p
}

// who is an authenticated, allowed caller.
type who struct {
	accessKey string
	d         gateway.Decision
}

// apiError is a refusal, answered as API Gateway does: {"message": …}.
type apiError struct {
	status int
	typ    string // x-amzn-ErrorType
	msg    string
}

func (e *apiError) Error() string { return e.msg }

func writeError(w http.ResponseWriter, status int, typ, msg string) {
	w.Header().Set("Content-Type", "application/json")
	if typ != "" {
		w.Header().Set("X-Amzn-Errortype", typ)
	}
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(map[string]string{"message": msg})
}

func (p *Proxy) refuse(w http.ResponseWriter, err error, status int) {
	var ae *apiError
	var se *sigv4.Error
	switch {
	case errors.As(err, &ae):
		writeError(w, cmpStatus(status, ae.status), ae.typ, ae.msg)
	case errors.As(err, &se):
		typ := map[string]string{sigv4.CodeMissingAuth: "MissingAuthenticationTokenException", sigv4.CodeIncomplete: "IncompleteSignatureException",
			sigv4.CodeInvalidToken: "UnrecognizedClientException", sigv4.CodeSignatureMismatch: "InvalidSignatureException", sigv4.CodeExpired: "InvalidSignatureException"}[se.Code]
		msg := se.Message
		if se.Code == sigv4.CodeMissingAuth {
			msg = "Missing Authentication Token" // API Gateway's words
		}
		writeError(w, cmpStatus(status, http.StatusForbidden), typ, msg)
	default:
		p.log.Error("deciding a request failed", "err", err)
		writeError(w, http.StatusInternalServerError, "", "Internal server error")
	}
}

// cmpStatus is status, unless it is 0.
func cmpStatus(status, def int) int {
	if status != 0 {
		return status
	}
	return def
}

var errInvalidKey = &sigv4.Error{Code: sigv4.CodeInvalidToken, Message: "The security token included in the request is invalid."}

// begin checks r's signature as far as its headers allow, asking iamd for
// the signing key of its scope.
func (p *Proxy) begin(r *http.Request) (*sigv4.Auth, sigv4.Pending, error) {
	a, err := sigv4.Parse(r)
	if err != nil {
		return nil, sigv4.Pending{}, err
	}
	pending, err := p.verifier.Begin(r, a, "execute-api", func(a *sigv4.Auth) ([]byte, error) {
		if a.SecurityToken != "" {
			return nil, errInvalidKey
		}
		if key := p.keys.get(a.AccessKeyID, a.Scope); key != nil {
			return key, nil
		}
		key, _, err := p.cfg.IAMD.Derive(r.Context(), a.AccessKeyID, a.Date, a.Region, a.Service)
		if errors.Is(err, gateway.ErrNoSuchIdentity) {
			return nil, errInvalidKey
		}
		if err == nil {
			p.keys.put(a.AccessKeyID, a.Scope, key)
		}
		return key, err
	})
	return a, pending, err
}

// decide asks iamd whether the authenticated signer of r may invoke it.
func (p *Proxy) decide(ctx context.Context, r *http.Request, a *sigv4.Auth, path string) (*who, error) {
	arn := "arn:aws:execute-api:" + p.cfg.Region + ":" + p.cfg.Account + ":" + p.cfg.APIID + "/" + p.cfg.Stage + "/" + r.Method + "/" + strings.TrimPrefix(path, "/")
	cond := map[string][]string{"aws:SecureTransport": {strconv.FormatBool(r.TLS != nil)}}
	if ap, err := netip.ParseAddrPort(r.RemoteAddr); err == nil {
		cond["aws:SourceIp"] = []string{ap.Addr().Unmap().String()}
	}
	if ua := r.UserAgent(); ua != "" {
		cond["aws:UserAgent"] = []string{ua}
	}
	if ref := r.Referer(); ref != "" {
		cond["aws:Referer"] = []string{ref}
	}
	d, err := p.cfg.IAMD.Evaluate(ctx, a.AccessKeyID, "execute-api", p.cfg.Region, []string{"execute-api:Invoke"}, []string{arn}, cond)
	if errors.Is(err, gateway.ErrNoSuchIdentity) {
		return nil, errInvalidKey
	}
	if err != nil {
		return nil, err
	}
	switch d.Decisions[0][0] {
	case "allow":
		return &who{accessKey: a.AccessKeyID, d: d}, nil
	case "deny":
		return nil, &apiError{http.StatusForbidden, "AccessDeniedException",
			"User: " + d.PrincipalARN + " is not authorized to perform: execute-api:Invoke on resource: " + arn + " with an explicit deny"}
	}
	return nil, &apiError{http.StatusForbidden, "AccessDeniedException",
		"User: " + d.PrincipalARN + " is not authorized to perform: execute-api:Invoke on resource: " + arn}
}

// identify replaces the identity headers of h with the caller's.
func (w *who) identify(h http.Header) {
	for k := range h {
		if strings.HasPrefix(k, HeaderPrefix) {
			delete(h, k)
		}
	}
	h.Set(HeaderUserARN, w.d.PrincipalARN)
	h.Set(HeaderAccount, w.d.AccountID)
	h.Set(HeaderAccessKey, w.accessKey)
	h.Set(HeaderCaller, w.d.PrincipalID)
	h.Set(HeaderUser, w.d.PrincipalID)
}

func (p *Proxy) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.ContentLength > p.cfg.MaxBody {
		writeError(w, http.StatusRequestEntityTooLarge, "", "Request Too Long")
		return
	}
	a, pending, err := p.begin(r)
	if err != nil {
		p.refuse(w, err, 0)
		return
	}
	if pending.Verified() {
		// Signed over X-Amz-Content-Sha256: authenticated from the headers,
		// so decide now and stream the body, checking its hash as it goes;
		// a body that turns out not to match is cut off before its end.
		caller, err := p.decide(r.Context(), r, a, r.URL.Path)
		if err != nil {
			p.refuse(w, err, 0)
			return
		}
		want := r.Header.Get("X-Amz-Content-Sha256")
		r.Body = sigv4.CheckedBody(http.MaxBytesReader(w, r.Body, p.cfg.MaxBody), want, r.ContentLength)
		caller.identify(r.Header)
		p.rp.ServeHTTP(w, r)
		return
	}
	// Otherwise the body is read, hashed and kept (on disk past 1 MiB)
	// before anything is decided or forwarded.
	body, sum, err := spool(http.MaxBytesReader(w, r.Body, p.cfg.MaxBody), p.cfg.SpoolDir)
	if err != nil {
		writeError(w, http.StatusBadRequest, "", "The request body could not be read.")
		return
	}
	defer body.Close()
	if err := pending.FinishHash(r, sum); err != nil {
		p.refuse(w, err, 0)
		return
	}
	caller, err := p.decide(r.Context(), r, a, r.URL.Path)
	if err != nil {
		p.refuse(w, err, 0)
		return
	}
	caller.identify(r.Header)
	r.Body = body
	p.rp.ServeHTTP(w, r)
}

// AuthHandler answers nginx auth_request and Caddy forward_auth: the
// original method and URI come in X-Original-Method and X-Original-URI
// (nginx) or X-Forwarded-Method and X-Forwarded-Uri (Caddy), the client's
// headers as they were. No body reaches it: the payload hash is taken from
// X-Amz-Content-Sha256 when the client signed one, and is the empty body's
// otherwise. 200 carries the identity headers; 401 is a failed
// authentication, 403 a refusal.
func (p *Proxy) AuthHandler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		method := firstOf(r.Header, "X-Original-Method", "X-Forwarded-Method")
		uri := firstOf(r.Header, "X-Original-Uri", "X-Forwarded-Uri")
		u, err := url.ParseRequestURI(uri)
		if method == "" || err != nil {
			writeError(w, http.StatusBadRequest, "", "X-Original-Method and X-Original-URI must name the request to decide.")
			return
		}
		orig := r.Clone(r.Context())
		orig.Method, orig.URL, orig.RequestURI = method, u, uri
		orig.ContentLength = 0
		a, pending, err := p.begin(orig)
		if err == nil && !pending.Verified() {
			err = pending.FinishHash(orig, sigv4.EmptySHA256)
		}
		if err != nil {
			p.refuse(w, err, http.StatusUnauthorized)
			return
		}
		caller, err := p.decide(r.Context(), orig, a, u.Path)
		if err != nil {
			var ae *apiError
			if errors.As(err, &ae) {
				p.refuse(w, err, http.StatusForbidden)
			} else {
				p.refuse(w, err, http.StatusUnauthorized)
			}
			return
		}
		caller.identify(w.Header())
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

// spooled is a body read in full: in memory, or in a temporary file that
// Close removes.
type spooled struct {
	io.Reader
	f *os.File
}

func (s *spooled) Close() error {
	if s.f != nil {
		s.f.Close()
		return os.Remove(s.f.Name())
	}
	return nil
}

// spool reads r, keeping up to 1 MiB in memory and the rest in a file, and
// returns it with its SHA-256 in hex.
func spool(r io.Reader, dir string) (*spooled, string, error) {
	h := sha256.New()
	const inMemory = 1 << 20
	buf := make([]byte, 0, 4096)
	for len(buf) < inMemory {
		if len(buf) == cap(buf) {
			buf = append(buf, 0)[:len(buf)]
		}
		n, err := r.Read(buf[len(buf):min(cap(buf), inMemory)])
		buf = buf[:len(buf)+n]
		if err == io.EOF {
			h.Write(buf)
			return &spooled{Reader: bytes.NewReader(buf)}, hex.EncodeToString(h.Sum(nil)), nil
		}
		if err != nil {
			return nil, "", err
		}
	}
	f, err := os.CreateTemp(dir, "iamd-proxy-body-")
	if err != nil {
		return nil, "", err
	}
	h.Write(buf)
	if _, err := f.Write(buf); err != nil {
		f.Close()
		os.Remove(f.Name())
		return nil, "", err
	}
	if _, err := io.Copy(io.MultiWriter(f, h), r); err != nil {
		f.Close()
		os.Remove(f.Name())
		return nil, "", err
	}
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		f.Close()
		os.Remove(f.Name())
		return nil, "", err
	}
	return &spooled{Reader: f, f: f}, hex.EncodeToString(h.Sum(nil)), nil
}
