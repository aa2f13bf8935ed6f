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
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/netip"
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
	// MaxBody bounds a body whose hash is not signed, which is read into
	// memory to be checked (default 10 MiB); signed-hash bodies stream.
	MaxBody int64
	Logger  *slog.Logger
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
	allowed bool
	caller  Caller
}

// New returns an Authenticator and starts following iamd's changes until
// ctx ends.
func New(ctx context.Context, cfg Config) *Authenticator {
	if cfg.MaxBody <= 0 {
		cfg.MaxBody = 10 << 20
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	a := &Authenticator{cfg: cfg, log: cfg.Logger, keys: map[string]map[string][]byte{}, decisions: map[string]map[string]*decision{},
		verifier: sigv4.Verifier{Region: func(r string) bool { return r == cfg.Region }}}
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
	a.mu.Lock()
	k := a.keys[s.AccessKeyID][s.Scope]
	a.mu.Unlock()
	if k != nil {
		return k, nil
	}
	gen := a.gen.Load()
	k, _, err := a.cfg.IAMD.Derive(ctx, s.AccessKeyID, s.Date, s.Region, s.Service)
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

func (a *Authenticator) decide(ctx context.Context, r *http.Request, id, action, resource string) (*decision, error) {
	a.mu.Lock()
	d := a.decisions[id][action+" "+resource]
	a.mu.Unlock()
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
	out, err := a.cfg.IAMD.Evaluate(ctx, id, a.cfg.Service, a.cfg.Region, []string{action}, []string{resource}, cond)
	if errors.Is(err, gateway.ErrNoSuchIdentity) {
		return nil, errInvalidKey
	}
	if err != nil {
		return nil, err
	}
	d = &decision{allowed: out.Decisions[0][0] == "allow", caller: Caller{ARN: out.PrincipalARN, ID: out.PrincipalID, Account: out.AccountID, AccessKeyID: id}}
	if out.Unconditional && a.live.Load() {
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

func refuse(w http.ResponseWriter, status int, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(map[string]string{"message": msg})
}

// Handler verifies and decides each request before next sees it; next finds
// the caller with CallerFrom.
func (a *Authenticator) Handler(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s, err := sigv4.Parse(r)
		var p sigv4.Pending
		if err == nil {
			p, err = a.verifier.Begin(r, s, a.cfg.Service, func(s *sigv4.Auth) ([]byte, error) {
				if s.SecurityToken != "" {
					return nil, errInvalidKey
				}
				return a.signingKey(r.Context(), s)
			})
		}
		if err == nil {
			if p.Verified() {
				r.Body = sigv4.CheckedBody(r.Body, r.Header.Get("X-Amz-Content-Sha256"), r.ContentLength)
			} else {
				var body []byte
				body, err = io.ReadAll(http.MaxBytesReader(w, r.Body, a.cfg.MaxBody))
				if err == nil {
					err = p.Finish(r, body)
					r.Body = io.NopCloser(bytes.NewReader(body))
				}
			}
		}
		var se *sigv4.Error
		switch {
		case errors.As(err, &se):
			refuse(w, http.StatusForbidden, se.Message)
			return
		case err != nil:
			a.log.Error("verifying a request failed", "err", err)
			refuse(w, http.StatusInternalServerError, "Internal server error")
			return
		}
		action, resource := a.cfg.Decide(r)
		d, err := a.decide(r.Context(), r, s.AccessKeyID, action, resource)
		switch {
		case errors.As(err, &se):
			refuse(w, http.StatusForbidden, se.Message)
			return
		case err != nil:
			a.log.Error("deciding a request failed", "err", err)
			refuse(w, http.StatusInternalServerError, "Internal server error")
			return
		case !d.allowed:
			refuse(w, http.StatusForbidden, "User: "+d.caller.ARN+" is not authorized to perform: "+action+" on resource: "+resource)
			return
		}
		c := d.caller
		next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), ctxKey{}, &c)))
	})
}
