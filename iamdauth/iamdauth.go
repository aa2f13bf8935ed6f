// Package iamdauth is http.Handler middleware for Go services that accept
// iamd's keys: it verifies each request's SigV4 signature locally and has
// the caller's policies decide the action and resource the service names.
//
// It never holds a key's secret. It asks iamd (over the protocol of
// package gateway, with the service's own key, which needs
// iamd:DecideRequests) for the signing key of the one scope a request was
// signed for, and keeps it. Decisions that no Condition took part in are
// kept too, while iamd's watch stream is in place: iamd pushes every
// change that may alter what a key may do (a key disabled or deleted, a
// policy or group changed), and the middleware drops what it names at
// once. Without the stream, nothing is decided from memory: each request
// is decided by iamd, so revocation still holds on the next request.
package iamdauth

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
	"net/netip"
	"os"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"iamd/gateway"
	"iamd/sigv4"
)

// Config configures an Authenticator.
type Config struct {
	IAMD    *gateway.Client
	Service string // the signing service the clients use, e.g. execute-api
	Region  string // the region signatures must be scoped to
	// Decide names the action and the resource a request needs, e.g.
	// ("execute-api:Invoke", "arn:aws:execute-api:…/GET/pets").
	Decide func(r *http.Request) (action, resource string)
	// MaxBody bounds a request body (default 1 GiB). A body whose hash is
	// signed streams, checked as it is read; any other is read and checked
	// first, in memory up to 1 MiB and in a file of SpoolDir (default the
	// system's temporary directory) beyond, so memory stays flat.
	MaxBody  int64
	SpoolDir string
	Logger   *slog.Logger
}

// Caller is the authenticated principal of a request.
type Caller struct {
	ARN, ID, Account, AccessKeyID string
}

type ctxKey struct{}

// CallerFrom returns the caller the middleware put in the request's context.
func CallerFrom(ctx context.Context) (*Caller, bool) {
	c, ok := ctx.Value(ctxKey{}).(*Caller)
	return c, ok
}

// Authenticator verifies and decides requests; Handler wraps a service.
type Authenticator struct {
	cfg      Config
	verifier sigv4.Verifier
	log      *slog.Logger

	live atomic.Bool  // the watch stream is in place
	gen  atomic.Int64 // bumped by every change and every loss of the stream

	mu        sync.Mutex
	keys      map[string]map[string][]byte    // access key ID → scope → signing key
	decisions map[string]map[string]*decision // access key ID → action + resource → decision
}

type decision struct {
	allowed, denied bool // denied: by an explicit Deny
	caller          Caller
}

// New returns an Authenticator and starts following iamd's changes until
// ctx ends.
func New(ctx context.Context, cfg Config) *Authenticator {
	if cfg.MaxBody <= 0 {
		cfg.MaxBody = 1 << 30
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	a := &Authenticator{cfg: cfg, log: cfg.Logger, keys: map[string]map[string][]byte{}, decisions: map[string]map[string]*decision{},
		verifier: sigv4.Verifier{Region: func(_, r string) bool { return r == cfg.Region }}}
	go a.follow(ctx)
	return a
}

// Live reports whether iamd's change stream is in place, and so whether
// decisions are kept.
func (a *Authenticator) Live() bool { return a.live.Load() }

// follow keeps the watch stream open, reconnecting with a short backoff;
// whenever it is down, nothing is decided from memory.
func (a *Authenticator) follow(ctx context.Context) {
	backoff := 100 * time.Millisecond
	for ctx.Err() == nil {
		err := a.cfg.IAMD.Watch(ctx, func() {
			a.gen.Add(1)
			a.live.Store(true)
			backoff = 100 * time.Millisecond
		}, a.apply)
		a.live.Store(false)
		a.forget("", true, true)
		if ctx.Err() != nil {
			return
		}
		a.log.Warn("iamd's change stream is down; deciding every request with iamd until it is back", "err", err)
		select {
		case <-ctx.Done():
			return
		case <-time.After(backoff):
		}
		backoff = min(2*backoff, 5*time.Second)
	}
}

func (a *Authenticator) apply(c gateway.Change) {
	a.forget(c.Key, c.Policies, c.All)
}

// forget drops what a change names: one key's signing keys and decisions,
// every decision (policies), or everything.
func (a *Authenticator) forget(key string, policies, all bool) {
	a.gen.Add(1)
	a.mu.Lock()
	defer a.mu.Unlock()
	switch {
	case all:
		clear(a.keys)
		clear(a.decisions)
	case policies:
		clear(a.decisions)
	}
	if key != "" {
		delete(a.keys, key)
		delete(a.decisions, key)
	}
}

const maxEntries = 10000

func (a *Authenticator) signingKey(ctx context.Context, s *sigv4.Auth) ([]byte, error) {
	if s.SecurityToken != "" {
		// Temporary credentials expire and are not kept: iamd checks each.
		k, _, err := a.cfg.IAMD.Derive(ctx, s.AccessKeyID, s.SecurityToken, s.Date, s.Region, s.Service)
		if errors.Is(err, gateway.ErrNoSuchIdentity) || errors.Is(err, gateway.ErrInvalidToken) {
			return nil, errInvalidKey
		}
		return k, err
	}
	a.mu.Lock()
	k := a.keys[s.AccessKeyID][s.Scope]
	a.mu.Unlock()
	if k != nil {
		return k, nil
	}
	gen := a.gen.Load()
	k, _, err := a.cfg.IAMD.Derive(ctx, s.AccessKeyID, "", s.Date, s.Region, s.Service)
	if errors.Is(err, gateway.ErrNoSuchIdentity) {
		return nil, errInvalidKey
	}
	if err != nil {
		return nil, err
	}
	a.mu.Lock()
	if a.gen.Load() == gen {
		if len(a.keys) >= maxEntries {
			clear(a.keys)
		}
		if a.keys[s.AccessKeyID] == nil {
			a.keys[s.AccessKeyID] = map[string][]byte{}
		}
		a.keys[s.AccessKeyID][s.Scope] = k
	}
	a.mu.Unlock()
	return k, nil
}

func (a *Authenticator) decide(ctx context.Context, r *http.Request, id, token, action, resource string) (*decision, error) {
	var d *decision
	if token == "" {
		a.mu.Lock()
		d = a.decisions[id][action+" "+resource]
		a.mu.Unlock()
	}
	if d != nil && a.live.Load() {
		return d, nil
	}
	gen := a.gen.Load()
	cond := map[string][]string{"aws:SecureTransport": {strconv.FormatBool(r.TLS != nil)}}
	if ap, err := netip.ParseAddrPort(r.RemoteAddr); err == nil {
		cond["aws:SourceIp"] = []string{ap.Addr().Unmap().String()}
	}
	if ua := r.UserAgent(); ua != "" {
		cond["aws:UserAgent"] = []string{ua}
	}
	out, err := a.cfg.IAMD.Evaluate(ctx, id, token, a.cfg.Service, a.cfg.Region, []string{action}, []string{resource}, cond)
	if errors.Is(err, gateway.ErrNoSuchIdentity) || errors.Is(err, gateway.ErrInvalidToken) {
		return nil, errInvalidKey
	}
	if err != nil {
		return nil, err
	}
	d = &decision{allowed: out.Decisions[0][0] == "allow", denied: out.Decisions[0][0] == "deny",
		caller: Caller{ARN: out.PrincipalARN, ID: out.PrincipalID, Account: out.AccountID, AccessKeyID: id}}
	if out.Unconditional && token == "" && a.live.Load() {
		a.mu.Lock()
		if a.gen.Load() == gen {
			if len(a.decisions) >= maxEntries {
				clear(a.decisions)
			}
			if a.decisions[id] == nil {
				a.decisions[id] = map[string]*decision{}
			}
			a.decisions[id][action+" "+resource] = d
		}
		a.mu.Unlock()
	}
	return d, nil
}

var errInvalidKey = &sigv4.Error{Code: sigv4.CodeInvalidToken, Message: "The security token included in the request is invalid."}

// Refusal is a request refused, with the status and the words API Gateway
// answers it with; Type is its X-Amzn-ErrorType. Any other error from
// Authenticate is a failure of iamd or of the service.
type Refusal struct {
	Status  int
	Type    string
	Message string
	Denied  bool // by the policies, rather than for the signature
}

func (r *Refusal) Error() string { return r.Message }

var signatureTypes = map[string]string{sigv4.CodeMissingAuth: "MissingAuthenticationTokenException", sigv4.CodeIncomplete: "IncompleteSignatureException",
	sigv4.CodeInvalidToken: "UnrecognizedClientException", sigv4.CodeSignatureMismatch: "InvalidSignatureException", sigv4.CodeExpired: "InvalidSignatureException"}

// refusal turns a signature failure into a Refusal.
func refusal(err error) error {
	var se *sigv4.Error
	if !errors.As(err, &se) {
		return err
	}
	msg := se.Message
	if se.Code == sigv4.CodeMissingAuth {
		msg = "Missing Authentication Token" // API Gateway's words
	}
	return &Refusal{Status: http.StatusForbidden, Type: signatureTypes[se.Code], Message: msg}
}

// WriteRefusal answers err as API Gateway does: {"message": …}.
func WriteRefusal(w http.ResponseWriter, err error, log *slog.Logger) {
	var rf *Refusal
	if !errors.As(err, &rf) {
		log.Error("deciding a request failed", "err", err)
		rf = &Refusal{Status: http.StatusInternalServerError, Message: "Internal server error"}
	}
	w.Header().Set("Content-Type", "application/json")
	if rf.Type != "" {
		w.Header().Set("X-Amzn-Errortype", rf.Type)
	}
	w.WriteHeader(rf.Status)
	json.NewEncoder(w).Encode(map[string]string{"message": rf.Message})
}

// Authenticate verifies r's signature and decides r. A path with empty,
// "." or ".." segments is refused, since the signature also covers its
// normalized form. It returns the caller
// and the body to read in r's place: streamed and checked as it is read
// when its hash was signed, else already read and checked. The caller
// closes the body. Refusals are *Refusal.
func (a *Authenticator) Authenticate(r *http.Request) (*Caller, io.ReadCloser, error) {
	if r.ContentLength > a.cfg.MaxBody {
		return nil, nil, &Refusal{Status: http.StatusRequestEntityTooLarge, Message: "Request Too Long"}
	}
	s, p, err := a.begin(r)
	if err != nil {
		return nil, nil, err
	}
	var body io.ReadCloser
	switch {
	case p.Verified():
		body = sigv4.CheckedBody(r.Body, r.Header.Get("X-Amz-Content-Sha256"), r.ContentLength)
	case r.ContentLength == 0:
		if err := p.FinishHash(r, sigv4.EmptySHA256); err != nil {
			return nil, nil, refusal(err)
		}
		body = http.NoBody
	default:
		sp, sum, err := spool(io.LimitReader(r.Body, a.cfg.MaxBody+1), a.cfg.SpoolDir, a.cfg.MaxBody)
		if err != nil {
			return nil, nil, err
		}
		if err := p.FinishHash(r, sum); err != nil {
			sp.Close()
			return nil, nil, refusal(err)
		}
		body = sp
	}
	c, err := a.decideRequest(r, s)
	if err != nil {
		body.Close()
		return nil, nil, err
	}
	return c, body, nil
}

// AuthenticateHeaders is Authenticate for a request whose body is not at
// hand (an nginx auth_request): the payload hash is the signed
// X-Amz-Content-Sha256, or the empty body's.
func (a *Authenticator) AuthenticateHeaders(r *http.Request) (*Caller, error) {
	s, p, err := a.begin(r)
	if err == nil && !p.Verified() {
		err = refusal(p.FinishHash(r, sigv4.EmptySHA256))
	}
	if err != nil {
		return nil, err
	}
	return a.decideRequest(r, s)
}

// errPath refuses a path the signature does not name exactly.
var errPath = &Refusal{Status: http.StatusBadRequest, Type: "BadRequestException",
	Message: "The request path must not hold empty, '.' or '..' segments."}

func (a *Authenticator) begin(r *http.Request) (*sigv4.Auth, sigv4.Pending, error) {
	// Decisions and services see r.URL.Path; the signature covers its
	// normalized form. They must be the same path.
	if !sigv4.IsCanonicalPath(r.URL.Path) {
		return nil, sigv4.Pending{}, errPath
	}
	s, err := sigv4.Parse(r)
	if err != nil {
		return nil, sigv4.Pending{}, refusal(err)
	}
	p, err := a.verifier.Begin(r, s, a.cfg.Service, func(s *sigv4.Auth) ([]byte, error) {
		return a.signingKey(r.Context(), s)
	})
	return s, p, refusal(err)
}

func (a *Authenticator) decideRequest(r *http.Request, s *sigv4.Auth) (*Caller, error) {
	action, resource := a.cfg.Decide(r)
	d, err := a.decide(r.Context(), r, s.AccessKeyID, s.SecurityToken, action, resource)
	if err != nil {
		return nil, refusal(err)
	}
	if !d.allowed {
		msg := "User: " + d.caller.ARN + " is not authorized to perform: " + action + " on resource: " + resource
		if d.denied {
			msg += " with an explicit deny"
		}
		return nil, &Refusal{Status: http.StatusForbidden, Type: "AccessDeniedException", Message: msg, Denied: true}
	}
	c := d.caller
	return &c, nil
}

// Handler verifies and decides each request before next sees it; next finds
// the caller with CallerFrom.
func (a *Authenticator) Handler(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, body, err := a.Authenticate(r)
		if err != nil {
			WriteRefusal(w, err, a.log)
			return
		}
		defer body.Close()
		r.Body = body
		next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), ctxKey{}, c)))
	})
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

// errTooLong refuses a body larger than the bound.
var errTooLong = &Refusal{Status: http.StatusRequestEntityTooLarge, Message: "Request Too Long"}

// spool reads r (bounded to max+1 bytes by its caller), keeping up to
// 1 MiB in memory and the rest in a file, and returns it with its SHA-256
// in hex.
func spool(r io.Reader, dir string, max int64) (*spooled, string, error) {
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
	n, err := io.Copy(io.MultiWriter(f, h), r)
	if err == nil && int64(len(buf))+n > max {
		err = errTooLong
	}
	if err != nil {
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
