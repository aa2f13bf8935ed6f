package server_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"encoding/xml"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/sts"

	"iamd"
	"iamd/internal/captures"
	"iamd/organizations"
	"iamd/replica"
	"iamd/server"
	"iamd/sqlite"
)

const (
	keyID  = "AKIAIOSFODNN7EXAMPLE"
	secret = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
)

// newServer returns a server whose root key is the captures' key, with
// its clock at now.
func newServer(t testing.TB, now func() time.Time) (*server.Server, *iamd.Service) {
	return newServerOn(t, now, viewStore)
}

// How a test's Service reads what decisions need.
type view int

const (
	viewStore         view = iota // the store, through a cache of 10 s
	viewStoreUncached             // the store on every request
	viewReplica                   // a replica (package replica)
)

func newServerOn(t testing.TB, now func() time.Time, v view) (*server.Server, *iamd.Service) {
	// A replica follows the change log, which SQLite keeps for one.
	st, err := sqlite.Open(filepath.Join(t.TempDir(), "iamd.db"), sqlite.Options{ChangeLog: v == viewReplica})
	if err != nil {
		t.Fatal(err)
	}
	sealer, _ := iamd.NewSealer(make([]byte, 32))
	cfg := iamd.Config{Store: st, Sealer: sealer, Account: iamd.Account{ID: "123456789012"}, Now: now}
	var rep *replica.Replica
	switch v {
	case viewStoreUncached:
		// A clock that moves on a microsecond a reading: each request's
		// cached credential has expired.
		var tick atomic.Int64
		cfg.CredentialTTL, cfg.Now = time.Nanosecond, func() time.Time { return now().Add(time.Duration(tick.Add(1)) * time.Microsecond) }
	case viewReplica:
		if rep, err = replica.Open(context.Background(), replica.Config{Log: st}); err != nil {
			t.Fatal(err)
		}
		st.OnCommit(rep.Committed)
		cfg.Replica = rep
	}
	svc, err := iamd.NewService(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		svc.Close()
		if rep != nil {
			rep.Close()
		}
		st.Close()
	})
	if err := svc.EnsureRootKey(context.Background(), keyID, secret); err != nil {
		t.Fatal(err)
	}
	return server.New(server.Config{Service: svc, Now: now, Organizations: organizations.NewAPI(organizations.New(svc, st))}), svc
}

type errorDoc struct {
	XMLName   xml.Name
	Error     struct{ Type, Code, Message string }
	RequestId string
}

// do serves r and decodes the error envelope, if any.
func do(t *testing.T, h http.Handler, r *http.Request) (*httptest.ResponseRecorder, errorDoc) {
	t.Helper()
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	var e errorDoc
	if w.Code != 200 {
		if err := xml.Unmarshal(w.Body.Bytes(), &e); err != nil {
			t.Fatalf("status %d with a body that is not XML: %q", w.Code, w.Body.String())
		}
		if e.RequestId == "" || e.RequestId != w.Header().Get("X-Amzn-Requestid") {
			t.Fatalf("request IDs: body %q, header %q", e.RequestId, w.Header().Get("X-Amzn-Requestid"))
		}
	}
	if w.Code >= 500 {
		t.Fatalf("server error %d: %s", w.Code, w.Body.String())
	}
	return w, e
}

// signed builds a POST signed with the root key as aws-sdk-go-v2 signs it.
func signed(t *testing.T, service, body string, edit func(*http.Request)) *http.Request {
	r := httptest.NewRequest("POST", "http://127.0.0.1:8600/", strings.NewReader(body))
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if edit != nil {
		edit(r)
	}
	sum := sha256.Sum256([]byte(body))
	err := v4.NewSigner().SignHTTP(context.Background(), aws.Credentials{AccessKeyID: keyID, SecretAccessKey: secret},
		r, hex.EncodeToString(sum[:]), service, "us-east-1", time.Now())
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func TestBadRequests(t *testing.T) {
	h, _ := newServer(t, nil)
	big := "Action=ListUsers&Version=2010-05-08&Pad=" + strings.Repeat("a", server.DefaultMaxBody)
	tests := []struct {
		name   string
		req    *http.Request
		status int
		code   string
		ns     string
	}{
		{"unsigned", httptest.NewRequest("POST", "/", strings.NewReader("Action=ListUsers&Version=2010-05-08")), 403, "MissingAuthenticationToken", "iam"},
		// Before the body is read, the envelope is the one the query string
		// names; an unsigned request's body is never read.
		{"unsigned sts", httptest.NewRequest("GET", "/?Action=GetCallerIdentity&Version=2011-06-15", nil), 403, "MissingAuthenticationToken", "sts"},
		{"garbage authorization", func() *http.Request {
			r := httptest.NewRequest("POST", "/", strings.NewReader("Action=ListUsers&Version=2010-05-08"))
			r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			r.Header.Set("Authorization", "AWS4-HMAC-SHA256 nonsense")
			return r
		}(), 400, "IncompleteSignature", "iam"},
		{"unknown action", signed(t, "iam", "Action=FlyToTheMoon&Version=2010-05-08", nil), 400, "InvalidAction", "iam"},
		{"missing action", signed(t, "iam", "Version=2010-05-08", nil), 400, "MissingAction", "iam"},
		{"missing version", signed(t, "iam", "Action=ListUsers", nil), 400, "MissingParameter", "iam"},
		{"wrong version", signed(t, "iam", "Action=ListUsers&Version=2099-01-01", nil), 400, "InvalidAction", "iam"},
		{"wrong version sts", signed(t, "sts", "Action=GetCallerIdentity&Version=2099-01-01", nil), 400, "InvalidAction", "sts"},
		{"sts action on iam", signed(t, "iam", "Action=GetCallerIdentity&Version=2010-05-08", nil), 400, "InvalidAction", "iam"},
		{"signed for sts, called iam", signed(t, "sts", "Action=ListUsers&Version=2010-05-08", nil), 403, "SignatureDoesNotMatch", "iam"},
		{"repeated parameter", signed(t, "iam", "Action=GetUser&Version=2010-05-08&UserName=a&UserName=b", nil), 400, "InvalidParameterValue", "iam"},
		{"invalid utf-8", signed(t, "iam", "Action=GetUser&Version=2010-05-08&UserName=%ff", nil), 400, "InvalidParameterValue", "iam"},
		{"bad escape", signed(t, "iam", "Action=GetUser&Version=2010-05-08&UserName=%g1", nil), 404, "MalformedQueryString", "iam"},
		{"missing required", signed(t, "iam", "Action=CreateUser&Version=2010-05-08", nil), 400, "ValidationError", "iam"},
		{"empty name", signed(t, "iam", "Action=CreateUser&Version=2010-05-08&UserName=", nil), 400, "ValidationError", "iam"},
		{"bad max items", signed(t, "iam", "Action=ListUsers&Version=2010-05-08&MaxItems=ten", nil), 400, "ValidationError", "iam"},
		{"json body", signed(t, "iam", `{"Action":"ListUsers"}`, func(r *http.Request) { r.Header.Set("Content-Type", "application/json") }), 415, "InvalidParameterValue", "iam"},
		{"oversize body", signed(t, "iam", big, nil), 413, "RequestEntityTooLarge", "iam"},
		{"method", httptest.NewRequest("DELETE", "/", nil), 405, "InvalidAction", "iam"},
		{"session token", signed(t, "sts", "Action=GetCallerIdentity&Version=2011-06-15", func(r *http.Request) { r.Header.Set("X-Amz-Security-Token", "tok") }), 403, "InvalidClientTokenId", "sts"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w, e := do(t, h, tt.req)
			if w.Code != tt.status || e.Error.Code != tt.code {
				t.Fatalf("got %d %s (%s), want %d %s", w.Code, e.Error.Code, e.Error.Message, tt.status, tt.code)
			}
			if !strings.Contains(e.XMLName.Space, tt.ns+".amazonaws.com") {
				t.Fatalf("namespace %q, want %s's", e.XMLName.Space, tt.ns)
			}
			if e.Error.Type != "Sender" {
				t.Fatalf("type %q", e.Error.Type)
			}
		})
	}
}

// TestNoPartialWrite: a refused CreateUser leaves nothing behind.
func TestNoPartialWrite(t *testing.T) {
	h, _ := newServer(t, nil)
	do(t, h, signed(t, "iam", "Action=CreateUser&Version=2010-05-08&UserName=Bob&Tags.member.1.Key=a&Tags.member.1.Value=%ff", nil))
	w, e := do(t, h, signed(t, "iam", "Action=GetUser&Version=2010-05-08&UserName=Bob", nil))
	if w.Code != 404 || e.Error.Code != "NoSuchEntity" {
		t.Fatalf("user exists after a refused create: %d %s", w.Code, w.Body.String())
	}
}

func TestPresigned(t *testing.T) {
	h, _ := newServer(t, nil)
	srv := httptest.NewServer(h)
	defer srv.Close()
	cfg := aws.Config{Region: "us-east-1", Credentials: credentials.NewStaticCredentialsProvider(keyID, secret, ""), BaseEndpoint: aws.String(srv.URL)}
	req, err := sts.NewPresignClient(sts.NewFromConfig(cfg)).PresignGetCallerIdentity(context.Background(), &sts.GetCallerIdentityInput{})
	if err != nil {
		t.Fatal(err)
	}
	hr, _ := http.NewRequest(req.Method, req.URL, nil)
	for k, v := range req.SignedHeader {
		hr.Header[k] = v
	}
	resp, err := http.DefaultClient.Do(hr)
	if err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	b.ReadFrom(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.Contains(b.String(), "<Arn>arn:aws:iam::123456789012:root</Arn>") {
		t.Fatalf("presigned %s: %d %s", req.Method, resp.StatusCode, b.String())
	}
}

// TestCapturedClients replays requests captured from six real clients
// (aws CLI v1 and v2, boto3, aws-sdk-go-v2, JS SDK v3, R paws): each must
// authenticate and reach its action, and get a well-formed answer.
func TestCapturedClients(t *testing.T) {
	cs, err := captures.Load()
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, c := range cs {
		t.Run(c.File, func(t *testing.T) {
			at := c.Time()
			h, svc := newServer(t, func() time.Time { return at })
			root := &iamd.Caller{Kind: iamd.CallerRoot, Account: "123456789012"}
			if _, err := svc.CreateUser(context.Background(), root, "Bob", "/", nil); err != nil {
				t.Fatal(err)
			}
			if c.Operation != "CreateBucket" {
				if _, _, err := svc.CreateBucket(context.Background(), root, "test-bucket", "small_1_0", nil, false); err != nil {
					t.Fatal(err)
				}
			}
			r, _, err := c.Request()
			if err != nil {
				t.Fatal(err)
			}
			if c.Service == "lightsail" {
				w := httptest.NewRecorder()
				h.ServeHTTP(w, r)
				var e struct {
					Type string `json:"__type"`
				}
				json.Unmarshal(w.Body.Bytes(), &e)
				// DeleteBucketAccessKey names AWS's example key, not issued here.
				if w.Code != 200 && !(c.Operation == "DeleteBucketAccessKey" && e.Type == "NotFoundException") {
					t.Fatalf("%d %s", w.Code, w.Body.String())
				}
				if w.Header().Get("Content-Type") != "application/x-amz-json-1.1" {
					t.Fatalf("content type %q", w.Header().Get("Content-Type"))
				}
				return
			}
			w, e := do(t, h, r)
			switch e.Error.Code {
			case "", "NoSuchEntity", // reached the action; some name keys that do not exist here
				"ValidationError",       // ListUsers carries a Marker this server did not issue
				"InvalidParameterValue": // GetAccessKeyInfo of AWS's example key, not issued here
			default:
				t.Fatalf("%d %s: %s", w.Code, e.Error.Code, e.Error.Message)
			}
			if w.Code == 200 && !strings.Contains(w.Body.String(), "<"+c.Operation+"Response") {
				t.Fatalf("body %s", w.Body.String())
			}
		})
		n++
	}
	if n < 117 {
		t.Fatalf("only %d captures replayed", n)
	}
}

// signedJSON builds a Lightsail request signed with the root key.
func signedJSON(t *testing.T, target, body string, edit func(*http.Request)) *http.Request {
	r := httptest.NewRequest("POST", "http://127.0.0.1:8600/", strings.NewReader(body))
	r.Header.Set("Content-Type", "application/x-amz-json-1.1")
	r.Header.Set("X-Amz-Target", target)
	if edit != nil {
		edit(r)
	}
	sum := sha256.Sum256([]byte(body))
	err := v4.NewSigner().SignHTTP(context.Background(), aws.Credentials{AccessKeyID: keyID, SecretAccessKey: secret},
		r, hex.EncodeToString(sum[:]), "lightsail", "us-east-1", time.Now())
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func TestBadJSONRequests(t *testing.T) {
	h, svc := newServer(t, nil)
	const ls = "Lightsail_20161128."
	big := `{"bucketName":"` + strings.Repeat("a", server.DefaultMaxBody) + `"}`
	tests := []struct {
		name   string
		req    *http.Request
		status int
		typ    string
	}{
		{"unsigned", func() *http.Request {
			r := httptest.NewRequest("POST", "/", strings.NewReader("{}"))
			r.Header.Set("X-Amz-Target", ls+"GetBuckets")
			r.Header.Set("Content-Type", "application/x-amz-json-1.1")
			return r
		}(), 403, "MissingAuthenticationTokenException"},
		{"signed for iam", func() *http.Request {
			r := signed(t, "iam", "{}", nil)
			r.Header.Set("X-Amz-Target", ls+"GetBuckets")
			return r
		}(), 400, "InvalidSignatureException"},
		{"malformed json", signedJSON(t, ls+"CreateBucket", `{"bucketName": "b`, nil), 400, "SerializationException"},
		{"not an object", signedJSON(t, ls+"CreateBucket", `["b"]`, nil), 400, "SerializationException"},
		{"wrong member type", signedJSON(t, ls+"CreateBucket", `{"bucketName": 7, "bundleId": "small_1_0"}`, nil), 400, "SerializationException"},
		{"unknown target", signedJSON(t, ls+"LaunchRocket", `{}`, nil), 400, "UnknownOperationException"},
		{"other service target", signedJSON(t, "DynamoDB_20120810.GetItem", `{}`, nil), 400, "UnknownOperationException"},
		{"wrong content type", signedJSON(t, ls+"GetBuckets", `{}`, func(r *http.Request) { r.Header.Set("Content-Type", "text/plain") }), 400, "SerializationException"},
		{"missing bucket name", signedJSON(t, ls+"CreateBucketAccessKey", `{}`, nil), 400, "InvalidInputException"},
		{"missing bundle", signedJSON(t, ls+"CreateBucket", `{"bucketName": "abc"}`, nil), 400, "InvalidInputException"},
		{"unknown bundle", signedJSON(t, ls+"CreateBucket", `{"bucketName": "abc", "bundleId": "huge_9_9"}`, nil), 400, "InvalidInputException"},
		{"bad name", signedJSON(t, ls+"CreateBucket", `{"bucketName": "-abc", "bundleId": "small_1_0"}`, nil), 400, "InvalidInputException"},
		{"unknown bucket", signedJSON(t, ls+"GetBucketAccessKeys", `{"bucketName": "nope"}`, nil), 400, "NotFoundException"},
		{"unknown operation id", signedJSON(t, ls+"GetOperation", `{"operationId": "nope"}`, nil), 400, "NotFoundException"},
		{"oversize", signedJSON(t, ls+"CreateBucket", big, nil), 413, "SerializationException"},
		{"get", func() *http.Request {
			r := httptest.NewRequest("GET", "/", nil)
			r.Header.Set("X-Amz-Target", ls+"GetBuckets")
			return r
		}(), 405, "UnknownOperationException"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := httptest.NewRecorder()
			h.ServeHTTP(w, tt.req)
			var e struct {
				Type    string `json:"__type"`
				Message string `json:"message"`
			}
			if err := json.Unmarshal(w.Body.Bytes(), &e); err != nil {
				t.Fatalf("body is not JSON: %q", w.Body.String())
			}
			if w.Code != tt.status || e.Type != tt.typ || w.Header().Get("X-Amzn-ErrorType") != tt.typ || e.Message == "" {
				t.Fatalf("got %d %s (%s) header %q, want %d %s", w.Code, e.Type, e.Message, w.Header().Get("X-Amzn-ErrorType"), tt.status, tt.typ)
			}
		})
	}
	// Nothing was written by the refused requests.
	root := &iamd.Caller{Kind: iamd.CallerRoot, Account: "123456789012"}
	if bs, _, err := svc.ListBuckets(context.Background(), root, iamd.Page{MaxItems: 10}); err != nil || len(bs) != 0 {
		t.Fatalf("buckets after refused requests: %v %v", bs, err)
	}
}

// TestOrganizationsDoor: the JSON door serves Organizations beside
// Lightsail, each by its X-Amz-Target prefix and only for a signature
// scoped to its own service.
func TestOrganizationsDoor(t *testing.T) {
	h, _ := newServer(t, nil)
	const org = organizations.TargetPrefix + "."
	signedFor := func(service, target, body string) *http.Request {
		r := signedJSON(t, target, body, nil)
		sum := sha256.Sum256([]byte(body))
		r.Header.Del("Authorization")
		if err := v4.NewSigner().SignHTTP(context.Background(), aws.Credentials{AccessKeyID: keyID, SecretAccessKey: secret},
			r, hex.EncodeToString(sum[:]), service, "us-east-1", time.Now()); err != nil {
			t.Fatal(err)
		}
		return r
	}
	unsigned := httptest.NewRequest("POST", "/", strings.NewReader("{}"))
	unsigned.Header.Set("X-Amz-Target", org+"DescribeOrganization")
	unsigned.Header.Set("Content-Type", "application/x-amz-json-1.1")
	for _, tt := range []struct {
		name   string
		req    *http.Request
		status int
		typ    string
	}{
		{"unsigned", unsigned, 403, "MissingAuthenticationTokenException"},
		{"signed for lightsail", signedFor("lightsail", org+"DescribeOrganization", "{}"), 400, "InvalidSignatureException"},
		{"before the organization", signedFor("organizations", org+"DescribeOrganization", "{}"), 400, "AWSOrganizationsNotInUseException"},
		{"created", signedFor("organizations", org+"CreateOrganization", `{"FeatureSet":"ALL"}`), 200, ""},
		{"an operation not served", signedFor("organizations", org+"InviteAccountToOrganization", `{}`), 400, "UnknownOperationException"},
		{"Lightsail beside it", signedFor("lightsail", "Lightsail_20161128.GetBuckets", "{}"), 200, ""},
	} {
		w := httptest.NewRecorder()
		h.ServeHTTP(w, tt.req)
		var e struct {
			Type string `json:"__type"`
		}
		json.Unmarshal(w.Body.Bytes(), &e)
		if w.Code != tt.status || e.Type != tt.typ {
			t.Fatalf("%s: %d %s %s, want %d %s", tt.name, w.Code, e.Type, w.Body.String(), tt.status, tt.typ)
		}
	}
}
