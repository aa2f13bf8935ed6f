// Package audit is iamd's audit log: one JSON line per change and per
// refused request, from every door (the IAM, STS and Lightsail APIs, the
// object-gateway protocol, Keystone), and one per signing key or decision
// handed to a door. A change's line is fsynced before the change is
// answered; other lines are written but not fsynced (the next fsync covers
// them), so that a caller without a key cannot make iamd fsync per request.
// No line holds a secret, a session token, a signature or a derived key.
package audit

import (
	"bufio"
	"encoding/json"
	"os"
	"sync"
	"time"
)

// Doors, as records name them.
const (
	DoorAPI      = "api"      // IAM, STS, Lightsail
	DoorGateway  = "gateway"  // the object-gateway protocol: versitygw, iamd proxy, iamdauth
	DoorKeystone = "keystone" // Keystone's auth/tokens, s3tokens, ec2tokens
	DoorConsole  = "console"  // the console's sign-in
)

// Outcomes.
const (
	Allowed = "allowed"
	Denied  = "denied" // authentication or authorization refused
	Failed  = "failed"
)

// Record is one line of the audit log.
type Record struct {
	Time        time.Time `json:"time"`
	RequestID   string    `json:"request_id,omitempty"`
	Door        string    `json:"door,omitempty"`
	Account     string    `json:"account,omitempty"`   // the account the principal belongs to
	Principal   string    `json:"principal,omitempty"` // the caller's ARN, once authenticated
	AccessKeyID string    `json:"access_key_id,omitempty"`
	SourceIP    string    `json:"source_ip,omitempty"`
	Service     string    `json:"service"`
	Action      string    `json:"action"`
	// Target is what the action acts on: a user, group, role, policy, key
	// or bucket, or for a door the access key it asked about.
	Target string `json:"target,omitempty"`
	// Scope is the signing scope a door was handed a key for, or asked a
	// decision about (date/region/service).
	Scope string `json:"scope,omitempty"`
	// Identity says more of who the caller is where its ARN does not: the
	// issuer and subject of a web identity.
	Identity  string `json:"identity,omitempty"`
	Outcome   string `json:"outcome"`
	Status    int    `json:"status"`
	ErrorCode string `json:"error_code,omitempty"`
}

// Log appends records to a file. A nil *Log drops them.
type Log struct {
	mu sync.Mutex
	f  *os.File
	w  *bufio.Writer
}

// Open opens (creating, mode 0600) the audit log at path for appending.
func Open(path string) (*Log, error) {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
	if err != nil {
		return nil, err
	}
	return &Log{f: f, w: bufio.NewWriter(f)}, nil
}

// Close closes the file.
func (l *Log) Close() error {
	if l == nil {
		return nil
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	l.w.Flush()
	return l.f.Close()
}

// Write appends rec, and with sync makes it durable before returning.
// Fields a client chose are clipped to 256 bytes.
func (l *Log) Write(rec *Record, sync bool) error {
	if l == nil {
		return nil
	}
	if rec.Time.IsZero() {
		rec.Time = time.Now()
	}
	rec.Time = rec.Time.UTC()
	rec.AccessKeyID, rec.Action, rec.Target, rec.Scope, rec.Identity = clip(rec.AccessKeyID), clip(rec.Action), clip(rec.Target), clip(rec.Scope), clip(rec.Identity)
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

func clip(s string) string {
	if len(s) > 256 {
		return s[:256] + "…"
	}
	return s
}
