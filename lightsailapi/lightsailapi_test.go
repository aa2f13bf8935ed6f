package lightsailapi_test

import (
	"context"
	"encoding/json"
	"errors"
	"path/filepath"
	"regexp"
	"testing"
	"time"

	"iamd"
	"iamd/lightsailapi"
	"iamd/sqlite"
)

func newAPI(t *testing.T) *lightsailapi.API {
	st, err := sqlite.Open(filepath.Join(t.TempDir(), "db"), sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	sealer, _ := iamd.NewSealer(make([]byte, 32))
	now := func() time.Time { return time.UnixMilli(1700000000123).UTC() }
	svc, err := iamd.NewService(context.Background(), iamd.Config{Store: st, Sealer: sealer, Account: iamd.Account{ID: "123456789012"}, Region: "eu-west-1", Now: now})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { svc.Close(); st.Close() })
	return lightsailapi.New(svc, nil)
}

var root = &iamd.Caller{Kind: iamd.CallerRoot, Account: "123456789012"}

var uuid = regexp.MustCompile(`[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}`)

func call(t *testing.T, a *lightsailapi.API, op, body string) string {
	t.Helper()
	res, err := a.Do(context.Background(), root, op, []byte(body))
	if err != nil {
		t.Fatalf("%s: %v", op, err)
	}
	b, err := json.Marshal(res)
	if err != nil {
		t.Fatal(err)
	}
	s := uuid.ReplaceAllString(string(b), "UUID")
	s = regexp.MustCompile(`AKIA[A-Z2-7]{16}`).ReplaceAllString(s, "AKIA…")
	s = regexp.MustCompile(`AIDA[A-Z2-7]{17}`).ReplaceAllString(s, "AIDA…")
	return regexp.MustCompile(`"secretAccessKey":"[A-Za-z0-9+/]{40}"`).ReplaceAllString(s, `"secretAccessKey":"…"`)
}

// TestShapes checks the JSON of each operation against botocore's
// Lightsail model: member names, epoch-second timestamps, operations.
func TestShapes(t *testing.T) {
	a := newAPI(t)
	const op = `"location":{"availabilityZone":"all","regionName":"eu-west-1"},"isTerminal":true,`
	const bucket = `{"resourceType":"Bucket","accessRules":{"getObject":"private","allowPublicOverrides":false},"arn":"arn:aws:lightsail:eu-west-1:123456789012:Bucket/UUID","bundleId":"small_1_0","createdAt":1700000000.123,"location":{"availabilityZone":"all","regionName":"eu-west-1"},"name":"photos","supportCode":"123456789012/UUID","tags":[{"key":"k","value":"v"}],"objectVersioning":"Enabled","ableToUpdateBundle":true,"readonlyAccessAccounts":[],"resourcesReceivingAccess":[],"state":{"code":"OK"},"accessLogConfig":{"enabled":false}}`
	for _, tt := range []struct{ op, body, want string }{
		{"CreateBucket", `{"bucketName": "photos", "bundleId": "small_1_0", "tags": [{"key": "k", "value": "v"}], "enableObjectVersioning": true}`,
			`{"bucket":` + bucket + `,"operations":[{"id":"UUID","resourceName":"photos","resourceType":"Bucket","createdAt":1700000000.123,` + op + `"operationType":"CreateBucket","status":"Succeeded","statusChangedAt":1700000000.123}]}`},
		{"GetBuckets", `{}`, `{"buckets":[` + bucket + `]}`},
		{"CreateBucketAccessKey", `{"bucketName":"photos"}`,
			`{"accessKey":{"accessKeyId":"AKIA…","secretAccessKey":"…","status":"Active","createdAt":1700000000.123},"operations":[{"id":"UUID","resourceName":"photos","resourceType":"Bucket","createdAt":1700000000.123,` + op + `"operationType":"CreateBucketAccessKey","status":"Succeeded","statusChangedAt":1700000000.123}]}`},
		{"GetBucketAccessKeys", `{"bucketName":"photos"}`,
			`{"accessKeys":[{"accessKeyId":"AKIA…","status":"Active","createdAt":1700000000.123,"lastUsed":{"region":"N/A","serviceName":"N/A"}}]}`},
		{"GetBucketBundles", `{}`,
			`{"bundles":[{"bundleId":"small_1_0","name":"Small","price":1,"storagePerMonthInGb":5,"transferPerMonthInGb":25,"isActive":true},{"bundleId":"medium_1_0","name":"Medium","price":3,"storagePerMonthInGb":100,"transferPerMonthInGb":250,"isActive":true},{"bundleId":"large_1_0","name":"Large","price":5,"storagePerMonthInGb":250,"transferPerMonthInGb":500,"isActive":true}]}`},
		{"DeleteBucket", `{"bucketName":"photos","forceDelete":true}`,
			`{"operations":[{"id":"UUID","resourceName":"photos","resourceType":"Bucket","createdAt":1700000000.123,` + op + `"operationType":"DeleteBucket","status":"Succeeded","statusChangedAt":1700000000.123}]}`},
		{"GetBuckets", `{}`, `{"buckets":[]}`},
	} {
		if got := call(t, a, tt.op, tt.body); got != tt.want {
			t.Errorf("%s:\n got %s\nwant %s", tt.op, got, tt.want)
		}
	}
}

func TestErrors(t *testing.T) {
	a := newAPI(t)
	call(t, a, "CreateBucket", `{"bucketName":"photos","bundleId":"small_1_0"}`)
	for _, tt := range []struct {
		op, body, typ string
	}{
		{"CreateBucket", `{"bucketName":"photos","bundleId":"small_1_0"}`, "InvalidInputException"},
		{"CreateBucket", `{"bucketName":"a","bundleId":"small_1_0"}`, "InvalidInputException"},
		{"CreateBucket", `{"bucketName":"abc-","bundleId":"small_1_0"}`, "InvalidInputException"},
		{"CreateBucket", `{"bucketName":"abc","bundleId":"small_1_0","tags":[{"value":"v"}]}`, "InvalidInputException"},
		{"GetBuckets", `{"bucketName":"nope"}`, "NotFoundException"},
		{"DeleteBucket", `{}`, "InvalidInputException"},
		{"DeleteBucketAccessKey", `{"bucketName":"photos"}`, "InvalidInputException"},
		{"DeleteBucketAccessKey", `{"bucketName":"photos","accessKeyId":"AKIAAAAAAAAAAAAAAAAA"}`, "NotFoundException"},
		{"GetOperation", `{}`, "InvalidInputException"},
		{"GetInstances", `{}`, "UnknownOperationException"},
		{"CreateBucket", `{"bucketName":[]}`, "SerializationException"},
	} {
		_, err := a.Do(context.Background(), root, tt.op, []byte(tt.body))
		status, body := lightsailapi.ErrorResponse(err)
		if body.Type != tt.typ || status != 400 || body.Message == "" {
			t.Errorf("%s %s: %d %+v, want %s", tt.op, tt.body, status, body, tt.typ)
		}
	}
	status, body := lightsailapi.ErrorResponse(errors.New("disk on fire"))
	if status != 500 || body.Type != "ServiceException" || regexp.MustCompile("disk").MatchString(body.Message) {
		t.Fatalf("internal: %d %+v", status, body)
	}
}

func TestParseBundles(t *testing.T) {
	if len(lightsailapi.DefaultBundles()) != 3 {
		t.Fatal("default bundles")
	}
	for _, bad := range []string{`{}`, `[{"name":"x"}]`, `nope`} {
		if _, err := lightsailapi.ParseBundles([]byte(bad)); err == nil {
			t.Errorf("accepted %s", bad)
		}
	}
}
