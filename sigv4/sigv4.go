// Package sigv4 verifies AWS Signature Version 4 on incoming HTTP requests,
// in the Authorization-header and the presigned (query-string) forms.
//
// It is pure: the clock, the accepted regions and the lookup of an access
// key's signing key are injected, so it can be used by any Go service.
// Checks run in the order AWS's services apply them, which decides the error
// a client sees: authentication present, well-formed, known key, scope and
// clock, signature.
package sigv4

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"hash"
	"io"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
)

const (
	algorithm  = "AWS4-HMAC-SHA256"
	terminator = "aws4_request"
	amzDate    = "20060102T150405Z"
	// MaxExpires is the longest a presigned URL may be valid, in seconds.
	MaxExpires = 7 * 24 * 3600
	// EmptySHA256 is the hex SHA-256 of an empty payload.
	EmptySHA256 = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
)

// Error codes, as AWS's Query and JSON services return them.
const (
	CodeMissingAuth       = "MissingAuthenticationToken" // 403
	CodeIncomplete        = "IncompleteSignature"        // 400
	CodeInvalidToken      = "InvalidClientTokenId"       // 403
	CodeSignatureMismatch = "SignatureDoesNotMatch"      // 403
	CodeExpired           = "RequestExpired"             // 400
	CodeExpiredToken      = "ExpiredToken"               // 400
)

// Error is a verification failure. Its message never contains a secret.
type Error struct {
	Code    string
	Message string
}

func (e *Error) Error() string { return e.Code + ": " + e.Message }

// Status is the HTTP status AWS answers the error with.
func (e *Error) Status() int {
	switch e.Code {
	case CodeIncomplete, CodeExpired, CodeExpiredToken:
		return http.StatusBadRequest
	}
	return http.StatusForbidden
}

func errorf(code, msg string) *Error { return &Error{Code: code, Message: msg} }

// MismatchMessage is AWS's text for a wrong signature.
const MismatchMessage = "The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method. Consult the service documentation for details."

// Auth is the parsed signature of a request.
type Auth struct {
	AccessKeyID   string
	Date          string // scope date, YYYYMMDD
	Region        string
	Service       string
	Scope         string // date/region/service/aws4_request
	AmzDate       string // YYYYMMDDTHHMMSSZ
	Time          time.Time
	SignedHeaders string // as sent: lowercase names joined by ';'
	Signature     string
	SecurityToken string
	Presigned     bool
	Expires       int // seconds; presigned only, 0 when absent
}

// Signs reports whether the signature covers the header of that
// lower-case name.
func (a *Auth) Signs(header string) bool { return headerListed(a.SignedHeaders, header) }

// SigningKey derives the SigV4 signing key for a scope from a secret.
func SigningKey(secret []byte, date, region, service string) []byte {
	if 4+len(secret) > sha256.BlockSize {
		// A key longer than a block is hashed first; the fast path below
		// does not do that.
		k := append([]byte("AWS4"), secret...)
		for _, part := range []string{date, region, service, terminator} {
			h := hmac.New(sha256.New, k)
			h.Write([]byte(part))
			k = h.Sum(nil)
		}
		return k
	}
	var keyBuf [sha256.BlockSize]byte
	key := append(append(keyBuf[:0], "AWS4"...), secret...)
	var buf [sha256.BlockSize + 128]byte
	var sum [sha256.Size]byte
	for _, part := range [...]string{date, region, service, terminator} {
		if len(part) > 128 {
			part = part[:128] // only a malformed scope; the signature then fails
		}
		msg := append(buf[:sha256.BlockSize], part...)
		sum = hmacSHA256(key, msg)
		key = sum[:]
	}
	out := make([]byte, sha256.Size)
	copy(out, sum[:])
	return out
}

// authParams are the query parameters of a presigned request's signature.
var authParams = [...]string{"X-Amz-Algorithm", "X-Amz-Credential", "X-Amz-SignedHeaders", "X-Amz-Signature", "X-Amz-Date", "X-Amz-Expires", "X-Amz-Security-Token"}

// Parse extracts the signature parameters from r without checking them.
// A request that carries its signature twice (two Authorization headers,
// a parameter of the presigned form repeated, a component repeated in the
// header) is refused: which copy a check reads must never be a question.
func Parse(r *http.Request) (*Auth, error) {
	header := r.Header.Get("Authorization")
	q := query(r.URL.RawQuery)
	inQuery := q.Has("X-Amz-Algorithm")
	switch {
	case header == "" && !inQuery:
		return nil, errorf(CodeMissingAuth, "Request is missing Authentication Token")
	case header != "" && inQuery:
		return nil, errorf(CodeIncomplete, "Only one auth mechanism allowed; only the X-Amz-Algorithm query parameter or the Authorization header should be specified")
	case len(r.Header["Authorization"]) > 1:
		return nil, errorf(CodeIncomplete, "Only one Authorization header is allowed.")
	case len(r.Header["X-Amz-Date"]) > 1, len(r.Header["X-Amz-Security-Token"]) > 1, len(r.Header["X-Amz-Content-Sha256"]) > 1:
		return nil, errorf(CodeIncomplete, "The signature headers X-Amz-Date, X-Amz-Security-Token and X-Amz-Content-Sha256 may each appear once.")
	}
	if inQuery {
		for _, name := range authParams {
			if q.count(name) > 1 {
				return nil, errorf(CodeIncomplete, "The query-string parameter "+name+" may appear only once.")
			}
		}
	}
	a := &Auth{}
	var cred string
	if inQuery {
		a.Presigned = true
		if alg := q.Get("X-Amz-Algorithm"); alg != algorithm {
			return nil, errorf(CodeIncomplete, "Unsupported AWS 'algorithm': '"+clip(alg)+"'")
		}
		cred, a.SignedHeaders, a.Signature = q.Get("X-Amz-Credential"), q.Get("X-Amz-SignedHeaders"), q.Get("X-Amz-Signature")
		a.AmzDate, a.SecurityToken = q.Get("X-Amz-Date"), q.Get("X-Amz-Security-Token")
		var missing []string
		for _, p := range [][2]string{{"X-Amz-Credential", cred}, {"X-Amz-SignedHeaders", a.SignedHeaders}, {"X-Amz-Signature", a.Signature}, {"X-Amz-Date", a.AmzDate}} {
			if p[1] == "" {
				missing = append(missing, p[0])
			}
		}
		if len(missing) > 0 {
			return nil, errorf(CodeIncomplete, "AWS query-string parameters must include "+strings.Join(missing, ", ")+". Re-examine the query-string parameters.")
		}
		if e := q.Get("X-Amz-Expires"); e != "" {
			n, err := strconv.Atoi(e)
			if err != nil || n < 1 || n > MaxExpires {
				return nil, errorf(CodeIncomplete, "X-Amz-Expires must be a whole number of seconds from 1 to 604800.")
			}
			a.Expires = n
		}
	} else {
		alg, rest, _ := strings.Cut(header, " ")
		if alg != algorithm {
			return nil, errorf(CodeIncomplete, "Unsupported AWS 'algorithm': '"+clip(alg)+"'")
		}
		for rest != "" {
			var part string
			part, rest, _ = strings.Cut(rest, ",")
			k, v, ok := strings.Cut(strings.TrimSpace(part), "=")
			if !ok {
				return nil, errorf(CodeIncomplete, "Authorization header requires each component to be of the form key=value.")
			}
			var dst *string
			switch k {
			case "Credential":
				dst = &cred
			case "SignedHeaders":
				dst = &a.SignedHeaders
			case "Signature":
				dst = &a.Signature
			default:
				continue
			}
			if *dst != "" {
				return nil, errorf(CodeIncomplete, "Authorization header has the component "+k+" more than once.")
			}
			*dst = v
		}
		var missing []string
		for _, p := range [][2]string{{"Credential", cred}, {"Signature", a.Signature}, {"SignedHeaders", a.SignedHeaders}} {
			if p[1] == "" {
				missing = append(missing, "Authorization header requires '"+p[0]+"' parameter.")
			}
		}
		a.AmzDate = r.Header.Get("X-Amz-Date")
		if a.AmzDate == "" {
			if d := r.Header.Get("Date"); d != "" {
				if t, err := http.ParseTime(d); err == nil {
					a.AmzDate = t.UTC().Format(amzDate)
				} else {
					return nil, errorf(CodeIncomplete, "Date must be in ISO-8601 'basic format' or RFC 1123.")
				}
			} else {
				missing = append(missing, "Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header.")
			}
		}
		if len(missing) > 0 {
			return nil, errorf(CodeIncomplete, strings.Join(missing, " ")+" Authorization="+clip(header))
		}
		a.SecurityToken = r.Header.Get("X-Amz-Security-Token")
	}
	var parts [5]string
	n, rest := 0, cred
	for ; n < 5 && rest != ""; n++ {
		parts[n], rest, _ = strings.Cut(rest, "/")
	}
	if n != 5 || rest != "" || parts[0] == "" || strings.HasSuffix(cred, "/") {
		return nil, errorf(CodeIncomplete, "Credential should have exactly 5 slash-delimited elements, e.g. keyID/date/region/service/term, got '"+clip(cred)+"'")
	}
	a.AccessKeyID, a.Date, a.Region, a.Service = parts[0], parts[1], parts[2], parts[3]
	a.Scope = cred[len(parts[0])+1:]
	if parts[4] != terminator {
		return nil, errorf(CodeSignatureMismatch, "Credential should be scoped with a valid terminator: 'aws4_request', not '"+clip(parts[4])+"'. ")
	}
	t, err := time.Parse(amzDate, a.AmzDate)
	if err != nil {
		return nil, errorf(CodeIncomplete, "X-Amz-Date must be in the ISO-8601 basic format YYYYMMDD'T'HHMMSS'Z'.")
	}
	a.Time = t
	if len(a.Signature) != 64 || !isLowerHex(a.Signature) {
		return nil, errorf(CodeIncomplete, "Signature must be 64 lowercase hexadecimal characters.")
	}
	if !headerListed(a.SignedHeaders, "host") {
		return nil, errorf(CodeSignatureMismatch, "'Host' or ':authority' must be a 'SignedHeader' in the AWS Authorization.")
	}
	if !a.Presigned && r.Header.Get("X-Amz-Date") != "" && !headerListed(a.SignedHeaders, "x-amz-date") {
		return nil, errorf(CodeSignatureMismatch, "'X-Amz-Date' must be a 'SignedHeader' when it carries the request's date.")
	}
	return a, nil
}

// query reads parameters from a raw query string without building a map:
// presigned requests carry only a handful.
type query string

// Get returns the decoded value of the first parameter named name.
func (q query) Get(name string) string {
	v, _ := q.lookup(name)
	return v
}

// count returns how many parameters are named name.
func (q query) count(name string) int {
	n, raw := 0, string(q)
	for raw != "" {
		var kv string
		kv, raw, _ = strings.Cut(raw, "&")
		k, _, _ := strings.Cut(kv, "=")
		if k == name || (strings.ContainsAny(k, "%+") && unescape(k) == name) {
			n++
		}
	}
	return n
}

// Has reports whether the query has a parameter named name.
func (q query) Has(name string) bool {
	_, ok := q.lookup(name)
	return ok
}

func (q query) lookup(name string) (string, bool) {
	raw := string(q)
	for raw != "" {
		var kv string
		kv, raw, _ = strings.Cut(raw, "&")
		k, v, _ := strings.Cut(kv, "=")
		if k == name || (strings.ContainsAny(k, "%+") && unescape(k) == name) {
			return unescape(v), true
		}
	}
	return "", false
}

// clip shortens client-supplied text that is echoed in an error.
func clip(s string) string {
	if len(s) > 200 {
		return s[:200] + "…"
	}
	return s
}

func isLowerHex(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f') {
			return false
		}
	}
	return true
}

func headerListed(list, name string) bool {
	for list != "" {
		var h string
		h, list, _ = strings.Cut(list, ";")
		if h == name {
			return true
		}
	}
	return false
}

// Verifier checks signed requests.
type Verifier struct {
	// Now is the clock; time.Now when nil.
	Now func() time.Time
	// MaxSkew is the allowed clock difference (default 15 minutes).
	MaxSkew time.Duration
	// Region reports whether a scope's region is accepted for a service;
	// nil accepts any.
	Region func(service, region string) bool
}

// KeyFunc returns the signing key for a's access key and scope, or an error
// (for example an *Error with CodeInvalidToken) when the key is unknown or
// may not be used. Derive it with SigningKey; it may be cached per scope.
type KeyFunc func(a *Auth) ([]byte, error)

// Verify checks the signature of r, whose body is body, for service. It
// returns the parsed Auth on success, an *Error from this package, or the
// error key returned.
func (v *Verifier) Verify(r *http.Request, body []byte, service string, key KeyFunc) (*Auth, error) {
	a, err := Parse(r)
	if err != nil {
		return nil, err
	}
	p, err := v.Begin(r, a, service, key)
	if err != nil {
		return nil, err
	}
	return a, p.Finish(r, body)
}

// Pending is a signature checked as far as the request's headers allow.
type Pending struct {
	auth       *Auth
	signingKey []byte
	signed     bool // the signature is verified already, over X-Amz-Content-Sha256
}

// Begin checks what a's signature of r allows before the body is read:
// the key (through key), the scope and the clock, and, when the payload's
// hash is among the signed headers (X-Amz-Content-Sha256), the signature
// itself. A server calls it before reading a byte of the body, so that a
// caller with no valid key, or a stale or wrong signature over a signed
// hash, makes it hold nothing; Finish completes the check.
func (v *Verifier) Begin(r *http.Request, a *Auth, service string, key KeyFunc) (Pending, error) {
	signingKey, err := key(a)
	if err != nil {
		return Pending{}, err
	}
	if err := v.checkScope(a, service); err != nil {
		return Pending{}, err
	}
	p := Pending{auth: a, signingKey: signingKey}
	if h := r.Header.Get("X-Amz-Content-Sha256"); !a.Presigned && len(h) == 2*sha256.Size && isLowerHex(h) && headerListed(a.SignedHeaders, "x-amz-content-sha256") {
		if !checkBoth(r, a, []byte(h), signingKey) {
			return Pending{}, errorf(CodeSignatureMismatch, MismatchMessage)
		}
		p.signed = true
	}
	return p, nil
}

// Verified reports whether Begin checked the whole signature already, over
// a signed X-Amz-Content-Sha256; the body must then still have that hash.
func (p *Pending) Verified() bool { return p.signed }

// FinishHash is Finish for a body whose SHA-256 (lower-case hex) the caller
// computed itself, as it streamed the body.
func (p *Pending) FinishHash(r *http.Request, hash string) error {
	if h := r.Header.Get("X-Amz-Content-Sha256"); h != "" && !p.auth.Presigned && h != hash {
		return errorf(CodeSignatureMismatch, "The provided 'x-amz-content-sha256' header does not match what was computed.")
	}
	if !p.signed && !checkBoth(r, p.auth, []byte(hash), p.signingKey) {
		return errorf(CodeSignatureMismatch, MismatchMessage)
	}
	return nil
}

// CheckedBody wraps the body of a request whose signed X-Amz-Content-Sha256
// is want (Pending.Verified), to stream it: it hashes what it reads and
// fails the read that completes the body if the hash is another, without
// returning that read's bytes, so that whoever consumes it never gets a
// forged body whole. length is the declared length, or -1.
func CheckedBody(r io.ReadCloser, want string, length int64) io.ReadCloser {
	return &checkedBody{r: r, h: sha256.New(), want: want, length: length}
}

type checkedBody struct {
	r      io.ReadCloser
	h      hash.Hash
	want   string
	length int64
	read   int64
}

// ErrBodyHash is what a CheckedBody's last read returns for a forged body.
var ErrBodyHash = errors.New("the body does not match its signed X-Amz-Content-Sha256")

func (b *checkedBody) Read(p []byte) (int, error) {
	n, err := b.r.Read(p)
	b.h.Write(p[:n])
	b.read += int64(n)
	complete := err == io.EOF || b.length >= 0 && b.read >= b.length
	if complete && hex.EncodeToString(b.h.Sum(nil)) != b.want {
		return 0, ErrBodyHash
	}
	return n, err
}

func (b *checkedBody) Close() error { return b.r.Close() }

// Finish checks the signature against the body, once read.
func (p *Pending) Finish(r *http.Request, body []byte) error {
	var payload [2 * sha256.Size]byte
	if err := payloadHash(&payload, r, body, p.auth); err != nil {
		return err
	}
	if !p.signed && !checkBoth(r, p.auth, payload[:], p.signingKey) {
		return errorf(CodeSignatureMismatch, MismatchMessage)
	}
	return nil
}

// Check reports whether a's signature is right for r with the given payload
// hash and signing key. It compares in constant time. A presigned request may
// carry its session token outside the signature (the "token added after
// signing" convention of STS presigners); that form is tried second.
func Check(r *http.Request, a *Auth, payloadHash string, signingKey []byte) bool {
	return checkBoth(r, a, []byte(payloadHash), signingKey)
}

func checkBoth(r *http.Request, a *Auth, payloadHash, signingKey []byte) bool {
	if check(r, a, payloadHash, signingKey, false) {
		return true
	}
	return a.Presigned && a.SecurityToken != "" && check(r, a, payloadHash, signingKey, true)
}

// WrongService is the error for a signature scoped to another service than
// the one the request is for.
func WrongService(service string) *Error {
	return errorf(CodeSignatureMismatch, "Credential should be scoped to correct service: '"+clip(service)+"'. ")
}

func (v *Verifier) checkScope(a *Auth, service string) error {
	if a.Date != a.AmzDate[:8] {
		return errorf(CodeSignatureMismatch, "Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from HTTP: '"+clip(a.Date)+"' != '"+a.AmzDate[:8]+"', from '"+a.AmzDate+"'.")
	}
	if a.Service != service {
		return WrongService(service)
	}
	if v.Region != nil && !v.Region(service, a.Region) {
		return errorf(CodeSignatureMismatch, "Credential should be scoped to a valid region, not '"+clip(a.Region)+"'. ")
	}
	now := time.Now
	if v.Now != nil {
		now = v.Now
	}
	skew := v.MaxSkew
	if skew == 0 {
		skew = 15 * time.Minute
	}
	t := now().UTC()
	mins := strconv.Itoa(int(skew/time.Minute)) + " min."
	if a.Time.After(t.Add(skew)) {
		return errorf(CodeSignatureMismatch, "Signature not yet current: "+a.AmzDate+" is still later than "+t.Add(skew).Format(amzDate)+" ("+t.Format(amzDate)+" + "+mins+")")
	}
	if a.Presigned {
		if a.Expires > 0 {
			if t.After(a.Time.Add(time.Duration(a.Expires) * time.Second)) {
				return errorf(CodeExpired, "Request has expired: "+a.AmzDate+" plus "+strconv.Itoa(a.Expires)+" seconds is earlier than "+t.Format(amzDate)+".")
			}
			return nil
		}
		// Without X-Amz-Expires a presigned request is held to the skew window.
	}
	if a.Time.Before(t.Add(-skew)) {
		return errorf(CodeSignatureMismatch, "Signature expired: "+a.AmzDate+" is now earlier than "+t.Add(-skew).Format(amzDate)+" ("+t.Format(amzDate)+" - "+mins+")")
	}
	return nil
}

// payloadHash writes the hex SHA-256 of body to dst, checked against the
// X-Amz-Content-Sha256 header when the client sent one.
func payloadHash(dst *[2 * sha256.Size]byte, r *http.Request, body []byte, a *Auth) error {
	sum := sha256.Sum256(body)
	hex.Encode(dst[:], sum[:])
	if h := r.Header.Get("X-Amz-Content-Sha256"); h != "" && !a.Presigned && h != string(dst[:]) {
		return errorf(CodeSignatureMismatch, "The provided 'x-amz-content-sha256' header does not match what was computed.")
	}
	return nil
}

var bufPool = sync.Pool{New: func() any { b := make([]byte, 0, 1024); return &b }}

func check(r *http.Request, a *Auth, payloadHash, signingKey []byte, skipToken bool) bool {
	bp := bufPool.Get().(*[]byte)
	defer bufPool.Put(bp)
	creq := canonicalRequest((*bp)[:0], r, a, payloadHash, skipToken)
	crHash := sha256.Sum256(creq)

	// The string to sign follows a 64-byte slot for HMAC's inner pad, in
	// the tail of the same buffer.
	buf := creq[len(creq):]
	buf = append(buf, make([]byte, sha256.BlockSize)...)
	buf = append(buf, algorithm+"\n"...)
	buf = append(buf, a.AmzDate...)
	buf = append(buf, '\n')
	buf = append(buf, a.Scope...)
	buf = append(buf, '\n')
	buf = hex.AppendEncode(buf, crHash[:])
	*bp = buf[:0]

	sig := hmacSHA256(signingKey, buf)
	var want, got [2 * sha256.Size]byte
	hex.Encode(want[:], sig[:])
	copy(got[:], a.Signature) // Parse checked it is 64 characters
	return subtle.ConstantTimeCompare(want[:], got[:]) == 1
}

// hmacSHA256 computes HMAC-SHA256 of buf[sha256.BlockSize:] under key
// (at most one block long), using buf's first block as scratch for the
// inner pad, so that no allocation is made.
func hmacSHA256(key, buf []byte) [sha256.Size]byte {
	var outer [sha256.BlockSize + sha256.Size]byte
	pad := buf[:sha256.BlockSize]
	for i := range pad {
		var k byte
		if i < len(key) {
			k = key[i]
		}
		pad[i] = k ^ 0x36
		outer[i] = k ^ 0x5c
	}
	inner := sha256.Sum256(buf)
	copy(outer[sha256.BlockSize:], inner[:])
	return sha256.Sum256(outer[:])
}

// CanonicalRequest appends the SigV4 canonical request of r to dst.
func CanonicalRequest(dst []byte, r *http.Request, a *Auth, payloadHash string) []byte {
	return canonicalRequest(dst, r, a, []byte(payloadHash), false)
}

func canonicalRequest(dst []byte, r *http.Request, a *Auth, payloadHash []byte, skipToken bool) []byte {
	dst = append(dst, r.Method...)
	dst = append(dst, '\n')
	dst = appendCanonicalURI(dst, rawPath(r))
	dst = append(dst, '\n')
	dst = appendCanonicalQuery(dst, r.URL.RawQuery, a.Presigned, skipToken)
	dst = append(dst, '\n')
	list := a.SignedHeaders
	for list != "" {
		var name string
		name, list, _ = strings.Cut(list, ";")
		dst = append(dst, name...)
		dst = append(dst, ':')
		dst = appendHeaderValue(dst, r, name)
		dst = append(dst, '\n')
	}
	dst = append(dst, '\n')
	dst = append(dst, a.SignedHeaders...)
	dst = append(dst, '\n')
	return append(dst, payloadHash...)
}

func rawPath(r *http.Request) string {
	p := r.RequestURI
	if p == "" || p[0] != '/' {
		p = r.URL.EscapedPath()
	}
	if i := strings.IndexByte(p, '?'); i >= 0 {
		p = p[:i]
	}
	return p
}

// IsCanonicalPath reports whether the (decoded) path p is already in the form
// appendCanonicalURI signs for non-S3 services: no "." or ".." segment and
// no empty one but a trailing slash. A signature covers every path that
// normalizes alike, so a service that decides or forwards by path must
// refuse the others: a signature for /admin is valid for /pets/../admin.
// Segments that servers behind a front read as such are refused too: a
// segment whose part before ";" is ".", ".." or empty (Tomcat and Jetty
// drop path parameters, so "..;" is ".."), and any backslash (a separator
// to some servers).
func IsCanonicalPath(p string) bool {
	if p == "/" {
		return true
	}
	if !strings.HasPrefix(p, "/") || strings.ContainsRune(p, '\\') {
		return false
	}
	segs := strings.Split(p[1:], "/")
	for i, s := range segs {
		base, _, params := strings.Cut(s, ";")
		if base == "." || base == ".." || base == "" && (params || i != len(segs)-1) {
			return false
		}
	}
	return true
}

// appendCanonicalURI normalizes the path as non-S3 services do (dot
// segments removed, empty segments collapsed) and URI-encodes each segment
// of it as sent, so an escaped path is escaped again, as the SDKs do.
func appendCanonicalURI(dst []byte, p string) []byte {
	if p == "/" || p == "" {
		return append(dst, '/')
	}
	var segs []string
	for _, s := range strings.Split(p, "/") {
		switch s {
		case "", ".":
		case "..":
			if len(segs) > 0 {
				segs = segs[:len(segs)-1]
			}
		default:
			segs = append(segs, s)
		}
	}
	dst = append(dst, '/')
	for i, s := range segs {
		if i > 0 {
			dst = append(dst, '/')
		}
		dst = appendEscape(dst, s)
	}
	if len(segs) > 0 && strings.HasSuffix(p, "/") {
		dst = append(dst, '/')
	}
	return dst
}

const hexUpper = "0123456789ABCDEF"

// appendEscape URI-encodes s with the RFC 3986 unreserved set.
func appendEscape[T string | []byte](dst []byte, s T) []byte {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if 'A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '-' || c == '.' || c == '_' || c == '~' {
			dst = append(dst, c)
		} else {
			dst = append(dst, '%', hexUpper[c>>4], hexUpper[c&15])
		}
	}
	return dst
}

type queryPair struct{ k, v []byte }

type queryScratch struct {
	pairs []queryPair
	buf   []byte
}

var scratchPool = sync.Pool{New: func() any { return &queryScratch{buf: make([]byte, 0, 1024)} }}

// appendCanonicalQuery decodes each pair of the raw query and re-encodes it,
// sorted by key then value; X-Amz-Signature is left out of presigned requests.
func appendCanonicalQuery(dst []byte, raw string, presigned, skipToken bool) []byte {
	if raw == "" {
		return dst
	}
	sc := scratchPool.Get().(*queryScratch)
	defer scratchPool.Put(sc)
	pairs, scratch := sc.pairs[:0], sc.buf[:0]
	var dec [256]byte
	for raw != "" {
		var kv string
		kv, raw, _ = strings.Cut(raw, "&")
		if kv == "" {
			continue
		}
		k, v, _ := strings.Cut(kv, "=")
		dk := appendUnescape(dec[:0], k)
		if presigned && string(dk) == "X-Amz-Signature" || skipToken && string(dk) == "X-Amz-Security-Token" {
			continue
		}
		start := len(scratch)
		scratch = appendEscape(scratch, dk)
		mid := len(scratch)
		scratch = appendEscape(scratch, appendUnescape(dec[:0], v))
		pairs = append(pairs, queryPair{k: scratch[start:mid:mid], v: scratch[mid:len(scratch):len(scratch)]})
	}
	// scratch may have moved while growing: re-slice every pair from it.
	off := 0
	for i := range pairs {
		kl, vl := len(pairs[i].k), len(pairs[i].v)
		pairs[i] = queryPair{k: scratch[off : off+kl : off+kl], v: scratch[off+kl : off+kl+vl : off+kl+vl]}
		off += kl + vl
	}
	slices.SortFunc(pairs, func(a, b queryPair) int {
		if c := bytes.Compare(a.k, b.k); c != 0 {
			return c
		}
		return bytes.Compare(a.v, b.v)
	})
	for i, p := range pairs {
		if i > 0 {
			dst = append(dst, '&')
		}
		dst = append(dst, p.k...)
		dst = append(dst, '=')
		dst = append(dst, p.v...)
	}
	sc.pairs, sc.buf = pairs[:0], scratch[:0]
	return dst
}

// unescape decodes %XX and '+' (as a space, as url.Values.Encode sends
// it); a malformed escape is kept literally, which makes the signature fail.
func unescape(s string) string {
	if !strings.ContainsAny(s, "%+") {
		return s
	}
	var buf [256]byte
	return string(appendUnescape(buf[:0], s))
}

func appendUnescape(dst []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c == '+':
			dst = append(dst, ' ')
		case c == '%' && i+2 < len(s) && ishex(s[i+1]) && ishex(s[i+2]):
			dst = append(dst, unhex(s[i+1])<<4|unhex(s[i+2]))
			i += 2
		default:
			dst = append(dst, c)
		}
	}
	return dst
}

func ishex(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}

func unhex(c byte) byte {
	switch {
	case c <= '9':
		return c - '0'
	case c <= 'F':
		return c - 'A' + 10
	}
	return c - 'a' + 10
}

// appendHeaderValue appends the canonical value of header name: values
// trimmed, inner runs of white space collapsed, repeats joined by ','.
func appendHeaderValue(dst []byte, r *http.Request, name string) []byte {
	if name == "host" {
		return appendTrimmed(dst, r.Host)
	}
	vals := headerValues(r.Header, name)
	if len(vals) == 0 && name == "content-length" && r.ContentLength >= 0 {
		return strconv.AppendInt(dst, r.ContentLength, 10)
	}
	for i, v := range vals {
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = appendTrimmed(dst, v)
	}
	return dst
}

// headerValues returns the values of the lowercase header name. It builds
// the canonical key on the stack: a map lookup keyed by string(bytes)
// does not allocate.
func headerValues(h http.Header, name string) []string {
	var buf [128]byte
	if len(name) > len(buf) {
		return h[http.CanonicalHeaderKey(name)]
	}
	k := buf[:len(name)]
	upper := true
	for i := 0; i < len(name); i++ {
		c := name[i]
		if upper && 'a' <= c && c <= 'z' {
			c -= 'a' - 'A'
		} else if !upper && 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		k[i] = c
		upper = c == '-'
	}
	return h[string(k)]
}

func appendTrimmed(dst []byte, v string) []byte {
	v = strings.TrimSpace(v)
	space := false
	for i := 0; i < len(v); i++ {
		c := v[i]
		if c == ' ' || c == '\t' || c == '\n' || c == '\r' {
			space = true
			continue
		}
		if space {
			dst = append(dst, ' ')
			space = false
		}
		dst = append(dst, c)
	}
	return dst
}

// IsMissingAuth reports whether err says a request carries no signature
// at all (neither an Authorization header nor a presigned query).
func IsMissingAuth(err error) bool {
	var e *Error
	return errors.As(err, &e) && e.Code == CodeMissingAuth
}
