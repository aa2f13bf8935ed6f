package sigv4_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"iamd/internal/captures"
	"iamd/sigv4"
)

// FuzzVerify feeds arbitrary Authorization headers, query strings and
// bodies to the verifier: it must never panic, and must never accept a
// request, since no input here carries a valid signature for the key.
func FuzzVerify(f *testing.F) {
	f.Add("AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20261124/us-east-1/iam/aws4_request, SignedHeaders=content-type;host;x-amz-date, Signature=6e5b624b76ec3b6c69d23a4d85abe3de6f16de3c839d6c354fed13e180a13778", "", "20261124T073036Z", "Action=GetUser&Version=2010-05-08")
	f.Add("", "X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIAIOSFODNN7EXAMPLE%2F20261124%2Fus-east-1%2Fsts%2Faws4_request&X-Amz-Date=20261124T073036Z&X-Amz-SignedHeaders=host&X-Amz-Signature=02603cc7f14d6c1b039341a5217f41a161845df28520e6fac667c9db1acd8ed8", "", "")
	f.Add("AWS4-HMAC-SHA256 Credential=/, Signature=, SignedHeaders=", "a=%zz&&=&%E1", "x", "\xff")
	f.Add("AWS4-HMAC-SHA256 ,,,==", "X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Expires=-1", "20261124T073036Z", "")
	// Every captured client request, header-signed and presigned.
	if cs, err := captures.Load(); err == nil {
		for _, c := range cs {
			if r, body, err := c.Request(); err == nil {
				f.Add(r.Header.Get("Authorization"), r.URL.RawQuery, r.Header.Get("X-Amz-Date"), string(body))
			}
		}
	}
	now := time.Date(2026, 11, 24, 7, 30, 36, 0, time.UTC)
	v := &sigv4.Verifier{Now: func() time.Time { return now }}
	key := func(a *sigv4.Auth) ([]byte, error) {
		return sigv4.SigningKey([]byte("secret"), a.Date, a.Region, a.Service), nil
	}
	f.Fuzz(func(t *testing.T, auth, query, date, body string) {
		r := &http.Request{Method: "POST", Host: "127.0.0.1:8600", URL: &url.URL{Path: "/", RawQuery: query}, RequestURI: "/?" + query, Header: http.Header{}}
		if auth != "" {
			r.Header.Set("Authorization", auth)
		}
		if date != "" {
			r.Header.Set("X-Amz-Date", date)
		}
		for _, svc := range []string{"iam", "sts"} {
			if a, err := v.Verify(r, []byte(body), svc, key); err == nil {
				t.Fatalf("accepted %+v", a)
			}
		}
	})
}

// FuzzParseStringToSign: a string to sign from another service is parsed
// without panicking, and one that is accepted is exactly the four lines
// its parts describe.
func FuzzParseStringToSign(f *testing.F) {
	f.Add("AWS4-HMAC-SHA256\n20261124T073036Z\n20261124/us-east-1/s3/aws4_request\n" + strings.Repeat("ab", 32))
	f.Add("AWS4-HMAC-SHA256\n20261124T073036Z\n20261124/us-east-1/s3/aws4_request\n")
	f.Add("GET\n\n\nTue, 27 Mar 2007 19:36:42 +0000\n/photos/")
	f.Add("AWS4-HMAC-SHA256\n\n//\n")
	f.Fuzz(func(t *testing.T, sts string) {
		a, err := sigv4.ParseStringToSign([]byte(sts))
		if err != nil {
			return
		}
		rebuilt := "AWS4-HMAC-SHA256\n" + a.AmzDate + "\n" + a.Date + "/" + a.Region + "/" + a.Service + "/aws4_request\n" + sts[strings.LastIndex(sts, "\n")+1:]
		if rebuilt != sts || a.Date != a.AmzDate[:8] || a.Time.IsZero() {
			t.Fatalf("accepted %q as %+v", sts, a)
		}
	})
}
