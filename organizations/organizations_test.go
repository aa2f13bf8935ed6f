package organizations_test

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"iamd"
	"iamd/internal/svctest"
	"iamd/organizations"
)

var ctx = context.Background()

func newAPI(t testing.TB) (*organizations.API, *svctest.Env) {
	env := svctest.New(t, time.Date(2026, 12, 5, 0, 0, 0, 0, time.UTC))
	return organizations.NewAPI(organizations.New(env.Service, env.Store)), env
}

// call runs op with a JSON body and returns the answer as JSON.
func call(t *testing.T, a *organizations.API, c *iamd.Caller, op, body string) (map[string]any, error) {
	t.Helper()
	res, err := a.Do(ctx, c, op, []byte(body))
	if err != nil {
		return nil, err
	}
	raw, err := json.Marshal(res)
	if err != nil {
		t.Fatal(err)
	}
	var out map[string]any
	if err := json.Unmarshal(raw, &out); err != nil {
		t.Fatal(err)
	}
	return out, nil
}

func must(t *testing.T, a *organizations.API, op, body string) map[string]any {
	t.Helper()
	out, err := call(t, a, svctest.Root, op, body)
	if err != nil {
		t.Fatalf("%s %s: %v", op, body, err)
	}
	return out
}

// wantErr checks the wire form of err: exception type, status, and a
// Reason where AWS gives one.
func wantErr(t *testing.T, what string, err error, typ string, status int, reason string) {
	t.Helper()
	if err == nil {
		t.Fatalf("%s: no error, want %s", what, typ)
	}
	st, body := organizations.ErrorResponse(err)
	if body.Type != typ || st != status || body.Reason != reason {
		t.Fatalf("%s: %d %s (%s) %q, want %d %s (%s)", what, st, body.Type, body.Reason, body.Message, status, typ, reason)
	}
}

func str(m map[string]any, path ...string) string {
	var v any = m
	for _, p := range path {
		v = v.(map[string]any)[p]
	}
	s, _ := v.(string)
	return s
}

// TestPolicyLifecycle: an SCP from creation to deletion, with AWS's
// exceptions at every rule on the way.
func TestPolicyLifecycle(t *testing.T) {
	a, _ := newAPI(t)
	_, err := call(t, a, svctest.Root, "DescribeOrganization", `{}`)
	wantErr(t, "before the organization", err, "AWSOrganizationsNotInUseException", 400, "")

	org := must(t, a, "CreateOrganization", `{"FeatureSet":"ALL"}`)
	if id := str(org, "Organization", "Id"); !strings.HasPrefix(id, "o-") || len(id) != 12 ||
		str(org, "Organization", "MasterAccountId") != svctest.Account ||
		str(org, "Organization", "Arn") != "arn:aws:organizations::"+svctest.Account+":organization/"+id {
		t.Fatalf("CreateOrganization: %v", org)
	}
	_, err = call(t, a, svctest.Root, "CreateOrganization", `{}`)
	wantErr(t, "a second organization", err, "AlreadyInOrganizationException", 400, "")

	root := must(t, a, "ListRoots", `{}`)["Roots"].([]any)[0].(map[string]any)["Id"].(string)
	deny := `{"Version":"2012-10-17","Statement":[{"Effect":"Deny","Action":"iam:CreateAccessKey","Resource":"*"}]}`
	p := str(must(t, a, "CreatePolicy", `{"Name":"deny-keys","Description":"","Type":"SERVICE_CONTROL_POLICY","Content":`+quote(deny)+`}`), "Policy", "PolicySummary", "Id")

	for _, tc := range []struct {
		what, op, body, typ, reason string
	}{
		{"attach before SCPs are enabled", "AttachPolicy", `{"PolicyId":"` + p + `","TargetId":"` + root + `"}`, "PolicyTypeNotEnabledException", ""},
		{"a duplicate name", "CreatePolicy", `{"Name":"deny-keys","Description":"","Type":"SERVICE_CONTROL_POLICY","Content":` + quote(deny) + `}`, "DuplicatePolicyException", ""},
		{"FullAWSAccess's name", "CreatePolicy", `{"Name":"FullAWSAccess","Description":"","Type":"SERVICE_CONTROL_POLICY","Content":` + quote(deny) + `}`, "DuplicatePolicyException", ""},
		{"a policy naming a principal", "CreatePolicy", `{"Name":"p","Description":"","Type":"SERVICE_CONTROL_POLICY","Content":"{\"Version\":\"2012-10-17\",\"Statement\":[{\"Effect\":\"Deny\",\"Principal\":\"*\",\"Action\":\"*\",\"Resource\":\"*\"}]}"}`, "MalformedPolicyDocumentException", ""},
		{"content over 5,120 characters", "CreatePolicy", `{"Name":"big","Description":"","Type":"SERVICE_CONTROL_POLICY","Content":` + quote(`{"Version":"2012-10-17","Statement":[{"Sid":"`+strings.Repeat("a", 5100)+`","Effect":"Deny","Action":"*","Resource":"*"}]}`) + `}`, "ConstraintViolationException", "POLICY_CONTENT_LIMIT_EXCEEDED"},
		{"another policy type", "CreatePolicy", `{"Name":"t","Description":"","Type":"TAG_POLICY","Content":"{}"}`, "PolicyTypeNotAvailableForOrganizationException", ""},
		{"an unknown policy type", "CreatePolicy", `{"Name":"t","Description":"","Type":"NO_SUCH_POLICY","Content":"{}"}`, "InvalidInputException", "INVALID_ENUM"},
		{"no name", "CreatePolicy", `{"Description":"","Type":"SERVICE_CONTROL_POLICY","Content":"{}"}`, "InvalidInputException", "INPUT_REQUIRED"},
		{"an unknown root", "EnablePolicyType", `{"RootId":"r-zzzz","PolicyType":"SERVICE_CONTROL_POLICY"}`, "RootNotFoundException", ""},
		{"an unknown policy", "DescribePolicy", `{"PolicyId":"p-00000000"}`, "PolicyNotFoundException", ""},
		{"changing FullAWSAccess", "UpdatePolicy", `{"PolicyId":"p-FullAWSAccess","Name":"mine"}`, "InvalidInputException", "IMMUTABLE_POLICY"},
		{"deleting FullAWSAccess", "DeletePolicy", `{"PolicyId":"p-FullAWSAccess"}`, "InvalidInputException", "IMMUTABLE_POLICY"},
		{"a name over 128 characters", "CreatePolicy", `{"Name":"` + strings.Repeat("n", 129) + `","Description":"","Type":"SERVICE_CONTROL_POLICY","Content":` + quote(deny) + `}`, "InvalidInputException", "MAX_LENGTH_EXCEEDED"},
		{"MaxResults over 20", "ListPolicies", `{"Filter":"SERVICE_CONTROL_POLICY","MaxResults":21}`, "InvalidInputException", "MAX_VALUE_EXCEEDED"},
	} {
		_, err := call(t, a, svctest.Root, tc.op, tc.body)
		wantErr(t, tc.what, err, tc.typ, 400, tc.reason)
	}

	must(t, a, "EnablePolicyType", `{"RootId":"`+root+`","PolicyType":"SERVICE_CONTROL_POLICY"}`)
	_, err = call(t, a, svctest.Root, "EnablePolicyType", `{"RootId":"`+root+`","PolicyType":"SERVICE_CONTROL_POLICY"}`)
	wantErr(t, "enabled twice", err, "PolicyTypeAlreadyEnabledException", 400, "")

	// Enabling SCPs attaches FullAWSAccess to the root and the account.
	for _, target := range []string{root, svctest.Account} {
		got := must(t, a, "ListPoliciesForTarget", `{"TargetId":"`+target+`","Filter":"SERVICE_CONTROL_POLICY"}`)["Policies"].([]any)
		if len(got) != 1 || got[0].(map[string]any)["Id"] != organizations.FullAccessID || got[0].(map[string]any)["AwsManaged"] != true {
			t.Fatalf("policies of %s once SCPs are enabled: %v", target, got)
		}
	}
	_, err = call(t, a, svctest.Root, "DetachPolicy", `{"PolicyId":"p-FullAWSAccess","TargetId":"`+root+`"}`)
	wantErr(t, "detaching the last SCP", err, "ConstraintViolationException", 400, "MIN_POLICY_TYPE_ATTACHMENT_LIMIT_EXCEEDED")

	must(t, a, "AttachPolicy", `{"PolicyId":"`+p+`","TargetId":"`+root+`"}`)
	_, err = call(t, a, svctest.Root, "AttachPolicy", `{"PolicyId":"`+p+`","TargetId":"`+root+`"}`)
	wantErr(t, "attached twice", err, "DuplicatePolicyAttachmentException", 400, "")
	_, err = call(t, a, svctest.Root, "AttachPolicy", `{"PolicyId":"`+p+`","TargetId":"999999999999"}`)
	wantErr(t, "an account outside the organization", err, "TargetNotFoundException", 400, "")
	_, err = call(t, a, svctest.Root, "DeletePolicy", `{"PolicyId":"`+p+`"}`)
	wantErr(t, "deleting an attached policy", err, "PolicyInUseException", 400, "")
	targets := must(t, a, "ListTargetsForPolicy", `{"PolicyId":"`+p+`"}`)["Targets"].([]any)
	if len(targets) != 1 || targets[0].(map[string]any)["TargetId"] != root || targets[0].(map[string]any)["Type"] != "ROOT" {
		t.Fatalf("ListTargetsForPolicy: %v", targets)
	}

	// Paging: two SCPs, one per page.
	page1 := must(t, a, "ListPolicies", `{"Filter":"SERVICE_CONTROL_POLICY","MaxResults":1}`)
	tok, _ := page1["NextToken"].(string)
	page2 := must(t, a, "ListPolicies", `{"Filter":"SERVICE_CONTROL_POLICY","MaxResults":1,"NextToken":"`+tok+`"}`)
	if tok == "" || len(page1["Policies"].([]any)) != 1 || page2["NextToken"] != nil ||
		page2["Policies"].([]any)[0].(map[string]any)["Id"] != p {
		t.Fatalf("ListPolicies pages: %v, %v", page1, page2)
	}
	_, err = call(t, a, svctest.Root, "ListPolicies", `{"Filter":"SERVICE_CONTROL_POLICY","NextToken":"bogus"}`)
	wantErr(t, "a token not given out", err, "InvalidInputException", 400, "INVALID_NEXT_TOKEN")

	// Tags on a policy and the root; FullAWSAccess takes none.
	must(t, a, "TagResource", `{"ResourceId":"`+p+`","Tags":[{"Key":"team","Value":"a"},{"Key":"env","Value":"prod"}]}`)
	must(t, a, "TagResource", `{"ResourceId":"`+p+`","Tags":[{"Key":"team","Value":"b"}]}`)
	must(t, a, "UntagResource", `{"ResourceId":"`+p+`","TagKeys":["env"]}`)
	if tags := must(t, a, "ListTagsForResource", `{"ResourceId":"`+p+`"}`)["Tags"].([]any); len(tags) != 1 ||
		tags[0].(map[string]any)["Key"] != "team" || tags[0].(map[string]any)["Value"] != "b" {
		t.Fatalf("the policy's tags: %v", tags)
	}
	must(t, a, "TagResource", `{"ResourceId":"`+root+`","Tags":[{"Key":"k","Value":""}]}`)
	_, err = call(t, a, svctest.Root, "TagResource", `{"ResourceId":"p-FullAWSAccess","Tags":[{"Key":"k","Value":"v"}]}`)
	wantErr(t, "tagging FullAWSAccess", err, "TargetNotFoundException", 400, "")
	_, err = call(t, a, svctest.Root, "TagResource", `{"ResourceId":"`+p+`","Tags":[{"Key":"","Value":"v"}]}`)
	wantErr(t, "an empty tag key", err, "InvalidInputException", 400, "MIN_LENGTH_EXCEEDED")

	upd := must(t, a, "UpdatePolicy", `{"PolicyId":"`+p+`","Description":"no new keys"}`)
	if str(upd, "Policy", "PolicySummary", "Description") != "no new keys" || str(upd, "Policy", "Content") != deny {
		t.Fatalf("UpdatePolicy: %v", upd)
	}

	must(t, a, "DetachPolicy", `{"PolicyId":"`+p+`","TargetId":"`+root+`"}`)
	_, err = call(t, a, svctest.Root, "DetachPolicy", `{"PolicyId":"`+p+`","TargetId":"`+root+`"}`)
	wantErr(t, "detached twice", err, "PolicyNotAttachedException", 400, "")
	must(t, a, "DeletePolicy", `{"PolicyId":"`+p+`"}`)

	// Disabling SCPs detaches them all.
	must(t, a, "DisablePolicyType", `{"RootId":"`+root+`","PolicyType":"SERVICE_CONTROL_POLICY"}`)
	if got := must(t, a, "ListPoliciesForTarget", `{"TargetId":"`+root+`","Filter":"SERVICE_CONTROL_POLICY"}`)["Policies"].([]any); len(got) != 0 {
		t.Fatalf("policies of the root once SCPs are disabled: %v", got)
	}
	must(t, a, "DeleteOrganization", `{}`)
	_, err = call(t, a, svctest.Root, "ListAccounts", `{}`)
	wantErr(t, "after DeleteOrganization", err, "AWSOrganizationsNotInUseException", 400, "")
}

// TestAccessDenied: a user without organizations: permissions is refused
// every operation, before it learns whether the organization or the
// policy exists.
func TestAccessDenied(t *testing.T) {
	a, env := newAPI(t)
	must(t, a, "CreateOrganization", `{}`)
	u, err := env.Service.CreateUser(ctx, svctest.Root, "dev", "/", nil)
	if err != nil {
		t.Fatal(err)
	}
	dev := &iamd.Caller{Kind: iamd.CallerUser, Account: svctest.Account, User: u}
	for _, op := range a.Actions() {
		body := `{"PolicyId":"p-00000000","TargetId":"r-zzzz","RootId":"r-zzzz","AccountId":"` + svctest.Account + `","Filter":"SERVICE_CONTROL_POLICY","PolicyType":"SERVICE_CONTROL_POLICY","Name":"n","Type":"SERVICE_CONTROL_POLICY","Content":"{}","ResourceId":"r-zzzz","Tags":[],"TagKeys":[],"CreateAccountRequestId":"car-00000000","Email":"a@b.example","AccountName":"x","ChildId":"r-zzzz"}`
		_, err := call(t, a, dev, op, body)
		wantErr(t, op+" by a user without permissions", err, "AccessDeniedException", http.StatusBadRequest, "")
		if _, body := organizations.ErrorResponse(err); !strings.Contains(body.Message, "organizations:"+op) {
			t.Fatalf("%s: the refusal does not name the action: %q", op, body.Message)
		}
	}
}

func quote(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}

// FuzzAPI: any operation with any body answers, or fails with an error
// that maps to a 4xx exception (never a panic, never a 500 of the
// service's own).
func FuzzAPI(f *testing.F) {
	for _, body := range []string{`{}`, `{"FeatureSet":"ALL"}`, `{"Name":"n","Description":"","Type":"SERVICE_CONTROL_POLICY","Content":"{\"Version\":\"2012-10-17\",\"Statement\":[]}"}`,
		`{"PolicyId":"p-FullAWSAccess","TargetId":"r-abcd"}`, `{"Filter":"SERVICE_CONTROL_POLICY","NextToken":"MQ","MaxResults":1}`,
		`{"ResourceId":"p-FullAWSAccess","Tags":[{"Key":"k","Value":"v"}],"TagKeys":["k"]}`, `{"RootId":"r-abcd","PolicyType":"TAG_POLICY"}`} {
		for i := range 26 {
			f.Add(uint8(i), []byte(body))
		}
	}
	a, _ := newAPI(f)
	ops := a.Actions()
	f.Fuzz(func(t *testing.T, op uint8, body []byte) {
		_, err := a.Do(ctx, svctest.Root, ops[int(op)%len(ops)], body)
		if err == nil {
			return
		}
		if st, wire := organizations.ErrorResponse(err); st != http.StatusBadRequest || wire.Type == "" {
			t.Fatalf("%s %q: %d %+v (%v)", ops[int(op)%len(ops)], body, st, wire, err)
		}
	})
}

// TestAccounts: CreateAccount makes an account whose access role trusts
// the management account and holds AdministratorAccess; its request is
// described and listed; an email used twice fails as AWS fails it; a
// closed account is SUSPENDED, is no longer open, and cannot be closed
// again; the management account cannot be closed; an organization with
// accounts cannot be deleted.
func TestAccounts(t *testing.T) {
	a, env := newAPI(t)
	must(t, a, "CreateOrganization", `{}`)
	out := must(t, a, "CreateAccount", `{"Email":"team-a@example.com","AccountName":"team-a","Tags":[{"Key":"team","Value":"a"}]}`)
	id, req := str(out, "CreateAccountStatus", "AccountId"), str(out, "CreateAccountStatus", "Id")
	if str(out, "CreateAccountStatus", "State") != "SUCCEEDED" || len(id) != 12 || !strings.HasPrefix(req, "car-") {
		t.Fatalf("CreateAccount: %v", out)
	}
	if got := must(t, a, "DescribeCreateAccountStatus", `{"CreateAccountRequestId":"`+req+`"}`); str(got, "CreateAccountStatus", "AccountId") != id {
		t.Fatalf("DescribeCreateAccountStatus: %v", got)
	}
	role, err := env.Store.In(id).GetRole(ctx, organizations.AccessRole)
	if err != nil || !strings.Contains(role.TrustPolicy, `"arn:aws:iam::`+svctest.Account+`:root"`) {
		t.Fatalf("the access role: %+v %v", role, err)
	}
	if ps, err := env.Store.In(id).RolePolicies(ctx, organizations.AccessRole); err != nil || len(ps) != 1 || ps[0].Policy.ARN != "arn:aws:iam::aws:policy/AdministratorAccess" {
		t.Fatalf("the access role's policies: %+v %v", ps, err)
	}
	if _, err := env.Store.GetRole(ctx, organizations.AccessRole); iamd.KindOf(err) != iamd.NotFound {
		t.Fatalf("the access role is the new account's alone: %v", err)
	}
	failed := must(t, a, "CreateAccount", `{"Email":"team-a@example.com","AccountName":"again"}`)
	if str(failed, "CreateAccountStatus", "State") != "FAILED" || str(failed, "CreateAccountStatus", "FailureReason") != "EMAIL_ALREADY_EXISTS" {
		t.Fatalf("the same email twice: %v", failed)
	}
	if got := must(t, a, "ListCreateAccountStatus", `{"States":["FAILED"]}`)["CreateAccountStatuses"].([]any); len(got) != 1 {
		t.Fatalf("failed requests: %v", got)
	}
	if got := must(t, a, "ListAccounts", `{}`)["Accounts"].([]any); len(got) != 2 || got[1].(map[string]any)["JoinedMethod"] != "CREATED" {
		t.Fatalf("ListAccounts: %v", got)
	}
	if got := must(t, a, "ListTagsForResource", `{"ResourceId":"`+id+`"}`)["Tags"].([]any); len(got) != 1 {
		t.Fatalf("the account's tags: %v", got)
	}
	// SCPs enabled after the account was made: it gets FullAWSAccess too.
	root := str(must(t, a, "ListRoots", `{}`)["Roots"].([]any)[0].(map[string]any), "Id")
	must(t, a, "EnablePolicyType", `{"RootId":"`+root+`","PolicyType":"SERVICE_CONTROL_POLICY"}`)
	if got := must(t, a, "ListPoliciesForTarget", `{"TargetId":"`+id+`","Filter":"SERVICE_CONTROL_POLICY"}`)["Policies"].([]any); len(got) != 1 {
		t.Fatalf("the account's SCPs once enabled: %v", got)
	}
	g := organizations.New(env.Service, env.Store)
	var closedHere string
	g.OnClose(func(acct string) { closedHere = acct })
	if open, err := g.OpenAccounts(ctx); err != nil || len(open) != 1 {
		t.Fatalf("open accounts: %v %v", open, err)
	}
	_, err = call(t, a, svctest.Root, "DeleteOrganization", `{}`)
	wantErr(t, "deleting an organization with accounts", err, "OrganizationNotEmptyException", 400, "")
	_, err = call(t, a, svctest.Root, "CloseAccount", `{"AccountId":"`+svctest.Account+`"}`)
	wantErr(t, "closing the management account", err, "ConstraintViolationException", 400, "CANNOT_CLOSE_MANAGEMENT_ACCOUNT")
	if err := g.CloseAccount(ctx, svctest.Root, id); err != nil || closedHere != id {
		t.Fatalf("CloseAccount: %v (told of %q)", err, closedHere)
	}
	_, err = call(t, a, svctest.Root, "CloseAccount", `{"AccountId":"`+id+`"}`)
	wantErr(t, "closing it again", err, "AccountAlreadyClosedException", 400, "")
	if got := must(t, a, "DescribeAccount", `{"AccountId":"`+id+`"}`); str(got, "Account", "Status") != "SUSPENDED" {
		t.Fatalf("a closed account: %v", got)
	}
	if open, err := g.OpenAccounts(ctx); err != nil || len(open) != 0 {
		t.Fatalf("open accounts after closing: %v %v", open, err)
	}
	_, err = call(t, a, svctest.Root, "CloseAccount", `{"AccountId":"999999999999"}`)
	wantErr(t, "closing no account", err, "AccountNotFoundException", 400, "")
}
