// Package server is iamd's http.Handler: it assigns request IDs, bounds
// bodies, authenticates every request with SigV4, routes it to the service
// it names, and answers errors in that service's own envelope.
package server

import (
	"cmp"
	"context"
	"crypto/rand"
	"errors"
	"io"
	"log/slog"
	"mime"
	"net/http"
	"net/netip"
	"runtime/debug"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"iamd"
	"iamd/accounts"
	"iamd/audit"
	"iamd/awsquery"
	"iamd/federation"
	"iamd/iamapi"
	"iamd/instanceprofiles"
	"iamd/lightsailapi"
	"iamd/organizations"
	"iamd/people"
	"iamd/signin"
	"iamd/sigv4"
	"iamd/stsapi"
)

// DefaultMaxBody is the largest request body accepted, in bytes.
const DefaultMaxBody = 1 << 20

// Config configures a Server.
type Config struct {
	Service *iamd.Service
	// Regions reports whether a signing region is accepted for a service
	// (iam, sts, lightsail); nil accepts any.
	Regions func(service, region string) bool
	Now     func() time.Time
	Logger  *slog.Logger
	MaxBody int64
	// MaxBodyInFlight bounds the body bytes all requests together may hold
	// while they are read and checked (default DefaultMaxBodyInFlight), and
	// MaxKeyBodyInFlight those of one access key ID (default
	// DefaultMaxKeyBodyInFlight): a key's ID is no secret. A request that
	// would pass a bound makes room by cutting off the oldest bodies still
	// arriving after BodyGrace, and is answered 503 if none is that old.
	MaxBodyInFlight    int64
	MaxKeyBodyInFlight int64
	// BodyTimeout is how long a request's body may take to arrive once its
	// headers are in (default DefaultBodyTimeout).
	BodyTimeout time.Duration
	// BodyGrace is how long a body may take before a newer request may cut
	// it off to make room (default DefaultBodyGrace).
	BodyGrace time.Duration
	// Bundles are the bucket bundles offered; nil means the built-in ones.
	Bundles []lightsailapi.Bundle
	// TrustedProxies are the peers whose X-Forwarded-For is believed (see
	// clientAddr); the client's address is then aws:SourceIp and logged.
	TrustedProxies []netip.Prefix
	// Audit, when set, receives a line per mutation and refused request.
	Audit *audit.Log
	// Console, when set, serves unsigned GET requests under /console/.
	Console http.Handler
	// Federation, when set, serves OpenID Connect providers (IAM) and
	// AssumeRoleWithWebIdentity (STS), which takes no signature.
	Federation *federation.Federation
	// InstanceProfiles, when set, serves IAM's instance profile actions.
	InstanceProfiles *instanceprofiles.Profiles
	// People, when set, serves login profiles, the password policy and MFA
	// devices, and MFA codes in STS.
	People *people.People
	// SignIn, when set, is the console's password sign-in at SignInPath.
	SignIn *signin.Door
	// Accounts, when set, serves the account's alias.
	Accounts *accounts.Accounts
	// Organizations, when set, serves AWS Organizations.
	Organizations *organizations.API
	// Tenants, when set, serves the deployment's other accounts: a
	// request signed with a key that names one (iamd.KeyAccount) is that
	// account's, and AssumeRole reaches their roles. Its Service returns
	// an account's Service (Service's own for its account; NotFound for
	// one not served); TenantParts the doors that hold it, made once per
	// Service. Without it, every request is Service's.
	Tenants     iamd.Accounts
	TenantParts func(svc *iamd.Service) Parts
	// Observe, when set, is told of every request answered: its service,
	// action and error code ("" when it succeeded) and how long it took.
	// Action is "" unless one of Actions().
	Observe func(service, action, code string, took time.Duration)
}

// Defaults of Config's bounds.
const (
	DefaultMaxBodyInFlight    = 64 << 20
	DefaultMaxKeyBodyInFlight = 4 << 20
	DefaultBodyTimeout        = 10 * time.Second
	DefaultBodyGrace          = 250 * time.Millisecond
)

// Server serves IAM and STS (Query) on one endpoint.
type Server struct {
	inFlight atomic.Int64 // requests being served (InFlight)
	svc      *iamd.Service
	verifier sigv4.Verifier
	log      *slog.Logger
	maxBody  int64
	bodies   *budget
	bodyWait time.Duration
	first    *tenant // the deployment's first account: Service's
	others   tenants
	bundles  []lightsailapi.Bundle
	roles    iamd.Accounts
	orgs     *organizations.API // nil when not served

	trustedProxies []netip.Prefix
	auditLog       *audit.Log
	observe        func(service, action, code string, took time.Duration)
	known          map[string]bool // actions of every API served
	console        http.Handler
	signIn         *signin.Door
}

// New returns a Server.
func New(cfg Config) *Server {
	s := &Server{
		svc:      cfg.Service,
		verifier: sigv4.Verifier{Now: cfg.Now, Region: cfg.Regions},
		log:      cfg.Logger,
		maxBody:  cfg.MaxBody,
		others:   tenants{set: cfg.Tenants, parts: cfg.TenantParts},
		bundles:  cfg.Bundles,

		trustedProxies: cfg.TrustedProxies,
		auditLog:       cfg.Audit,
		observe:        cfg.Observe,
		console:        cfg.Console,
		signIn:         cfg.SignIn,
		known:          map[string]bool{},
	}
	if cfg.Tenants != nil {
		s.roles = cfg.Tenants
	}
	var orgs jsonAPI = notManagement{}
	if cfg.Organizations != nil {
		s.orgs, orgs = cfg.Organizations, cfg.Organizations
	}
	s.first = newTenant(Parts{Service: cfg.Service, Federation: cfg.Federation, InstanceProfiles: cfg.InstanceProfiles, People: cfg.People, Accounts: cfg.Accounts},
		cfg.Bundles, s.roles, orgs)
	if cfg.Organizations == nil {
		s.first.json = s.first.json[:1] // Lightsail alone
	}
	for _, a := range s.Actions() {
		s.known[a] = true
	}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	if s.maxBody <= 0 {
		s.maxBody = DefaultMaxBody
	}
	s.bodies = newBudget(cmp.Or(cfg.MaxBodyInFlight, DefaultMaxBodyInFlight), cmp.Or(cfg.MaxKeyBodyInFlight, DefaultMaxKeyBodyInFlight),
		cmp.Or(cfg.BodyGrace, DefaultBodyGrace))
	s.bodyWait = cmp.Or(cfg.BodyTimeout, DefaultBodyTimeout)
	return s
}

// Actions lists every action served, of IAM, STS, Lightsail and
// Organizations.
func (s *Server) Actions() []string {
	var out []string
	out = append(out, s.first.iam.api.(interface{ Actions() []string }).Actions()...)
	out = append(out, s.first.sts.api.(interface{ Actions() []string }).Actions()...)
	out = append(out, s.first.lightsail.Actions()...)
	if s.orgs != nil {
		out = append(out, s.orgs.Actions()...)
	}
	return out
}

// queryService is one Query-protocol service.
type queryService struct {
	name      string // SigV4 service name
	namespace string
	api       interface {
		Do(ctx context.Context, c *iamd.Caller, action string, p awsquery.Params) (any, error)
	}
	errorResponse func(error) (int, string, string, bool)
}

// logEntry collects what the access log line says about a request. Values
// a client chose (action, key ID) are clipped: unauthenticated callers
// must not be able to write long lines into the log.
type logEntry struct {
	service, action, accessKeyID string
	status                       int
	clientIP                     netip.Addr
	principal, account, target   string // for the audit log
	identity                     string // for the audit log: a web identity's issuer and subject
	code                         string
	audited                      bool
	err                          error   // logged only for server-side failures
	body                         *[]byte // pooled request body, returned when the request ends
	hold                         *hold   // body bytes taken from the budget
}

// InFlight is the number of requests being served now.
func (s *Server) InFlight() int { return int(s.inFlight.Load()) }

// consoleQuery reports whether r's query may be the console's: none, or on
// /console/ itself an identity provider's answer (code, state, error…),
// never an API call's (Action, X-Amz-*).
func consoleQuery(r *http.Request) bool {
	if r.URL.RawQuery == "" {
		return true
	}
	if r.URL.Path != "/console/" {
		return false
	}
	for k := range r.URL.Query() {
		if k == "Action" || strings.HasPrefix(strings.ToLower(k), "x-amz-") {
			return false
		}
	}
	return true
}

func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if isHealthCheck(r) {
		s.health(w, r)
		return
	}
	if s.console != nil && (r.Method == http.MethodGet || r.Method == http.MethodHead) && r.Header.Get("Authorization") == "" && consoleQuery(r) {
		switch {
		case r.URL.Path == "/" && strings.Contains(r.Header.Get("Accept"), "text/html"):
			// A browser at the server's address: the console is there.
			http.Redirect(w, r, "/console/", http.StatusFound)
			return
		case r.URL.Path == "/console":
			http.Redirect(w, r, "/console/", http.StatusMovedPermanently)
			return
		case strings.HasPrefix(r.URL.Path, "/console/"):
			s.console.ServeHTTP(w, r)
			return
		}
	}
	start := time.Now()
	id := newRequestID()
	e := &logEntry{clientIP: s.clientAddr(r)}
	s.inFlight.Add(1)
	defer s.inFlight.Add(-1)
	defer func() {
		if p := recover(); p != nil {
			// The panic value may hold request data; log only where it happened.
			s.log.Error("panic serving request", "request_id", id, "stack", string(debug.Stack()))
			if r.Header.Get("X-Amz-Target") != "" {
				s.writeJSONError(w, s.jsonFor(r.Header.Get("X-Amz-Target")), errors.New("panic"), id, e)
			} else {
				s.writeQueryError(w, s.first.iam, errors.New("panic"), id, e)
			}
		}
		if e.body != nil {
			putBody(e.body)
		}
		s.bodies.give(e.hold)
		// A refusal is logged with its error code (AccessDenied,
		// SignatureDoesNotMatch, LimitExceeded, …); a failure of iamd's
		// own with what failed, which the client never sees.
		attrs := []slog.Attr{slog.String("request_id", id), slog.String("method", r.Method), slog.String("service", e.service),
			slog.String("action", clip(e.action)), slog.Int("status", e.status), slog.String("access_key_id", clip(e.accessKeyID)),
			slog.String("client_ip", addrText(e.clientIP)), slog.String("user_agent", clip(r.UserAgent())),
			slog.Float64("duration_ms", float64(time.Since(start).Microseconds())/1000)}
		level := slog.LevelInfo
		if e.code != "" {
			attrs = append(attrs, slog.String("code", e.code))
		}
		if e.status >= 500 && e.err != nil {
			level = slog.LevelError
			attrs = append(attrs, slog.String("err", e.err.Error()))
		}
		s.log.LogAttrs(r.Context(), level, "request", attrs...)
		if s.observe != nil {
			action := e.action
			if !s.known[action] {
				action = "" // bounded: a client names what it likes
			}
			s.observe(e.service, action, e.code, time.Since(start))
		}
	}()
	if s.signIn != nil && r.URL.Path == SignInPath {
		s.serveSignIn(w, r, id, e)
		return
	}
	if r.Header.Get("X-Amz-Target") != "" {
		s.serveJSON(w, r, id, e)
		return
	}
	s.serveQuery(w, r, id, e)
}

func (s *Server) serveQuery(w http.ResponseWriter, r *http.Request, id string, e *logEntry) {
	iam, sts := s.first.iam, s.first.sts
	// The envelope for errors found before the body is read: the service
	// the query string or the signature's scope names.
	svc := iam
	if v := queryVersion(r.URL.RawQuery); v == stsapi.Version {
		svc = sts
	}
	if r.Method != http.MethodPost && r.Method != http.MethodGet {
		s.writeQueryError(w, svc, &awsquery.Error{Status: http.StatusMethodNotAllowed, Code: "InvalidAction", Message: "Only GET and POST are supported."}, id, e)
		return
	}
	if r.ContentLength > s.maxBody {
		s.writeQueryError(w, svc, s.tooLarge(), id, e)
		return
	}
	a, err := sigv4.Parse(r)
	if err == nil && a.Service == "sts" {
		svc = sts
	}
	if sigv4.IsMissingAuth(err) && s.maybeUnsigned(r) {
		s.serveUnsigned(w, r, err, id, e)
		return
	}
	e.service = svc.name
	var pending pendingAuth
	if err == nil {
		pending, err = s.begin(r, a, svc.name, e)
	}
	if err != nil {
		s.writeQueryError(w, svc, err, id, e)
		return
	}
	body, err := s.readBody(w, r, e)
	if err != nil {
		s.writeQueryError(w, svc, err, id, e)
		return
	}
	// Decode what can be decoded, but report problems only once the
	// request has authenticated: unsigned callers learn nothing else.
	var badRequest error
	form := body
	if len(body) > 0 {
		if ct, _, err := mime.ParseMediaType(r.Header.Get("Content-Type")); err != nil || ct != "application/x-www-form-urlencoded" {
			badRequest = &awsquery.Error{Status: http.StatusUnsupportedMediaType, Code: "InvalidParameterValue", Message: "The request body must be application/x-www-form-urlencoded."}
			form = nil
		}
	}
	p, err := awsquery.Parse(form, r.URL.RawQuery)
	if err != nil && badRequest == nil {
		badRequest = err
	}
	version, action := p["Version"], p["Action"]
	e.action = action
	known := true
	switch version {
	case iamapi.Version:
		svc = iam
	case stsapi.Version:
		svc = sts
	default:
		known = false
	}
	e.service = svc.name
	if known && svc.name != a.Service {
		s.writeQueryError(w, svc, sigv4.WrongService(svc.name), id, e)
		return
	}
	caller, err := s.finish(r, &pending, body, e)
	if err != nil {
		s.writeQueryError(w, svc, err, id, e)
		return
	}
	if s.auditLog != nil {
		for _, k := range auditTargets {
			if v := p[k]; v != "" {
				e.target = v
				break
			}
		}
	}
	switch {
	case badRequest != nil:
		err = badRequest
	case action == "":
		err = &awsquery.Error{Status: http.StatusBadRequest, Code: "MissingAction", Message: "The request must contain the parameter Action."}
	case version == "":
		err = &awsquery.Error{Status: http.StatusBadRequest, Code: "MissingParameter", Message: "The request must contain the parameter Version."}
	case !known:
		err = &awsquery.Error{Status: http.StatusBadRequest, Code: "InvalidAction", Message: "Could not find operation " + clip(action) + " for version " + clip(version)}
	}
	if err != nil {
		s.writeQueryError(w, svc, err, id, e)
		return
	}
	result, err := pending.t.query(svc.name).api.Do(r.Context(), caller, action, p)
	if err != nil {
		s.writeQueryError(w, svc, err, id, e)
		return
	}
	doc, err := awsquery.EncodeResult(svc.namespace, action, result, id)
	if err != nil {
		s.writeQueryError(w, svc, err, id, e)
		return
	}
	e.status = http.StatusOK
	s.audit(id, e) // before the answer: the change is on record before anyone learns of it
	awsquery.Write(w, http.StatusOK, doc, id)
}

// maxUnsignedBody bounds the body of a request without a signature that
// may be an unsigned action's: a web identity token is at most 20,000
// characters, a session policy 2,048.
const maxUnsignedBody = 64 << 10

// maybeUnsigned reports whether a request without a signature may be one
// of STS's unsigned actions and is worth reading: a form body of bounded
// length, or the action in the query string.
func (s *Server) maybeUnsigned(r *http.Request) bool {
	if !s.first.stsAPI.IsUnsigned("AssumeRoleWithWebIdentity") {
		return false
	}
	if strings.Contains(r.URL.RawQuery, "Action=AssumeRoleWithWebIdentity") {
		return true
	}
	ct, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	return r.Method == http.MethodPost && ct == "application/x-www-form-urlencoded" && r.ContentLength > 0 && r.ContentLength <= maxUnsignedBody
}

// serveUnsigned answers a request without a signature: STS's unsigned
// actions, and for anything else the refusal the missing signature earns
// (noAuth), as before the body was read.
func (s *Server) serveUnsigned(w http.ResponseWriter, r *http.Request, noAuth error, id string, e *logEntry) {
	sts := s.first.sts
	e.service = sts.name
	var body []byte
	if r.ContentLength > 0 {
		var err error
		if body, err = s.readBody(w, r, e); err != nil {
			s.writeQueryError(w, sts, err, id, e)
			return
		}
	}
	p, err := awsquery.Parse(body, r.URL.RawQuery)
	if err != nil || p["Version"] != stsapi.Version || !s.first.stsAPI.IsUnsigned(p["Action"]) {
		svc := s.first.iam
		if p["Version"] == stsapi.Version || queryVersion(r.URL.RawQuery) == stsapi.Version {
			svc = sts
		}
		e.service = svc.name
		s.writeQueryError(w, svc, noAuth, id, e)
		return
	}
	e.action = p["Action"]
	e.target = p["RoleArn"]
	// The role's account answers: a web identity is no account's.
	t, err := s.tenantOfARN(r.Context(), p["RoleArn"])
	if err != nil {
		t = s.first // which refuses a role it does not have
	}
	result, caller, identity, err := t.stsAPI.Unsigned(r.Context(), e.action, p)
	if caller != nil {
		e.principal, e.account, e.accessKeyID = caller.ARN(), caller.Account, caller.AccessKeyID
	}
	e.identity = identity
	if err != nil {
		s.writeQueryError(w, sts, err, id, e)
		return
	}
	doc, err := awsquery.EncodeResult(sts.namespace, e.action, result, id)
	if err != nil {
		s.writeQueryError(w, sts, err, id, e)
		return
	}
	e.status = http.StatusOK
	s.audit(id, e)
	awsquery.Write(w, http.StatusOK, doc, id)
}

// queryVersion is the Version parameter of a raw query string, if any.
func queryVersion(raw string) string {
	for raw != "" {
		var kv string
		kv, raw, _ = strings.Cut(raw, "&")
		if v, ok := strings.CutPrefix(kv, "Version="); ok {
			return v
		}
	}
	return ""
}

var bodyPool = sync.Pool{New: func() any { b := make([]byte, 0, 4096); return &b }}

func putBody(b *[]byte) {
	if cap(*b) <= 64<<10 { // do not keep rare large buffers
		bodyPool.Put(b)
	}
}

// bodyError is a failure to take a request's body, which each protocol
// answers with its own code.
type bodyError struct {
	status         int
	query, jsonTyp string
	msg            string
}

func (e *bodyError) Error() string { return e.msg }

var (
	// errBusy answers a request whose body would pass an in-flight bound.
	errBusy = &bodyError{http.StatusServiceUnavailable, "ServiceUnavailable", "ServiceUnavailableException", "The service is busy; retry the request."}
	// errBodyUnreadable answers a body that could not be read in time or at all.
	errBodyUnreadable = &bodyError{http.StatusBadRequest, "MalformedQueryString", "SerializationException", "The request body could not be read."}
)

// readBody reads the body up to the size limit into a pooled buffer that
// is returned when the request ends (nothing may keep the bytes). It runs
// once the request's headers have authenticated as far as they can; the
// body must then arrive within the body timeout, and its bytes count
// against the in-flight bounds, declared length up front.
func (s *Server) readBody(w http.ResponseWriter, r *http.Request, e *logEntry) ([]byte, error) {
	want := r.ContentLength
	if want < 0 { // chunked: it may be as large as the limit
		want = s.maxBody
	}
	if want > 0 {
		e.hold = s.bodies.take(e.accessKeyID, want, func() { http.NewResponseController(w).SetReadDeadline(time.Now()) })
		if e.hold == nil {
			w.Header().Set("Connection", "close")
			w.Header().Set("Retry-After", "1")
			return nil, errBusy
		}
		http.NewResponseController(w).SetReadDeadline(time.Now().Add(s.bodyWait))
	}
	bp := bodyPool.Get().(*[]byte)
	e.body = bp
	buf := (*bp)[:0]
	lr := io.LimitReader(r.Body, min(want, s.maxBody)+1)
	for {
		if len(buf) == cap(buf) {
			buf = append(buf, 0)[:len(buf)]
		}
		n, err := lr.Read(buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+n]
		if err == io.EOF {
			break
		}
		if err != nil {
			*bp = buf
			w.Header().Set("Connection", "close")
			return nil, errBodyUnreadable
		}
	}
	*bp = buf
	s.bodies.arrived(e.hold)
	if int64(len(buf)) > s.maxBody {
		return nil, s.tooLarge()
	}
	return buf, nil
}

func (s *Server) tooLarge() error {
	return &bodyError{http.StatusRequestEntityTooLarge, "RequestEntityTooLarge", "SerializationException",
		"The request body is larger than the limit of " + strconv.FormatInt(s.maxBody, 10) + " bytes."}
}

// invalidToken is AWS's answer for an unknown, Inactive or deleted key.
var invalidToken = &sigv4.Error{Code: sigv4.CodeInvalidToken, Message: "The security token included in the request is invalid."}

// expiredToken is AWS's answer for temporary credentials past their expiry.
var expiredToken = &sigv4.Error{Code: sigv4.CodeExpiredToken, Message: "The security token included in the request is expired"}

// pendingAuth is a request authenticated as far as its headers allow.
type pendingAuth struct {
	sig  sigv4.Pending
	auth *sigv4.Auth
	cred *iamd.CachedCredential
	t    *tenant // the key's account
}

// begin checks a's signature of r for service as far as the headers
// allow (see sigv4.Verifier.Begin): no body byte has been read yet.
func (s *Server) begin(r *http.Request, a *sigv4.Auth, service string, e *logEntry) (pendingAuth, error) {
	e.accessKeyID = a.AccessKeyID
	var cred *iamd.CachedCredential
	t := s.tenantOf(r.Context(), a.AccessKeyID)
	sig, err := s.verifier.Begin(r, a, service, func(a *sigv4.Auth) ([]byte, error) {
		c, key, err := t.svc.SigningKeyFor(r.Context(), a)
		switch {
		case errors.Is(err, iamd.ErrNotFound):
			return nil, invalidToken
		case iamd.KindOf(err) == iamd.ExpiredToken:
			return nil, expiredToken
		}
		cred = c
		return key, err
	})
	if err != nil {
		return pendingAuth{}, err
	}
	return pendingAuth{sig: sig, auth: a, cred: cred, t: t}, nil
}

// finish completes the signature check over the body and returns the caller.
func (s *Server) finish(r *http.Request, p *pendingAuth, body []byte, e *logEntry) (*iamd.Caller, error) {
	if err := p.sig.Finish(r, body); err != nil {
		return nil, err
	}
	a := p.auth
	p.t.svc.RecordUse(a.AccessKeyID, a.Region, a.Service)
	// The cached caller is shared; this request's facts go on a copy.
	c := p.cred.Caller
	c.Request = iamd.RequestInfo{SecureTransport: r.TLS != nil, Region: a.Region, SourceIP: e.clientIP}
	if s.auditLog != nil {
		e.principal, e.account = c.ARN(), c.Account
		if c.Session != nil && c.Session.Subject != "" {
			e.identity = c.Session.Source + " " + c.Session.Subject // a web identity's session: who it was
		}
	}
	return &c, nil
}

func (s *Server) writeQueryError(w http.ResponseWriter, svc queryService, err error, id string, e *logEntry) {
	var status int
	var code, msg string
	sender := true
	var se *sigv4.Error
	var be *bodyError
	switch {
	case errors.As(err, &se):
		status, code, msg = se.Status(), se.Code, se.Message
	case errors.As(err, &be):
		status, code, msg = be.status, be.query, be.msg
		sender = be.status < 500
	default:
		status, code, msg, sender = svc.errorResponse(err)
	}
	typ := "Sender"
	if !sender {
		typ = "Receiver"
	}
	e.status, e.err, e.code = status, err, code
	s.audit(id, e)
	awsquery.Write(w, status, awsquery.EncodeError(svc.namespace, typ, code, msg, id), id)
}

// newRequestID returns a random UUID. crypto/rand does not fail on the
// platforms Go supports; should it, the ID is still unique enough to log.
func newRequestID() string {
	id, _ := iamd.NewUUID(rand.Reader)
	return id
}

func clip(s string) string {
	if len(s) > 128 {
		return s[:128] + "…"
	}
	return s
}
