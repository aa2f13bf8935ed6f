package main

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"

	"iamd/accounts"
	"iamd/federation"
	"iamd/iamapi"
	"iamd/instanceprofiles"
	"iamd/internal/botomodel"
	"iamd/people"
	"iamd/stsapi"
)

// Every successful IAM and STS answer any test of this package receives
// through its servers' HTTP clients is checked against botocore's model
// of the operation's output (botomodel.CheckQueryResponse): result
// wrappers, member names, required members, lists, maps and scalar types.
// TestMain then says which served operations no test answered.

var models struct {
	once     sync.Once
	iam, sts *botomodel.Model
	err      error

	mu      sync.Mutex
	checked map[string]bool // "iam:CreateUser"
}

func loadModels() error {
	models.once.Do(func() {
		if models.iam, models.err = botomodel.Open("iam"); models.err == nil {
			models.sts, models.err = botomodel.Open("sts")
		}
		models.checked = map[string]bool{}
	})
	return models.err
}

// shapeChecker is a RoundTripper that checks answers against the models.
type shapeChecker struct {
	base http.RoundTripper
	t    testing.TB
}

func (c shapeChecker) RoundTrip(req *http.Request) (*http.Response, error) {
	var body []byte
	if req.Body != nil && req.Method == http.MethodPost && strings.HasPrefix(req.Header.Get("Content-Type"), "application/x-www-form-urlencoded") {
		var err error
		if body, err = io.ReadAll(req.Body); err != nil {
			return nil, err
		}
		req.Body.Close()
		req.Body = io.NopCloser(bytes.NewReader(body))
	}
	resp, err := c.base.RoundTrip(req)
	action := botomodel.Action(body)
	if err != nil || action == "" || resp.StatusCode != http.StatusOK || loadModels() != nil {
		return resp, err
	}
	svc, m := "iam", models.iam
	if _, ok := models.sts.Operations[action]; ok {
		svc, m = "sts", models.sts
	}
	if _, ok := m.Operations[action]; !ok {
		return resp, nil
	}
	out, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	resp.Body = io.NopCloser(bytes.NewReader(out))
	if err != nil {
		return resp, nil // the client sees the same failure
	}
	var problems []string
	for _, p := range m.CheckQueryResponse(action, out) {
		if !departure(req, body, action, p) {
			problems = append(problems, p)
		}
	}
	if len(problems) > 0 {
		c.t.Errorf("%s's answer differs from botocore's model:\n  %s\n%s", action, strings.Join(problems, "\n  "), secrets.ReplaceAll(out, []byte("<$1>…</$1>")))
	}
	models.mu.Lock()
	models.checked[svc+":"+action] = true
	models.mu.Unlock()
	return resp, nil
}

// departures are where AWS's own answers leave out members botocore's
// model calls required, and iamd answers as AWS does: the root user has
// no user name or path, so GetUser of the root and the root's own access
// keys come without them (AWS's SDK for Ruby documents an access key's
// user as present "unless this is a root key", aws/aws-sdk-ruby#677). They
// are let through only for a request signed with the root's key that
// names no user: the root acting on itself.
var departures = map[string][]string{
	"GetUser":         {"GetUserResult/User: required member Path is missing", "GetUserResult/User: required member UserName is missing"},
	"CreateAccessKey": {"CreateAccessKeyResult/AccessKey: required member UserName is missing"},
}

func departure(req *http.Request, body []byte, action, problem string) bool {
	form, _ := url.ParseQuery(string(body))
	return strings.Contains(req.Header.Get("Authorization"), "Credential="+rootID+"/") && form.Get("UserName") == "" &&
		slices.Contains(departures[action], problem)
}

// secrets are the members a failure's report must not print.
var secrets = regexp.MustCompile(`<(SecretAccessKey|SessionToken|Base32StringSeed|QRCodePNG)>[^<]*</(?:SecretAccessKey|SessionToken|Base32StringSeed|QRCodePNG)>`)

func TestMain(m *testing.M) {
	code := m.Run()
	if err := loadModels(); err != nil {
		if errors.Is(err, botomodel.ErrNoModel) && os.Getenv("CI") != "true" {
			fmt.Println("answers were not checked against botocore's models:", err)
			os.Exit(code)
		}
		fmt.Println("botocore's models:", err)
		os.Exit(1)
	}
	if len(models.checked) > 0 {
		fed := federation.New(federation.Config{})
		for _, s := range []struct {
			name   string
			served []string
		}{
			{"iam", iamapi.New(nil, iamapi.Parts{Federation: fed, InstanceProfiles: instanceprofiles.New(nil, nil, nil), People: people.New(people.Config{}), Accounts: accounts.New(nil, nil)}).Actions()},
			{"sts", stsapi.New(nil, fed, nil).Actions()},
		} {
			var missed []string
			for _, a := range s.served {
				if !models.checked[s.name+":"+a] {
					missed = append(missed, a)
				}
			}
			slices.Sort(missed)
			fmt.Printf("model check: %d of %d served %s operations answered and checked against botocore's model", len(s.served)-len(missed), len(s.served), s.name)
			if len(missed) > 0 {
				fmt.Printf("; not answered by these tests: %s", strings.Join(missed, ", "))
			}
			fmt.Println()
		}
	}
	os.Exit(code)
}
