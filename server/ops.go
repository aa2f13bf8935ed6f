package server

import (
	"bufio"
	"context"
	"encoding/json"
	"net/http"
	"net/netip"
	"os"
	"strings"
	"sync"
	"time"
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
		if err := s.svc.Ready(ctx); err != nil {
			w.WriteHeader(http.StatusServiceUnavailable)
			w.Write([]byte("not ready\n"))
			return
		}
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

// AuditLog appends one JSON line per mutation and per refused request.
// A mutation's line is fsynced before the request is answered; a refusal's
// is written but not fsynced (the next fsync covers it): a caller without
// a key must not be able to make iamd fsync per request. Its lines never
// hold a secret, a session token or a signature.
type AuditLog struct {
	mu sync.Mutex
	f  *os.File
	w  *bufio.Writer
}

// OpenAuditLog opens (creating, mode 0600) the audit log at path for appending.
func OpenAuditLog(path string) (*AuditLog, error) {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
	if err != nil {
		return nil, err
	}
	return &AuditLog{f: f, w: bufio.NewWriter(f)}, nil
}

// Close closes the file.
func (l *AuditLog) Close() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.w.Flush()
	return l.f.Close()
}

// AuditRecord is one line of the audit log.
type AuditRecord struct {
	Time        time.Time `json:"time"`
	RequestID   string    `json:"request_id"`
	Principal   string    `json:"principal,omitempty"` // the caller's ARN, once authenticated
	AccessKeyID string    `json:"access_key_id,omitempty"`
	SourceIP    string    `json:"source_ip,omitempty"`
	Service     string    `json:"service"`
	Action      string    `json:"action"`
	Target      string    `json:"target,omitempty"` // the user, group, role, policy, key or bucket acted on
	Outcome     string    `json:"outcome"`          // "allowed", "denied" (authorization) or "failed"
	Status      int       `json:"status"`
	ErrorCode   string    `json:"error_code,omitempty"`
}

func (l *AuditLog) record(rec *AuditRecord, sync bool) error {
	b, err := json.Marshal(rec)
	if err != nil {
		return err
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	l.w.Write(append(b, '\n'))
	if err := l.w.Flush(); err != nil || !sync {
		return err
	}
	return l.f.Sync()
}

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
	"bucketName", "resourceName", "accessKeyId"}

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
	outcome := "allowed"
	switch {
	case deniedCodes[e.code]:
		outcome = "denied"
	case e.status >= 400 || e.status == 0:
		outcome = "failed"
	}
	if outcome != "denied" && (e.action == "" || readOnly(e.action)) {
		return
	}
	rec := &AuditRecord{Time: time.Now().UTC(), RequestID: id, Principal: e.principal, AccessKeyID: clip(e.accessKeyID),
		SourceIP: addrText(e.clientIP), Service: e.service, Action: clip(e.action), Target: clip(e.target),
		Outcome: outcome, Status: e.status, ErrorCode: e.code}
	if err := s.auditLog.record(rec, outcome != "denied"); err != nil {
		s.log.Error("writing the audit log failed", "request_id", id, "err", err)
	}
}

func addrText(a netip.Addr) string {
	if !a.IsValid() {
		return ""
	}
	return a.String()
}
