package sigv4_test

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"iamd/internal/captures"
	"iamd/sigv4"
)

// shared is the reference material beside the repository.
const shared = "../../shared/testdata"

type suiteContext struct {
	Credentials struct {
		AccessKeyID     string `json:"access_key_id"`
		SecretAccessKey string `json:"secret_access_key"`
		Token           string `json:"token"`
	} `json:"credentials"`
	Expiration int       `json:"expiration_in_seconds"`
	Normalize  bool      `json:"normalize"`
	Region     string    `json:"region"`
	Service    string    `json:"service"`
	Timestamp  time.Time `json:"timestamp"`
}

// parseSuiteRequest reads the suite's request files, which are not always
// valid HTTP (spaces and raw UTF-8 in the path, bare LF, folded headers).
func parseSuiteRequest(t *testing.T, raw []byte) (*http.Request, []byte) {
	t.Helper()
	text := string(raw)
	head, body, _ := strings.Cut(text, "\n\n")
	lines := strings.Split(head, "\n")
	first := lines[0]
	method, rest, _ := strings.Cut(first, " ")
	uri := rest[:strings.LastIndexByte(rest, ' ')]
	r := &http.Request{Method: method, RequestURI: uri, Header: http.Header{}, URL: &url.URL{}}
	path, query, _ := strings.Cut(uri, "?")
	r.URL.Path, r.URL.RawQuery = path, query
	var last string
	for _, l := range lines[1:] {
		if l == "" {
			continue
		}
		if l[0] == ' ' || l[0] == '\t' {
			vs := r.Header[last]
			vs[len(vs)-1] += "\n" + l
			continue
		}
		k, v, _ := strings.Cut(l, ":")
		last = http.CanonicalHeaderKey(k)
		if last == "Host" {
			r.Host = v
			continue
		}
		r.Header[last] = append(r.Header[last], v)
	}
	r.ContentLength = int64(len(body))
	return r, []byte(body)
}

func suiteCases(t *testing.T) []string {
	dirs, err := filepath.Glob(filepath.Join(shared, "aws-signing-test-suite/v4/*"))
	if err != nil || len(dirs) == 0 {
		t.Fatalf("no signing test suite at %s (%v): ../shared, the reference test data (AWS's SigV4 test suite and captured client requests), must be checked out beside the repository; CI (.ci/run) puts it there", shared, err)
	}
	return dirs
}

func keyFor(id, secret string) sigv4.KeyFunc {
	return func(a *sigv4.Auth) ([]byte, error) {
		if a.AccessKeyID != id {
			return nil, &sigv4.Error{Code: sigv4.CodeInvalidToken, Message: "unknown key"}
		}
		return sigv4.SigningKey([]byte(secret), a.Date, a.Region, a.Service), nil
	}
}

// TestSuite verifies every normalized case of AWS's signing test suite in
// both forms, then rejects it after each kind of tampering.
func TestSuite(t *testing.T) {
	n := 0
	for _, dir := range suiteCases(t) {
		var c suiteContext
		b, err := os.ReadFile(filepath.Join(dir, "context.json"))
		if err != nil {
			t.Fatal(err)
		}
		if err := json.Unmarshal(b, &c); err != nil {
			t.Fatal(err)
		}
		if !c.Normalize {
			continue // S3-style unnormalized paths: not used by IAM, STS or Lightsail
		}
		for _, form := range []string{"header", "query"} {
			name := filepath.Base(dir) + "/" + form
			raw, err := os.ReadFile(filepath.Join(dir, form+"-signed-request.txt"))
			if err != nil {
				t.Fatal(err)
			}
			v := &sigv4.Verifier{Now: func() time.Time { return c.Timestamp }}
			key := keyFor(c.Credentials.AccessKeyID, c.Credentials.SecretAccessKey)
			t.Run(name, func(t *testing.T) {
				r, body := parseSuiteRequest(t, raw)
				// post-sts-header-after adds the token after signing; its
				// canonical request leaves the token out.
				if want, err := os.ReadFile(filepath.Join(dir, form+"-canonical-request.txt")); err == nil && !strings.HasSuffix(dir, "header-after") {
					a, err := sigv4.Parse(r)
					if err != nil {
						t.Fatalf("Parse: %v", err)
					}
					sum := sha256.Sum256(body)
					ph := hex.EncodeToString(sum[:])
					if got := sigv4.CanonicalRequest(nil, r, a, ph); string(got) != string(want) {
						t.Fatalf("canonical request:\n%s\nwant:\n%s", got, want)
					}
				}
				if _, err := v.Verify(r, body, c.Service, key); err != nil {
					t.Fatalf("Verify: %v", err)
				}
				for _, tamper := range tampers(r, body) {
					r2, body2 := parseSuiteRequest(t, raw)
					body2 = tamper.fn(r2, body2)
					if _, err := v.Verify(r2, body2, c.Service, key); err == nil {
						t.Errorf("accepted after tampering with %s", tamper.name)
					}
				}
			})
			n++
		}
	}
	if n < 60 {
		t.Fatalf("only %d suite cases ran", n)
	}
}

type tamper struct {
	name string
	fn   func(r *http.Request, body []byte) []byte
}

// tampers lists changes to the signed parts of r that must break the signature.
func tampers(r *http.Request, body []byte) []tamper {
	ts := []tamper{
		{"host", func(r *http.Request, b []byte) []byte { r.Host += "x"; return b }},
		{"method", func(r *http.Request, b []byte) []byte { r.Method += "X"; return b }},
		{"path", func(r *http.Request, b []byte) []byte {
			r.RequestURI = "/x" + r.RequestURI
			r.URL.Path = "/x" + r.URL.Path
			return b
		}},
		{"query", func(r *http.Request, b []byte) []byte {
			r.URL.RawQuery += "&extra=1"
			return b
		}},
	}
	if len(body) > 0 {
		ts = append(ts, tamper{"body", func(r *http.Request, b []byte) []byte {
			b = bytes.Clone(b)
			b[0] ^= 1
			return b
		}})
	}
	for name := range r.Header {
		lname := strings.ToLower(name)
		if lname == "authorization" || lname == "x-amz-date" {
			continue
		}
		if !signed(r, lname) {
			continue
		}
		ts = append(ts, tamper{"header " + name, func(r *http.Request, b []byte) []byte {
			r.Header[name] = append([]string{"tampered"}, r.Header[name][1:]...)
			return b
		}})
	}
	ts = append(ts, tamper{"date", func(r *http.Request, b []byte) []byte {
		if d := r.Header.Get("X-Amz-Date"); d != "" {
			r.Header.Set("X-Amz-Date", nextSecond(d))
		} else {
			q := r.URL.Query()
			q.Set("X-Amz-Date", nextSecond(q.Get("X-Amz-Date")))
			r.URL.RawQuery = q.Encode()
		}
		return b
	}})
	ts = append(ts, tamper{"signature", func(r *http.Request, b []byte) []byte {
		if a := r.Header.Get("Authorization"); a != "" {
			r.Header.Set("Authorization", flipLastHex(a))
		} else {
			r.URL.RawQuery = flipLastHex(r.URL.RawQuery)
		}
		return b
	}})
	return ts
}

func nextSecond(d string) string {
	t, err := time.Parse("20060102T150405Z", d)
	if err != nil {
		panic(err)
	}
	return t.Add(time.Second).Format("20060102T150405Z")
}

// signed reports whether header name (lowercase) is in r's signed headers.
func signed(r *http.Request, name string) bool {
	list := r.URL.Query().Get("X-Amz-SignedHeaders")
	if a := r.Header.Get("Authorization"); a != "" {
		_, list, _ = strings.Cut(a, "SignedHeaders=")
		list, _, _ = strings.Cut(list, ",")
	}
	for _, h := range strings.Split(list, ";") {
		if h == name {
			return true
		}
	}
	return false
}

func flipLastHex(s string) string {
	i := strings.LastIndex(s, "Signature=") + len("Signature=")
	c := byte('0')
	if s[i] == '0' {
		c = '1'
	}
	return s[:i] + string(c) + s[i+1:]
}

func loadCaptures(t testing.TB) []captures.Capture {
	cs, err := captures.Load()
	if err != nil {
		t.Fatalf("captures: %v", err)
	}
	return cs
}

// readCapture returns the captured request and its body.
func readCapture(t testing.TB, c captures.Capture) (*http.Request, []byte) {
	r, body, err := c.Request()
	if err != nil {
		t.Fatal(err)
	}
	return r, body
}

// TestCaptures verifies requests captured from six real clients, header and
// presigned, and rejects each after tampering.
func TestCaptures(t *testing.T) {
	cs := loadCaptures(t)
	if len(cs) < 117 {
		t.Fatalf("%d captures, want 117", len(cs))
	}
	for _, c := range cs {
		t.Run(c.File, func(t *testing.T) {
			at, err := time.Parse("20060102T150405Z", c.SigningTime)
			if err != nil {
				t.Fatal(err)
			}
			v := &sigv4.Verifier{Now: func() time.Time { return at.Add(90 * time.Second) }}
			key := keyFor(c.AccessKeyID, c.Secret)
			r, body := readCapture(t, c)
			a, err := v.Verify(r, body, c.Service, key)
			if err != nil {
				t.Fatalf("Verify: %v", err)
			}
			if a.Region != c.Region || a.Presigned != (c.Kind == "presigned-url") {
				t.Fatalf("parsed %+v", a)
			}
			for _, tm := range tampers(r, body) {
				r2, b2 := readCapture(t, c)
				b2 = tm.fn(r2, b2)
				if _, err := v.Verify(r2, b2, c.Service, key); err == nil {
					t.Errorf("accepted after tampering with %s", tm.name)
				}
			}
			// The wrong secret fails with SignatureDoesNotMatch.
			r3, b3 := readCapture(t, c)
			_, err = v.Verify(r3, b3, c.Service, keyFor(c.AccessKeyID, c.Secret+"x"))
			if code(err) != sigv4.CodeSignatureMismatch {
				t.Errorf("wrong secret: %v", err)
			}
		})
	}
}

func code(err error) string {
	var e *sigv4.Error
	if errors.As(err, &e) {
		return e.Code
	}
	return ""
}

// TestErrors drives the checks that decide which error a client sees.
func TestErrors(t *testing.T) {
	cs := loadCaptures(t)
	var c captures.Capture
	for _, x := range cs {
		if x.File == "boto3/iam-CreateAccessKey.http" {
			c = x
		}
	}
	at, _ := time.Parse("20060102T150405Z", c.SigningTime)
	key := keyFor(c.AccessKeyID, c.Secret)
	tests := []struct {
		name    string
		now     time.Time
		service string
		region  func(service, region string) bool
		edit    func(r *http.Request)
		key     sigv4.KeyFunc
		code    string
		msg     string
	}{
		{name: "no auth", edit: func(r *http.Request) { r.Header.Del("Authorization") }, code: sigv4.CodeMissingAuth},
		{name: "bad algorithm", edit: func(r *http.Request) {
			r.Header.Set("Authorization", strings.Replace(r.Header.Get("Authorization"), "AWS4-HMAC-SHA256", "AWS4-HMAC-SHA1", 1))
		}, code: sigv4.CodeIncomplete},
		{name: "no signature", edit: func(r *http.Request) {
			a := r.Header.Get("Authorization")
			r.Header.Set("Authorization", a[:strings.Index(a, ", Signature=")])
		}, code: sigv4.CodeIncomplete, msg: "requires 'Signature'"},
		{name: "short credential", edit: func(r *http.Request) {
			r.Header.Set("Authorization", strings.Replace(r.Header.Get("Authorization"), "/us-east-1/", "/", 1))
		}, code: sigv4.CodeIncomplete},
		{name: "no date", edit: func(r *http.Request) { r.Header.Del("X-Amz-Date") }, code: sigv4.CodeIncomplete},
		{name: "unknown key", key: func(*sigv4.Auth) ([]byte, error) {
			return nil, &sigv4.Error{Code: sigv4.CodeInvalidToken, Message: "The security token included in the request is invalid."}
		}, code: sigv4.CodeInvalidToken},
		{name: "wrong service", service: "sts", code: sigv4.CodeSignatureMismatch, msg: "scoped to correct service: 'sts'"},
		{name: "wrong region", region: func(_, r string) bool { return r == "eu-west-1" }, code: sigv4.CodeSignatureMismatch, msg: "valid region, not 'us-east-1'"},
		{name: "skew past", now: at.Add(16 * time.Minute), code: sigv4.CodeSignatureMismatch, msg: "Signature expired: " + c.SigningTime + " is now earlier than"},
		{name: "skew future", now: at.Add(-16 * time.Minute), code: sigv4.CodeSignatureMismatch, msg: "Signature not yet current"},
		{name: "skew within", now: at.Add(14 * time.Minute), code: ""},
		{name: "host unsigned", edit: func(r *http.Request) {
			r.Header.Set("Authorization", strings.Replace(r.Header.Get("Authorization"), "content-type;host;", "content-type;", 1))
		}, code: sigv4.CodeSignatureMismatch, msg: "'Host'"},
		{name: "content sha mismatch", edit: func(r *http.Request) { r.Header.Set("X-Amz-Content-Sha256", sigv4.EmptySHA256) }, code: sigv4.CodeSignatureMismatch},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, body := readCapture(t, c)
			if tt.edit != nil {
				tt.edit(r)
			}
			now := at
			if !tt.now.IsZero() {
				now = tt.now
			}
			v := &sigv4.Verifier{Now: func() time.Time { return now }, Region: tt.region}
			service := "iam"
			if tt.service != "" {
				service = tt.service
			}
			k := key
			if tt.key != nil {
				k = tt.key
			}
			_, err := v.Verify(r, body, service, k)
			if code(err) != tt.code || (tt.code == "" && err != nil) {
				t.Fatalf("got %v, want code %q", err, tt.code)
			}
			if tt.msg != "" && !strings.Contains(err.Error(), tt.msg) {
				t.Fatalf("message %q lacks %q", err, tt.msg)
			}
		})
	}
}

func TestPresignedExpiry(t *testing.T) {
	for _, c := range loadCaptures(t) {
		if c.Kind != "presigned-url" {
			continue
		}
		at, _ := time.Parse("20060102T150405Z", c.SigningTime)
		r, _ := readCapture(t, c)
		v := &sigv4.Verifier{Now: func() time.Time { return at.Add(16 * time.Minute) }}
		_, err := v.Verify(r, nil, "sts", keyFor(c.AccessKeyID, c.Secret))
		if err == nil {
			t.Errorf("%s accepted 16 minutes after signing", c.File)
		}
	}
}

func TestIsCanonicalPath(t *testing.T) {
	for p, want := range map[string]bool{
		"/": true, "/pets": true, "/pets/": true, "/pets/1": true, "/a.b/..c": true,
		"": false, "pets": false, "//pets": false, "/pets//1": false, "/pets/../admin": false, "/./pets": false, "/pets/.": false, "/pets/..": false,
		// What Tomcat and Jetty read as dot segments, and backslashes.
		"/pets;x=1": true, "/pets/1;v=2/x": true,
		"/pets/..;/admin": false, "/pets/..;x/admin": false, "/pets/.;/admin": false, "/pets/;x/admin": false, "/pets/;": false,
		"/pets/..\\admin": false, "/pets\\1": false,
	} {
		if got := sigv4.IsCanonicalPath(p); got != want {
			t.Errorf("IsCanonicalPath(%q) = %v", p, got)
		}
	}
}
