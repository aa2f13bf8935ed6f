package server

import (
	"context"
	"net/http"
	"net/netip"
	"strings"
	"time"

	"iamd/audit"
)

// ---- health ----

// health answers GET /healthz (the process is up) and GET /readyz (the
// store answers and its schema is current: the store opens only then)
// without a signature. They say nothing else.
func (s *Server) health(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	if r.URL.Path == "/readyz" {
		ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
		defer cancel()
		ready, words := s.svc.Readiness(ctx)
		if !ready {
			w.WriteHeader(http.StatusServiceUnavailable)
		}
		w.Write([]byte(words + "\n"))
		return
	}
	w.Write([]byte("ok\n"))
}

func isHealthCheck(r *http.Request) bool {
	return r.Method == http.MethodGet && (r.URL.Path == "/healthz" || r.URL.Path == "/readyz") &&
		r.URL.RawQuery == "" && r.Header.Get("Authorization") == ""
}

// ---- the client's address ----

// clientAddr is the client's address: the TCP peer's, or, when the peer
// is a trusted proxy, the nearest address in X-Forwarded-For that is not
// one (each proxy appends the address it received from).
func (s *Server) clientAddr(r *http.Request) netip.Addr {
	ap, err := netip.ParseAddrPort(r.RemoteAddr)
	if err != nil {
		return netip.Addr{}
	}
	addr := ap.Addr().Unmap()
	if !s.trusted(addr) {
		return addr
	}
	var hops []string
	for _, h := range r.Header.Values("X-Forwarded-For") {
		hops = append(hops, strings.Split(h, ",")...)
	}
	for i := len(hops) - 1; i >= 0; i-- {
		a, err := netip.ParseAddr(strings.TrimSpace(hops[i]))
		if err != nil {
			return addr // a malformed hop: trust nothing before it
		}
		addr = a.Unmap()
		if !s.trusted(addr) {
			return addr
		}
	}
	return addr
}

func (s *Server) trusted(a netip.Addr) bool {
	for _, p := range s.trustedProxies {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// ---- the audit log ----

// readOnly reports whether an action changes nothing: Get…, List…,
// Simulate… and GetCallerIdentity-like reads are not audited unless
// refused. GetSessionToken and AssumeRole issue credentials and are.
func readOnly(action string) bool {
	for _, p := range []string{"Get", "List", "Simulate"} {
		if strings.HasPrefix(action, p) && action != "GetSessionToken" {
			return true
		}
	}
	return false
}

// auditTargets are the parameters that name what an action acts on, in
// the order looked for.
var auditTargets = []string{"UserName", "GroupName", "RoleName", "PolicyArn", "RoleArn", "AccessKeyId", "PolicyName",
	"bucketName", "resourceName", "accessKeyId", "PolicyId", "TargetId", "RootId"}

// deniedCodes are the error codes of a refused request: authentication
// or authorization, in each protocol's spelling.
var deniedCodes = map[string]bool{
	"AccessDenied": true, "AccessDeniedException": true, "InvalidClientTokenId": true, "SignatureDoesNotMatch": true,
	"IncompleteSignature": true, "MissingAuthenticationToken": true, "ExpiredToken": true, "RequestExpired": true,
	"UnrecognizedClientException": true, "InvalidSignatureException": true, "IncompleteSignatureException": true,
	"MissingAuthenticationTokenException": true,
}

// audit records a request in the audit log: every mutation, and every
// request refused.
func (s *Server) audit(id string, e *logEntry) {
	if s.auditLog == nil || e.audited {
		return
	}
	e.audited = true
	outcome := audit.Allowed
	switch {
	case deniedCodes[e.code]:
		outcome = audit.Denied
	case e.status >= 400 || e.status == 0:
		outcome = audit.Failed
	}
	if outcome != audit.Denied && (e.action == "" || readOnly(e.action)) {
		return
	}
	rec := &audit.Record{RequestID: id, Door: audit.DoorAPI, Account: e.account, Principal: e.principal, AccessKeyID: e.accessKeyID,
		SourceIP: addrText(e.clientIP), Service: e.service, Action: e.action, Target: e.target, Identity: e.identity,
		Outcome: outcome, Status: e.status, ErrorCode: e.code}
	if err := s.auditLog.Write(rec, outcome != audit.Denied); err != nil {
		s.log.Error("writing the audit log failed", "request_id", id, "err", err)
	}
}

func addrText(a netip.Addr) string {
	if !a.IsValid() {
		return ""
	}
	return a.String()
}
