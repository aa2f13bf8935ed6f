// Package gateway serves the standalone-IAM protocol (version 1) that
// versitygw's S3 gateway speaks with --iam-standalone-endpoint: the gateway
// asks iamd, for every S3 request a non-root key signed, for that key's
// SigV4 signing key (never its secret) and for the decision on each action
// and resource. Every call is itself SigV4-signed by a key of iamd's that
// may act for a gateway (iamd.GatewayAction), scoped to us-east-1/iam.
//
// Wire facts follow versitygw v1.8.0 (iamapi/private in its module):
// POST /private/<endpoint>, JSON bodies, the X-Vgw-Private-Protocol header
// on every request but version and on every response, and error bodies
// {"error": text, "code": Code} with the codes NoSuchIdentity,
// InvalidToken, BadRequest and ProtocolMismatch.
package gateway

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"time"

	"iamd"
	"iamd/audit"
	"iamd/policy"
	"iamd/sigv4"
)

// Protocol is the version of the protocol served, and MinClient the oldest
// gateway version served.
const (
	Protocol       = 1
	MinClient      = 1
	ProtocolHeader = "X-Vgw-Private-Protocol"
)

// Limits of one call: the body, and the cells of a decision matrix or
// entries of a listing (DeleteObjects sends up to 1,000 keys at once).
const (
	maxBody  = 1 << 20
	maxCells = 10000
)

// Config configures a Handler.
type Config struct {
	// Service is the first account's: the door's own key is one of its.
	Service *iamd.Service
	// Accounts, when set, are the deployment's accounts: a key the door
	// asks about is decided in the account it is for.
	Accounts iamd.Accounts
	Logger   *slog.Logger
	// Audit, when set, receives a line per call: who asked, about which
	// key, for which scope, and the answer.
	Audit *audit.Log
	// Now is the clock a derived key's date is checked against (default
	// time.Now, as signatures are).
	Now func() time.Time
}

// Handler serves the protocol.
type Handler struct {
	svc      *iamd.Service
	accounts iamd.Accounts // nil: one account
	verifier sigv4.Verifier
	log      *slog.Logger
	audit    *audit.Log
	now      func() time.Time
}

// New returns a Handler deciding with c.Service.
func New(c Config) *Handler {
	h := &Handler{svc: c.Service, accounts: c.Accounts, log: c.Logger, audit: c.Audit, now: c.Now,
		// The gateway always signs for us-east-1, whatever iamd's region.
		verifier: sigv4.Verifier{Region: func(_, r string) bool { return r == "us-east-1" }}}
	if h.log == nil {
		h.log = slog.New(slog.DiscardHandler)
	}
	if h.now == nil {
		h.now = time.Now
	}
	return h
}

// apiError is an answer other than 200.
type apiError struct {
	status int
	code   string // protocol-level code, or ""
	msg    string
}

func (e *apiError) Error() string { return e.msg }

var (
	errNoSuchIdentity = &apiError{http.StatusForbidden, "NoSuchIdentity", "no identity for the given access key id"}
	errInvalidToken   = &apiError{http.StatusForbidden, "InvalidToken", "the given session token is missing, invalid, or does not belong to the given access key id"}
	errBadRequest     = &apiError{http.StatusBadRequest, "BadRequest", "malformed request body"}
	errTooLarge       = &apiError{http.StatusBadRequest, "BadRequest", "the request asks for more than " + strconv.Itoa(maxCells) + " decisions or identities"}
)

// call is one protocol call: who asked (the door), and what it asked
// about, for the audit log.
type call struct {
	endpoint string
	door     *iamd.Caller
	auth     *sigv4.Auth // the door's own signature, to check it again (watch)
	target   string      // the access key asked about
	scope    string      // date/region/service asked for
	status   int
}

func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	w.Header().Set(ProtocolHeader, strconv.Itoa(Protocol))
	c := &call{endpoint: strings.TrimPrefix(r.URL.Path, "/private/")}
	res, err := h.serve(r, c)
	if err != nil {
		h.writeError(w, r, c, err)
		return
	}
	c.status = http.StatusOK
	h.record(r, c, nil)
	if _, ok := res.(watchStream); ok {
		h.watch(w, r, c)
		return
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	json.NewEncoder(w).Encode(res)
}

// record writes c's line in the audit log.
func (h *Handler) record(r *http.Request, c *call, code *string) {
	if h.audit == nil {
		return
	}
	rec := &audit.Record{Door: audit.DoorGateway, Service: "gateway", Action: c.endpoint, Target: c.target, Scope: c.scope,
		Status: c.status, Outcome: audit.Allowed}
	if c.door != nil {
		rec.Principal, rec.Account, rec.AccessKeyID = c.door.ARN(), c.door.Account, c.door.AccessKeyID
	} else if a, err := sigv4.Parse(r); err == nil {
		rec.AccessKeyID = a.AccessKeyID
	}
	switch {
	case c.status == http.StatusForbidden, c.status == http.StatusUnauthorized:
		rec.Outcome = audit.Denied
	case c.status >= 400:
		rec.Outcome = audit.Failed
	}
	if code != nil {
		rec.ErrorCode = *code
	}
	if err := h.audit.Write(rec, false); err != nil {
		h.log.Error("writing the audit log failed", "err", err)
	}
}

// WatchPath is iamd's addition to the protocol: a stream of the changes
// that may alter what keys may do, one JSON object a line: {"ready":true}
// once the watch is in place, then {"key":"AKIA…"}, {"policies":true} or
// {"all":true} as they happen, and {} every 15 s. A service that caches
// signing keys or decisions drops what a line names, and everything when
// the stream ends (it may have missed changes); iamd proxy and package
// iamdauth do. The stream ends as soon as the key that opened it may no
// longer speak for a door: deleted, Inactive, expired, or without
// iamd:DecideRequests.
const WatchPath = "/private/watch"

type watchStream struct{}

// watchLine is one line of the stream.
type watchLine struct {
	Ready    bool   `json:"ready,omitempty"`
	Key      string `json:"key,omitempty"`
	Policies bool   `json:"policies,omitempty"`
	All      bool   `json:"all,omitempty"`
}

// watchBeat is how often the stream says it is alive, and checks again
// that its door may still listen.
const watchBeat = 15 * time.Second

func (h *Handler) watch(w http.ResponseWriter, r *http.Request, c *call) {
	rc := http.NewResponseController(w)
	rc.SetWriteDeadline(time.Time{}) // a stream outlives the server's write timeout
	changes := h.svc.WatchChanges(r.Context())
	w.Header().Set("Content-Type", "application/x-ndjson")
	enc := json.NewEncoder(w)
	send := func(l watchLine) bool {
		if enc.Encode(l) != nil {
			return false
		}
		return rc.Flush() == nil
	}
	if !send(watchLine{Ready: true}) {
		return
	}
	beat := time.NewTicker(watchBeat)
	defer beat.Stop()
	for {
		select {
		case ch, ok := <-changes:
			if !ok {
				return // behind, or the request ended: the watcher starts over
			}
			// A change may be the door's own key or permission going.
			if (ch.Key == c.door.AccessKeyID || ch.Policies || ch.All) && !h.mayStillListen(r.Context(), c) {
				return
			}
			if !send(watchLine{Key: ch.Key, Policies: ch.Policies, All: ch.All}) {
				return
			}
		case <-beat.C:
			if !h.mayStillListen(r.Context(), c) || !send(watchLine{}) {
				return
			}
		}
	}
}

// mayStillListen checks the watching door's key and permission again.
func (h *Handler) mayStillListen(ctx context.Context, c *call) bool {
	cred, _, err := h.svc.SigningKeyFor(ctx, c.auth)
	if err == nil {
		door := cred.Caller
		door.Request = c.door.Request
		err = h.allow(ctx, &door, "")
	}
	if err != nil {
		h.log.Info("gateway watch ended: its key may no longer speak for a door", "access_key_id", c.door.AccessKeyID, "err", iamd.MessageOf(err))
		return false
	}
	return true
}

// endpoints are the calls served, by path.
var endpoints = map[string]func(h *Handler, ctx context.Context, c *call, body []byte) (any, error){
	"/private/version":            (*Handler).version,
	"/private/derive-signing-key": (*Handler).derive,
	"/private/evaluate-policy":    (*Handler).evaluate,
	"/private/resolve-identity":   (*Handler).resolveIdentity,
	"/private/resolve-principals": (*Handler).resolvePrincipals,
	WatchPath: func(h *Handler, ctx context.Context, c *call, _ []byte) (any, error) {
		return watchStream{}, h.allow(ctx, c.door, "")
	},
}

func (h *Handler) serve(r *http.Request, c *call) (any, error) {
	if r.Method != http.MethodPost {
		return nil, &apiError{http.StatusMethodNotAllowed, "", "Method Not Allowed"}
	}
	endpoint, ok := endpoints[r.URL.Path]
	if !ok {
		return nil, &apiError{http.StatusNotFound, "", "Not Found"}
	}
	if r.URL.Path != "/private/version" {
		if err := checkVersion(r.Header.Get(ProtocolHeader)); err != nil {
			return nil, err
		}
	}
	// The signature covers X-Amz-Content-Sha256, as versitygw sends it, so
	// it is checked in full before the body is read.
	pending, err := h.authenticate(r, c)
	if err != nil {
		return nil, err
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, maxBody+1))
	if err != nil || len(body) > maxBody {
		return nil, errBadRequest
	}
	if err := pending.Finish(r, body); err != nil {
		return nil, err
	}
	return endpoint(h, r.Context(), c, body)
}

// allow decides whether the door may make a call about service ("" for a
// call about none): iamd.GatewayAction, with service as iamd:Service.
func (h *Handler) allow(ctx context.Context, door *iamd.Caller, service string) error {
	d := *door
	if service != "" {
		d.Request.Keys = map[string][]string{strings.ToLower(iamd.DoorServiceKey): {service}}
	}
	return h.svc.Authorize(ctx, &d, iamd.GatewayAction, "*")
}

// checkVersion checks the gateway's protocol header: 1 to 4 digits, at
// least MinClient.
func checkVersion(v string) error {
	if v == "" {
		return &apiError{http.StatusBadRequest, "ProtocolMismatch", "no " + ProtocolHeader + " header"}
	}
	n, err := strconv.Atoi(v)
	if len(v) > 4 || err != nil || n < 1 || v[0] == '+' || v[0] == '-' {
		return &apiError{http.StatusBadRequest, "ProtocolMismatch", "malformed " + ProtocolHeader + " header " + strconv.Quote(clip(v))}
	}
	if n < MinClient {
		return &apiError{http.StatusBadRequest, "ProtocolMismatch", "gateway speaks private protocol " + v + ", iamd requires " + strconv.Itoa(MinClient) + " or newer: upgrade the gateway"}
	}
	return nil
}

// authenticate checks the call's signature as far as its headers allow,
// and sets c.door; the signature is then checked against the body, and
// each endpoint decides what the door may ask.
func (h *Handler) authenticate(r *http.Request, c *call) (sigv4.Pending, error) {
	a, err := sigv4.Parse(r)
	if err != nil {
		return sigv4.Pending{}, err
	}
	var cred *iamd.CachedCredential
	p, err := h.verifier.Begin(r, a, "iam", func(a *sigv4.Auth) ([]byte, error) {
		cc, key, err := h.svc.SigningKeyFor(r.Context(), a)
		if errors.Is(err, iamd.ErrNotFound) {
			return nil, &sigv4.Error{Code: sigv4.CodeInvalidToken, Message: "The security token included in the request is invalid."}
		}
		cred = cc
		return key, err
	})
	if err != nil {
		return sigv4.Pending{}, err
	}
	door := cred.Caller
	door.Request = iamd.RequestInfo{Region: a.Region}
	c.door, c.auth = &door, a
	return p, nil
}

func (h *Handler) writeError(w http.ResponseWriter, r *http.Request, c *call, err error) {
	var ae *apiError
	var se *sigv4.Error
	body := map[string]string{}
	switch {
	case errors.As(err, &ae):
		body["error"] = ae.msg
		if ae.code != "" {
			body["code"] = ae.code
		}
	case errors.As(err, &se):
		ae = &apiError{status: se.Status()}
		body["error"] = se.Code + ": " + se.Message
	case errors.Is(err, iamd.ErrInvalidSessionToken):
		ae = errInvalidToken
		body["error"], body["code"] = ae.msg, ae.code
	case errors.Is(err, iamd.ErrNoSuchIdentity), iamd.KindOf(err) == iamd.ExpiredToken:
		ae = errNoSuchIdentity
		body["error"], body["code"] = ae.msg, ae.code
	case iamd.KindOf(err) == iamd.AccessDenied:
		ae = &apiError{status: http.StatusForbidden}
		body["error"] = "AccessDenied: " + iamd.MessageOf(err)
	case iamd.KindOf(err) == iamd.Invalid:
		ae = &apiError{http.StatusBadRequest, "BadRequest", iamd.MessageOf(err)}
		body["error"], body["code"] = ae.msg, ae.code
	case iamd.KindOf(err) == iamd.Unavailable:
		ae = &apiError{status: http.StatusServiceUnavailable}
		body["error"] = "ServiceUnavailable: the database is unavailable"
	default:
		ae = &apiError{status: http.StatusInternalServerError}
		body["error"] = "InternalError: internal error"
	}
	level := slog.LevelInfo
	if ae.status >= 500 {
		level = slog.LevelError
	}
	// The cause of a server-side failure is logged, never sent; the
	// messages above hold no secret.
	h.log.Log(r.Context(), level, "gateway call refused", "path", clip(r.URL.Path), "status", ae.status, "error", body["error"], "cause", causeOf(err, ae.status))
	c.status = ae.status
	code := body["code"]
	if code == "" {
		code, _, _ = strings.Cut(body["error"], ":")
	}
	h.record(r, c, &code)
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(ae.status)
	json.NewEncoder(w).Encode(body)
}

func causeOf(err error, status int) string {
	if status >= 500 {
		return err.Error()
	}
	return ""
}

func clip(s string) string {
	if len(s) > 128 {
		return s[:128] + "…"
	}
	return s
}

// decode reads a JSON body into v; unknown fields are ignored, as both
// sides of the protocol do.
func decode(body []byte, v any) error {
	if err := json.Unmarshal(body, v); err != nil {
		return errBadRequest
	}
	return nil
}

func (h *Handler) version(ctx context.Context, c *call, body []byte) (any, error) {
	if err := h.allow(ctx, c.door, ""); err != nil {
		return nil, err
	}
	return map[string]any{"protocol": Protocol, "minClient": MinClient, "serverVersion": "iamd", "accountId": h.svc.Account().ID}, nil
}

type deriveRequest struct {
	AccessKeyID  string `json:"accessKeyId"`
	SessionToken string `json:"sessionToken"`
	Date         string `json:"date"`
	Region       string `json:"region"`
	Service      string `json:"service"`
}

type deriveResponse struct {
	DerivedKey   []byte `json:"derivedKey"`
	PrincipalArn string `json:"principalArn,omitempty"`
}

// derive hands the door the signing key of one key for one scope: a
// scope of the service the door may speak for (never iamd's own) and of a
// date a request can carry now (iamd.CheckDoorScope).
func (h *Handler) derive(ctx context.Context, c *call, body []byte) (any, error) {
	var req deriveRequest
	if err := decode(body, &req); err != nil {
		return nil, err
	}
	c.target, c.scope = req.AccessKeyID, req.Date+"/"+req.Region+"/"+req.Service
	if req.AccessKeyID == "" {
		return nil, errNoSuchIdentity
	}
	if err := h.allow(ctx, c.door, req.Service); err != nil {
		return nil, err
	}
	if err := iamd.CheckDoorScope(req.Date, req.Region, req.Service, h.now()); err != nil {
		return nil, err
	}
	cred, key, err := h.keyService(ctx, req.AccessKeyID).SigningKeyFor(ctx, &sigv4.Auth{AccessKeyID: req.AccessKeyID, SecurityToken: req.SessionToken, Date: req.Date, Region: req.Region, Service: req.Service})
	if err != nil {
		return nil, err
	}
	return deriveResponse{DerivedKey: key, PrincipalArn: cred.Caller.ARN()}, nil
}

type evaluateRequest struct {
	AccessKeyID  string              `json:"accessKeyId"`
	SessionToken string              `json:"sessionToken"`
	Actions      []string            `json:"actions"`
	Resources    []string            `json:"resources"`
	Condition    map[string][]string `json:"condition"`
	Region       string              `json:"region"`
	Service      string              `json:"service"`
}

// evaluateResponse is versitygw's shape; principalId, accountId and
// unconditional are iamd's additions, which versitygw ignores.
type evaluateResponse struct {
	Decisions     [][]string `json:"decisions"`
	PrincipalArn  string     `json:"principalArn,omitempty"`
	PrincipalID   string     `json:"principalId,omitempty"`
	AccountID     string     `json:"accountId,omitempty"`
	Unconditional bool       `json:"unconditional,omitempty"`
}

var wireDecision = map[policy.Decision]string{policy.Allowed: "allow", policy.ExplicitDeny: "deny", policy.ImplicitDeny: "no_match"}

// evaluate decides actions of the door's service on resources for a key.
// Actions of iamd's own services are never decided for a door.
func (h *Handler) evaluate(ctx context.Context, c *call, body []byte) (any, error) {
	var req evaluateRequest
	if err := decode(body, &req); err != nil {
		return nil, err
	}
	if req.Service == "" {
		req.Service = "s3"
	}
	c.target, c.scope = req.AccessKeyID, req.Region+"/"+req.Service
	if len(req.Actions)*len(req.Resources) > maxCells {
		return nil, errTooLarge
	}
	if err := h.allow(ctx, c.door, req.Service); err != nil {
		return nil, err
	}
	if err := iamd.CheckDoorActions(req.Service, req.Actions); err != nil {
		return nil, err
	}
	ds, who, err := h.keyService(ctx, req.AccessKeyID).DecideObjects(ctx, iamd.ObjectRequest{AccessKeyID: req.AccessKeyID, SessionToken: req.SessionToken, Service: req.Service, Actions: req.Actions,
		Resources: req.Resources, Condition: req.Condition, Region: req.Region})
	if err != nil {
		return nil, err
	}
	out := evaluateResponse{Decisions: make([][]string, len(ds)), PrincipalArn: who.ARN, PrincipalID: who.ID, AccountID: who.Account, Unconditional: who.Unconditional}
	for i, row := range ds {
		out.Decisions[i] = make([]string, len(row))
		for j, d := range row {
			out.Decisions[i][j] = wireDecision[d]
		}
	}
	return out, nil
}

type resolvedIdentity struct {
	Found        bool   `json:"found"`
	Kind         string `json:"kind,omitempty"`
	PrincipalArn string `json:"principalArn,omitempty"`
}

func (h *Handler) resolveIdentity(ctx context.Context, c *call, body []byte) (any, error) {
	var req struct {
		AccessKeyIDs []string `json:"accessKeyIds"`
	}
	if err := decode(body, &req); err != nil {
		return nil, err
	}
	if len(req.AccessKeyIDs) > maxCells {
		return nil, errTooLarge
	}
	if err := h.allow(ctx, c.door, ""); err != nil {
		return nil, err
	}
	c.target = strconv.Itoa(len(req.AccessKeyIDs)) + " keys"
	ids := make([]iamd.Identity, len(req.AccessKeyIDs))
	for i, id := range req.AccessKeyIDs {
		one, err := h.keyService(ctx, id).ResolveIdentities(ctx, []string{id})
		if err != nil {
			return nil, err
		}
		ids[i] = one[0]
	}
	out := make([]resolvedIdentity, len(ids))
	for i, id := range ids {
		if id.Found {
			out[i] = resolvedIdentity{Found: true, Kind: "user", PrincipalArn: id.ARN}
		}
	}
	return map[string]any{"identities": out}, nil
}

func (h *Handler) resolvePrincipals(ctx context.Context, c *call, body []byte) (any, error) {
	var req struct {
		Principals []string `json:"principals"`
	}
	if err := decode(body, &req); err != nil {
		return nil, err
	}
	if len(req.Principals) > maxCells {
		return nil, errTooLarge
	}
	if err := h.allow(ctx, c.door, ""); err != nil {
		return nil, err
	}
	invalid := []string{}
	for _, p := range req.Principals {
		bad, err := h.principalService(ctx, p).InvalidPrincipals(ctx, []string{p})
		if err != nil {
			return nil, err
		}
		invalid = append(invalid, bad...)
	}
	return map[string]any{"invalid": invalid}, nil
}

// keyService is the Service of the account a key the door asks about is
// for.
func (h *Handler) keyService(ctx context.Context, keyID string) *iamd.Service {
	if h.accounts == nil {
		return h.svc
	}
	return h.accounts.ForKey(ctx, keyID)
}

// principalService is the Service of the account a principal of a bucket
// policy names (an account ID, or an ARN's account), when the deployment
// serves it; the first account's otherwise, which finds it no principal
// of its own.
func (h *Handler) principalService(ctx context.Context, p string) *iamd.Service {
	if h.accounts == nil {
		return h.svc
	}
	acct := p
	if parts := strings.SplitN(p, ":", 6); len(parts) == 6 {
		acct = parts[4]
	}
	if svc, err := h.accounts.Service(ctx, acct); err == nil {
		return svc
	}
	return h.svc
}
