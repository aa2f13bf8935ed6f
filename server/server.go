// Package server is iamd's http.Handler: it assigns request IDs, bounds
// bodies, authenticates every request with SigV4, routes it to the service
// it names, and answers errors in that service's own envelope.
package server

import (
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
	"sync"
	"time"

	"iamd"
	"iamd/awsquery"
	"iamd/iamapi"
	"iamd/lightsailapi"
	"iamd/sigv4"
	"iamd/stsapi"
)

// DefaultMaxBody is the largest request body accepted, in bytes.
const DefaultMaxBody = 1 << 20

// Config configures a Server.
type Config struct {
	Service *iamd.Service
	// Regions reports whether a signing region is accepted; nil accepts any.
	Regions func(string) bool
	Now     func() time.Time
	Logger  *slog.Logger
	MaxBody int64
	// Bundles are the bucket bundles offered; nil means the built-in ones.
	Bundles []lightsailapi.Bundle
}

// Server serves IAM and STS (Query) on one endpoint.
type Server struct {
	svc       *iamd.Service
	verifier  sigv4.Verifier
	log       *slog.Logger
	maxBody   int64
	iam       queryService
	sts       queryService
	lightsail *lightsailapi.API
}

// New returns a Server.
func New(cfg Config) *Server {
	s := &Server{
		svc:       cfg.Service,
		verifier:  sigv4.Verifier{Now: cfg.Now, Region: cfg.Regions},
		log:       cfg.Logger,
		maxBody:   cfg.MaxBody,
		iam:       queryService{"iam", awsquery.NamespaceIAM, iamapi.New(cfg.Service), iamapi.ErrorResponse},
		sts:       queryService{"sts", awsquery.NamespaceSTS, stsapi.New(cfg.Service), stsapi.ErrorResponse},
		lightsail: lightsailapi.New(cfg.Service, cfg.Bundles),
	}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	if s.maxBody <= 0 {
		s.maxBody = DefaultMaxBody
	}
	return s
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

// logEntry collects what the access log line says about a request.
type logEntry struct {
	service, action, accessKeyID string
	status                       int
	err                          error   // logged only for server-side failures
	body                         *[]byte // pooled request body, returned when the request ends
}

func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	id := newRequestID()
	e := &logEntry{}
	defer func() {
		if p := recover(); p != nil {
			// The panic value may hold request data; log only where it happened.
			s.log.Error("panic serving request", "request_id", id, "stack", string(debug.Stack()))
			if r.Header.Get("X-Amz-Target") != "" {
				s.writeJSONError(w, errors.New("panic"), id, e)
			} else {
				s.writeQueryError(w, s.iam, errors.New("panic"), id, e)
			}
		}
		if e.body != nil {
			putBody(e.body)
		}
		level, errText := slog.LevelInfo, ""
		if e.status >= 500 && e.err != nil {
			level, errText = slog.LevelError, e.err.Error()
		}
		s.log.LogAttrs(r.Context(), level, "request",
			slog.String("request_id", id), slog.String("method", r.Method), slog.String("service", e.service),
			slog.String("action", e.action), slog.Int("status", e.status), slog.String("access_key_id", e.accessKeyID),
			slog.Float64("duration_ms", float64(time.Since(start).Microseconds())/1000), slog.String("err", errText))
	}()
	if r.Header.Get("X-Amz-Target") != "" {
		s.serveJSON(w, r, id, e)
		return
	}
	s.serveQuery(w, r, id, e)
}

func (s *Server) serveQuery(w http.ResponseWriter, r *http.Request, id string, e *logEntry) {
	iam, sts := s.iam, s.sts
	svc := iam // the envelope for errors found before the service is known
	if r.Method != http.MethodPost && r.Method != http.MethodGet {
		s.writeQueryError(w, svc, &awsquery.Error{Status: http.StatusMethodNotAllowed, Code: "InvalidAction", Message: "Only GET and POST are supported."}, id, e)
		return
	}
	body, status, msg := s.readBody(r, e)
	if status != 0 {
		code := "RequestEntityTooLarge"
		if status == http.StatusBadRequest {
			code = "MalformedQueryString"
		}
		s.writeQueryError(w, svc, &awsquery.Error{Status: status, Code: code, Message: msg}, id, e)
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
		// Authenticate against the scope's own service before saying more.
		known = false
		if a, err := sigv4.Parse(r); err == nil && a.Service == "sts" {
			svc = sts
		}
	}
	e.service = svc.name
	caller, err := s.authenticate(r, body, svc.name, e)
	if err != nil {
		s.writeQueryError(w, svc, err, id, e)
		return
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
	result, err := svc.api.Do(r.Context(), caller, action, p)
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
	awsquery.Write(w, http.StatusOK, doc, id)
}

var bodyPool = sync.Pool{New: func() any { b := make([]byte, 0, 4096); return &b }}

func putBody(b *[]byte) {
	if cap(*b) <= 64<<10 { // do not keep rare large buffers
		bodyPool.Put(b)
	}
}

// readBody reads the body up to the size limit into a pooled buffer that
// is returned when the request ends (nothing may keep the bytes). On
// failure it returns the HTTP status and a message for the envelope.
func (s *Server) readBody(r *http.Request, e *logEntry) ([]byte, int, string) {
	if r.ContentLength > s.maxBody {
		return nil, http.StatusRequestEntityTooLarge, s.tooLarge()
	}
	bp := bodyPool.Get().(*[]byte)
	e.body = bp
	buf := (*bp)[:0]
	lr := io.LimitReader(r.Body, s.maxBody+1)
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
			return nil, http.StatusBadRequest, "The request body could not be read."
		}
	}
	*bp = buf
	if int64(len(buf)) > s.maxBody {
		return nil, http.StatusRequestEntityTooLarge, s.tooLarge()
	}
	return buf, 0, ""
}

func (s *Server) tooLarge() string {
	return "The request body is larger than the limit of " + strconv.FormatInt(s.maxBody, 10) + " bytes."
}

// invalidToken is AWS's answer for an unknown, Inactive or deleted key.
var invalidToken = &sigv4.Error{Code: sigv4.CodeInvalidToken, Message: "The security token included in the request is invalid."}

// authenticate verifies r's signature for service and returns its caller.
func (s *Server) authenticate(r *http.Request, body []byte, service string, e *logEntry) (*iamd.Caller, error) {
	var cred *iamd.CachedCredential
	a, err := s.verifier.Verify(r, body, service, func(a *sigv4.Auth) ([]byte, error) {
		e.accessKeyID = a.AccessKeyID
		c, err := s.svc.Credential(r.Context(), a.AccessKeyID)
		switch {
		case errors.Is(err, iamd.ErrNotFound):
			return nil, invalidToken
		case err != nil:
			return nil, err
		case c.Status != iamd.StatusActive, a.SecurityToken != "":
			// iamd issues no session tokens: a token never matches.
			return nil, invalidToken
		}
		cred = c
		return c.DerivedKey(a.Scope, func() []byte {
			return sigv4.SigningKey(c.Secret, a.Date, a.Region, a.Service)
		}), nil
	})
	if err != nil {
		return nil, err
	}
	s.svc.RecordUse(a.AccessKeyID, a.Region, a.Service)
	// The cached caller is shared; this request's facts go on a copy.
	c := cred.Caller
	c.Request = iamd.RequestInfo{SecureTransport: r.TLS != nil, Region: a.Region}
	if ap, err := netip.ParseAddrPort(r.RemoteAddr); err == nil {
		c.Request.SourceIP = ap.Addr().Unmap()
	}
	return &c, nil
}

func (s *Server) writeQueryError(w http.ResponseWriter, svc queryService, err error, id string, e *logEntry) {
	var status int
	var code, msg string
	sender := true
	var se *sigv4.Error
	if errors.As(err, &se) {
		status, code, msg = se.Status(), se.Code, se.Message
	} else {
		status, code, msg, sender = svc.errorResponse(err)
	}
	typ := "Sender"
	if !sender {
		typ = "Receiver"
	}
	e.status, e.err = status, err
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
