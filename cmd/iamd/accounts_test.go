package main

import (
	"database/sql"
	"encoding/json"
	"errors"
	"net/url"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	iamtypes "github.com/aws/aws-sdk-go-v2/service/iam/types"
	"github.com/aws/aws-sdk-go-v2/service/organizations"
	"github.com/aws/aws-sdk-go-v2/service/organizations/types"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/aws/smithy-go"

	"iamd/internal/pgtest"
)

// tenant is a member account made for a test: its ID, and its
// administrator's key.
type tenant struct {
	id, keyID, secret string
}

// newTenant has the management account's administrator (admin's key)
// create an account, assume its OrganizationAccountAccessRole and make an
// administrator with a key there, as an operator does.
func newTenant(t *testing.T, s *testServer, adminID, adminSecret, name string) tenant {
	t.Helper()
	org := s.organizations(adminID, adminSecret)
	out, err := org.CreateAccount(ctx, &organizations.CreateAccountInput{Email: aws.String(name + "@example.com"), AccountName: aws.String(name)})
	if err != nil {
		t.Fatal(err)
	}
	status, err := org.DescribeCreateAccountStatus(ctx, &organizations.DescribeCreateAccountStatusInput{CreateAccountRequestId: out.CreateAccountStatus.Id})
	if err != nil || status.CreateAccountStatus.State != types.CreateAccountStateSucceeded {
		t.Fatalf("DescribeCreateAccountStatus: %+v %v", status, err)
	}
	id := *status.CreateAccountStatus.AccountId
	role, err := s.sts(adminID, adminSecret).AssumeRole(ctx, &sts.AssumeRoleInput{RoleArn: aws.String("arn:aws:iam::" + id + ":role/OrganizationAccountAccessRole"),
		RoleSessionName: aws.String("operator")})
	if err != nil {
		t.Fatalf("assuming the new account's access role: %v", err)
	}
	inside := iam.NewFromConfig(s.withSession(role.Credentials))
	if _, err := inside.CreateUser(ctx, &iam.CreateUserInput{UserName: aws.String("admin")}); err != nil {
		t.Fatal(err)
	}
	if _, err := inside.AttachUserPolicy(ctx, &iam.AttachUserPolicyInput{UserName: aws.String("admin"), PolicyArn: aws.String("arn:aws:iam::aws:policy/AdministratorAccess")}); err != nil {
		t.Fatal(err)
	}
	k := mustKey(t, inside, "admin")
	return tenant{id: id, keyID: *k.AccessKeyId, secret: *k.SecretAccessKey}
}

// managementAdmin makes user admin in the management account with
// AdministratorAccess and a key (the root may not assume roles).
func managementAdmin(t *testing.T, s *testServer) (string, string) {
	t.Helper()
	mustUser(t, s, "admin")
	if _, err := s.root().AttachUserPolicy(ctx, &iam.AttachUserPolicyInput{UserName: aws.String("admin"), PolicyArn: aws.String("arn:aws:iam::aws:policy/AdministratorAccess")}); err != nil {
		t.Fatal(err)
	}
	k := mustKey(t, s.root(), "admin")
	return *k.AccessKeyId, *k.SecretAccessKey
}

func wantCode(t *testing.T, what string, err error, code string) {
	t.Helper()
	var ae smithy.APIError
	if !errors.As(err, &ae) || ae.ErrorCode() != code {
		t.Fatalf("%s: %v, want %s", what, err, code)
	}
}

// TestAccounts: two tenant accounts made through Organizations, each with
// an administrator of the same name; each key signs as its own account,
// sees its own users only, and is refused the other's by name; a closed
// account's key and session stop at once.
func TestAccounts(t *testing.T) {
	s := start(t)
	adminID, adminSecret := managementAdmin(t, s)
	if _, err := s.organizations(adminID, adminSecret).CreateOrganization(ctx, &organizations.CreateOrganizationInput{}); err != nil {
		t.Fatal(err)
	}
	a := newTenant(t, s, adminID, adminSecret, "tenant-a")
	b := newTenant(t, s, adminID, adminSecret, "tenant-b")
	for _, tn := range []tenant{a, b} {
		who, err := s.sts(tn.keyID, tn.secret).GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
		if err != nil || *who.Account != tn.id || *who.Arn != "arn:aws:iam::"+tn.id+":user/admin" {
			t.Fatalf("the tenant's key signs as %+v, %v; want account %s", who, err, tn.id)
		}
		users, err := s.iam(tn.keyID, tn.secret).ListUsers(ctx, &iam.ListUsersInput{})
		if err != nil || len(users.Users) != 1 || *users.Users[0].Arn != "arn:aws:iam::"+tn.id+":user/admin" {
			t.Fatalf("the tenant's users: %+v %v", users, err)
		}
	}
	// A's administrator makes a user; B's cannot see or change it, by name.
	if _, err := s.iam(a.keyID, a.secret).CreateUser(ctx, &iam.CreateUserInput{UserName: aws.String("only-in-a")}); err != nil {
		t.Fatal(err)
	}
	_, err := s.iam(b.keyID, b.secret).GetUser(ctx, &iam.GetUserInput{UserName: aws.String("only-in-a")})
	wantCode(t, "B reading A's user", err, "NoSuchEntity")
	_, err = s.iam(b.keyID, b.secret).DeleteUser(ctx, &iam.DeleteUserInput{UserName: aws.String("only-in-a")})
	wantCode(t, "B deleting A's user", err, "NoSuchEntity")
	_, err = s.root().GetUser(ctx, &iam.GetUserInput{UserName: aws.String("only-in-a")})
	wantCode(t, "the management account reading A's user", err, "NoSuchEntity")
	// A key of A with B's name is still A's: B's administrator exists in
	// B only, and a user of A's cannot list B's keys.
	_, err = s.iam(a.keyID, a.secret).ListAccessKeys(ctx, &iam.ListAccessKeysInput{UserName: aws.String("only-in-b")})
	wantCode(t, "A listing the keys of a user of B's name", err, "NoSuchEntity")
	keys, err := s.iam(a.keyID, a.secret).ListAccessKeys(ctx, &iam.ListAccessKeysInput{UserName: aws.String("admin")})
	if err != nil || len(keys.AccessKeyMetadata) != 1 || *keys.AccessKeyMetadata[0].AccessKeyId != a.keyID {
		t.Fatalf("A's admin's keys: %+v %v", keys, err)
	}
	// B's key cannot assume A's access role: it trusts the management
	// account alone.
	_, err = s.sts(b.keyID, b.secret).AssumeRole(ctx, &sts.AssumeRoleInput{RoleArn: aws.String("arn:aws:iam::" + a.id + ":role/OrganizationAccountAccessRole"),
		RoleSessionName: aws.String("intruder")})
	wantCode(t, "B assuming A's access role", err, "AccessDenied")

	// Closing A stops its keys at once; B is untouched.
	role, err := s.sts(adminID, adminSecret).AssumeRole(ctx, &sts.AssumeRoleInput{RoleArn: aws.String("arn:aws:iam::" + a.id + ":role/OrganizationAccountAccessRole"),
		RoleSessionName: aws.String("operator")})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.organizations(adminID, adminSecret).CloseAccount(ctx, &organizations.CloseAccountInput{AccountId: aws.String(a.id)}); err != nil {
		t.Fatal(err)
	}
	_, err = s.sts(a.keyID, a.secret).GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
	wantCode(t, "a closed account's key", err, "InvalidClientTokenId")
	_, err = iam.NewFromConfig(s.withSession(role.Credentials)).ListUsers(ctx, &iam.ListUsersInput{})
	wantCode(t, "a closed account's session", err, "InvalidClientTokenId")
	if _, err := s.sts(b.keyID, b.secret).GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{}); err != nil {
		t.Fatalf("B after A closed: %v", err)
	}
	accts, err := s.organizations(adminID, adminSecret).DescribeAccount(ctx, &organizations.DescribeAccountInput{AccountId: aws.String(a.id)})
	if err != nil || accts.Account.Status != types.AccountStatusSuspended {
		t.Fatalf("the closed account: %+v %v", accts, err)
	}
}

// TestCrossAccountRole: a role of A that trusts B's account with an
// external ID, assumed by a user of B: refused without B's own Allow on
// the role (even when the trust policy names the user itself), refused
// without the external ID, and then a session of A's role, A's to use.
func TestCrossAccountRole(t *testing.T) {
	s := start(t)
	adminID, adminSecret := managementAdmin(t, s)
	if _, err := s.organizations(adminID, adminSecret).CreateOrganization(ctx, &organizations.CreateOrganizationInput{}); err != nil {
		t.Fatal(err)
	}
	a := newTenant(t, s, adminID, adminSecret, "tenant-a")
	b := newTenant(t, s, adminID, adminSecret, "tenant-b")
	inB := s.iam(b.keyID, b.secret)
	if _, err := inB.CreateUser(ctx, &iam.CreateUserInput{UserName: aws.String("dev")}); err != nil {
		t.Fatal(err)
	}
	dev := mustKey(t, inB, "dev")
	roleARN := "arn:aws:iam::" + a.id + ":role/shared"
	trust := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":["arn:aws:iam::` + b.id + `:root","arn:aws:iam::` + b.id + `:user/dev"]},
		"Action":"sts:AssumeRole","Condition":{"StringEquals":{"sts:ExternalId":"tenant-b-secretless-id"}}}]}`
	inA := s.iam(a.keyID, a.secret)
	if _, err := inA.CreateRole(ctx, &iam.CreateRoleInput{RoleName: aws.String("shared"), AssumeRolePolicyDocument: aws.String(trust)}); err != nil {
		t.Fatal(err)
	}
	if _, err := inA.PutRolePolicy(ctx, &iam.PutRolePolicyInput{RoleName: aws.String("shared"), PolicyName: aws.String("list"),
		PolicyDocument: aws.String(`{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"iam:ListRoles","Resource":"*"}}`)}); err != nil {
		t.Fatal(err)
	}
	assume := func(externalID string) (*sts.AssumeRoleOutput, error) {
		in := &sts.AssumeRoleInput{RoleArn: aws.String(roleARN), RoleSessionName: aws.String("from-b")}
		if externalID != "" {
			in.ExternalId = aws.String(externalID)
		}
		return s.sts(*dev.AccessKeyId, *dev.SecretAccessKey).AssumeRole(ctx, in)
	}
	_, err := assume("tenant-b-secretless-id")
	wantCode(t, "without B's own Allow", err, "AccessDenied")
	if _, err := inB.PutUserPolicy(ctx, &iam.PutUserPolicyInput{UserName: aws.String("dev"), PolicyName: aws.String("assume"),
		PolicyDocument: aws.String(`{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"sts:AssumeRole","Resource":"` + roleARN + `"}}`)}); err != nil {
		t.Fatal(err)
	}
	_, err = assume("")
	wantCode(t, "without the external ID", err, "AccessDenied")
	_, err = assume("another-id")
	wantCode(t, "with another external ID", err, "AccessDenied")
	out, err := assume("tenant-b-secretless-id")
	if err != nil {
		t.Fatalf("with B's Allow and the external ID: %v", err)
	}
	if *out.AssumedRoleUser.Arn != "arn:aws:sts::"+a.id+":assumed-role/shared/from-b" {
		t.Fatalf("the session: %s", *out.AssumedRoleUser.Arn)
	}
	session := s.withSession(out.Credentials)
	who, err := sts.NewFromConfig(session).GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
	if err != nil || *who.Account != a.id {
		t.Fatalf("the session signs as %+v %v", who, err)
	}
	roles, err := iam.NewFromConfig(session).ListRoles(ctx, &iam.ListRolesInput{})
	if err != nil || len(roles.Roles) != 2 {
		t.Fatalf("the session lists A's roles: %+v %v", roles, err)
	}
	_, err = iam.NewFromConfig(session).ListUsers(ctx, &iam.ListUsersInput{})
	wantCode(t, "what the role does not allow", err, "AccessDenied")
	// An explicit Deny in B's own policies refuses whatever A trusts.
	if _, err := inB.PutUserPolicy(ctx, &iam.PutUserPolicyInput{UserName: aws.String("dev"), PolicyName: aws.String("deny"),
		PolicyDocument: aws.String(`{"Version":"2012-10-17","Statement":{"Effect":"Deny","Action":"sts:AssumeRole","Resource":"*"}}`)}); err != nil {
		t.Fatal(err)
	}
	_, err = assume("tenant-b-secretless-id")
	wantCode(t, "with B's explicit Deny", err, "AccessDenied")
}

// TestServiceControlPolicy: an SCP denying iam:CreateAccessKey, attached
// to tenant A, stops A's administrator (and the simulator says so) but
// not B's nor the management account's; at the root it stops B too, and
// still not the management account; detaching it restores access.
func TestServiceControlPolicy(t *testing.T) {
	s := start(t)
	adminID, adminSecret := managementAdmin(t, s)
	org := s.organizations(adminID, adminSecret)
	if _, err := org.CreateOrganization(ctx, &organizations.CreateOrganizationInput{}); err != nil {
		t.Fatal(err)
	}
	roots, err := org.ListRoots(ctx, &organizations.ListRootsInput{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := org.EnablePolicyType(ctx, &organizations.EnablePolicyTypeInput{RootId: roots.Roots[0].Id, PolicyType: types.PolicyTypeServiceControlPolicy}); err != nil {
		t.Fatal(err)
	}
	a := newTenant(t, s, adminID, adminSecret, "tenant-a")
	b := newTenant(t, s, adminID, adminSecret, "tenant-b")
	p, err := org.CreatePolicy(ctx, &organizations.CreatePolicyInput{Name: aws.String("NoNewKeys"), Description: aws.String("no keys"),
		Type: types.PolicyTypeServiceControlPolicy, Content: aws.String(denyKeysSCP)})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := org.AttachPolicy(ctx, &organizations.AttachPolicyInput{PolicyId: p.Policy.PolicySummary.Id, TargetId: aws.String(a.id)}); err != nil {
		t.Fatal(err)
	}
	inA := s.iam(a.keyID, a.secret)
	_, err = inA.CreateAccessKey(ctx, &iam.CreateAccessKeyInput{UserName: aws.String("admin")})
	wantCode(t, "A's administrator under the SCP", err, "AccessDenied")
	var ae smithy.APIError
	if errors.As(err, &ae) && !strings.Contains(ae.ErrorMessage(), "with an explicit deny in a service control policy") {
		t.Fatalf("the refusal: %q", ae.ErrorMessage())
	}
	sim, err := inA.SimulatePrincipalPolicy(ctx, &iam.SimulatePrincipalPolicyInput{PolicySourceArn: aws.String("arn:aws:iam::" + a.id + ":user/admin"),
		ActionNames: []string{"iam:CreateAccessKey", "iam:ListUsers"}})
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range sim.EvaluationResults {
		want, allowed := iamtypes.PolicyEvaluationDecisionTypeAllowed, true
		if *r.EvalActionName == "iam:CreateAccessKey" {
			want, allowed = iamtypes.PolicyEvaluationDecisionTypeExplicitDeny, false
		}
		if r.EvalDecision != want || r.OrganizationsDecisionDetail == nil || r.OrganizationsDecisionDetail.AllowedByOrganizations != allowed {
			t.Fatalf("the simulator on %s: %s %+v", *r.EvalActionName, r.EvalDecision, r.OrganizationsDecisionDetail)
		}
	}
	if _, err := s.iam(b.keyID, b.secret).CreateAccessKey(ctx, &iam.CreateAccessKeyInput{UserName: aws.String("admin")}); err != nil {
		t.Fatalf("B, which the SCP is not attached to: %v", err)
	}
	mustUser(t, s, "dev")
	if _, err := s.iam(adminID, adminSecret).CreateAccessKey(ctx, &iam.CreateAccessKeyInput{UserName: aws.String("dev")}); err != nil {
		t.Fatalf("the management account, which no SCP binds: %v", err)
	}
	// Even at the root, SCPs do not bind the management account.
	if _, err := org.AttachPolicy(ctx, &organizations.AttachPolicyInput{PolicyId: p.Policy.PolicySummary.Id, TargetId: roots.Roots[0].Id}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.iam(adminID, adminSecret).CreateAccessKey(ctx, &iam.CreateAccessKeyInput{UserName: aws.String("dev")}); err != nil {
		t.Fatalf("the management account under an SCP at the root: %v", err)
	}
	_, err = s.iam(b.keyID, b.secret).CreateAccessKey(ctx, &iam.CreateAccessKeyInput{UserName: aws.String("admin")})
	wantCode(t, "B under the SCP at the root", err, "AccessDenied")
	for _, target := range []string{*roots.Roots[0].Id, a.id} {
		if _, err := org.DetachPolicy(ctx, &organizations.DetachPolicyInput{PolicyId: p.Policy.PolicySummary.Id, TargetId: aws.String(target)}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := inA.CreateAccessKey(ctx, &iam.CreateAccessKeyInput{UserName: aws.String("admin")}); err != nil {
		t.Fatalf("A once the SCP is detached: %v", err)
	}
}

// terraformAccounts makes the organization and two tenant accounts, as the
// management account's administrator (var.access_key) would.
var terraformAccounts = terraformRequired + `variable "access_key" {}
variable "secret_key" {}
` + terraformProvider(`access_key = var.access_key
  secret_key = var.secret_key`, "iam", "sts", "organizations") + `
resource "aws_organizations_organization" "org" {
  feature_set          = "ALL"
  enabled_policy_types = ["SERVICE_CONTROL_POLICY"]
}
resource "aws_organizations_account" "tenant" {
  for_each          = toset(["tenant-a", "tenant-b"])
  name              = each.key
  email             = "${each.key}@example.com"
  close_on_deletion = true
  tags              = { tenant = each.key }
  depends_on        = [aws_organizations_organization.org]
}
output "accounts" { value = { for k, a in aws_organizations_account.tenant : k => a.id } }
`

// terraformTenants makes, in each tenant account (entered through its
// OrganizationAccountAccessRole), an administrator and a user with a key.
var terraformTenants = terraformRequired + `variable "access_key" {}
variable "secret_key" {}
` + terraformTenant("a") + terraformTenant("b")

// terraformTenant is tenant t's part of terraformTenants: a provider that
// assumes its access role, an administrator, and a user with a key.
func terraformTenant(t string) string {
	return strings.NewReplacer("TENANT", t).Replace(`variable "tenant_TENANT" {}
` + terraformProvider(`alias = "TENANT"
  access_key = var.access_key
  secret_key = var.secret_key
  assume_role {
    role_arn     = "arn:aws:iam::${var.tenant_TENANT}:role/OrganizationAccountAccessRole"
    session_name = "terraform"
  }`, "iam", "sts") + `
resource "aws_iam_user" "admin_TENANT" {
  provider = aws.TENANT
  name     = "admin"
}
resource "aws_iam_user_policy_attachment" "admin_TENANT" {
  provider   = aws.TENANT
  user       = aws_iam_user.admin_TENANT.name
  policy_arn = "arn:aws:iam::aws:policy/AdministratorAccess"
}
resource "aws_iam_user" "app_TENANT" {
  provider = aws.TENANT
  name     = "app"
}
resource "aws_iam_access_key" "app_TENANT" {
  provider = aws.TENANT
  user     = aws_iam_user.app_TENANT.name
}
output "app_TENANT" {
  value     = { id = aws_iam_access_key.app_TENANT.id, secret = aws_iam_access_key.app_TENANT.secret, arn = aws_iam_user.app_TENANT.arn }
  sensitive = true
}
`)
}

// TestTerraformAccounts: Terraform makes the organization and two tenant
// accounts, then, through providers that assume each account's access
// role, an administrator and a user with a key in each (the same names in
// both); both configurations re-plan clean; each key is its own
// account's; destroy closes the accounts and deletes the organization.
func TestTerraformAccounts(t *testing.T) {
	if testing.Short() {
		t.Skip("runs terraform")
	}
	s := start(t)
	adminID, adminSecret := managementAdmin(t, s)
	orgDir, tenantDir := terraformDir(t, terraformAccounts), terraformDir(t, terraformTenants)
	vars := []string{"-var=endpoint=" + s.URL, "-var=access_key=" + adminID, "-var=secret_key=" + adminSecret}
	orgVars := slices.Clone(vars)
	terraformSteps(t, orgDir, &orgVars)("organization and accounts")
	code, out := terraform(t, orgDir, "output", "-json", "accounts")
	var accts map[string]string
	if code != 0 || json.Unmarshal([]byte(out), &accts) != nil || len(accts) != 2 {
		t.Fatalf("terraform output accounts: %s", out)
	}
	tenantVars := append(slices.Clone(vars), "-var=tenant_a="+accts["tenant-a"], "-var=tenant_b="+accts["tenant-b"])
	terraformSteps(t, tenantDir, &tenantVars)("users and keys in the tenants")
	for _, name := range []string{"a", "b"} {
		code, out := terraform(t, tenantDir, "output", "-json", "app_"+name)
		var key struct{ ID, Secret, ARN string }
		if code != 0 || json.Unmarshal([]byte(out), &key) != nil {
			t.Fatalf("terraform output app_%s: %s", name, out)
		}
		acct := accts["tenant-"+name]
		who, err := s.sts(key.ID, key.Secret).GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
		if err != nil || *who.Account != acct || *who.Arn != key.ARN || key.ARN != "arn:aws:iam::"+acct+":user/app" {
			t.Fatalf("tenant %s's key signs as %+v (%v), want %s", name, who, err, key.ARN)
		}
	}
	for _, d := range []struct {
		dir  string
		vars []string
		want string
	}{{tenantDir, tenantVars, "Destroy complete! Resources: 8 destroyed."}, {orgDir, orgVars, "Destroy complete! Resources: 3 destroyed."}} {
		if code, out := terraform(t, d.dir, append([]string{"destroy", "-auto-approve", "-input=false", "-no-color"}, d.vars...)...); code != 0 ||
			!strings.Contains(out, d.want) {
			t.Fatalf("terraform destroy: %s", out)
		}
	}
	_, err := s.organizations(adminID, adminSecret).DescribeOrganization(ctx, &organizations.DescribeOrganizationInput{})
	var notInUse *types.AWSOrganizationsNotInUseException
	if !errors.As(err, &notInUse) {
		t.Fatalf("DescribeOrganization after destroy: %v", err)
	}
}

// TestSignInToAnAccount: a person of a tenant account signs in to the
// console at the deployment's one door, naming the account by its ID or
// its alias; the session is that account's user's. The same name and
// password with another account are refused as a wrong password is.
func TestSignInToAnAccount(t *testing.T) {
	s := start(t)
	a, b := twoTenants(t, s)
	inA := s.iam(a.keyID, a.secret)
	if _, err := inA.CreateLoginProfile(ctx, &iam.CreateLoginProfileInput{UserName: aws.String("admin"), Password: aws.String("Tenant-A-pass-123")}); err != nil {
		t.Fatal(err)
	}
	if _, err := inA.CreateAccountAlias(ctx, &iam.CreateAccountAliasInput{AccountAlias: aws.String("tenant-a")}); err != nil {
		t.Fatal(err)
	}
	signIn := func(account, password string) (int, map[string]any) {
		body, _ := json.Marshal(map[string]string{"account": account, "user": "admin", "password": password})
		resp, err := s.HTTP.Post(s.URL+"/console/signin", "application/json", strings.NewReader(string(body)))
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var out map[string]any
		json.NewDecoder(resp.Body).Decode(&out)
		return resp.StatusCode, out
	}
	for _, name := range []string{a.id, "tenant-a"} {
		code, out := signIn(name, "Tenant-A-pass-123")
		creds, _ := out["credentials"].(map[string]any)
		if code != 200 || creds == nil {
			t.Fatalf("signing in to %s: %d %v", name, code, out)
		}
		cfg := s.awsConfig(creds["accessKeyId"].(string), creds["secretAccessKey"].(string))
		cfg.Credentials = credentials.NewStaticCredentialsProvider(creds["accessKeyId"].(string), creds["secretAccessKey"].(string), creds["sessionToken"].(string))
		who, err := sts.NewFromConfig(cfg).GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
		if err != nil || *who.Arn != "arn:aws:iam::"+a.id+":user/admin" {
			t.Fatalf("the console session of %s: %+v %v", name, who, err)
		}
	}
	_, wrong := signIn(a.id, "not-the-password")
	for _, other := range []string{b.id, account, "999999999999", "no-such-alias"} {
		if code, out := signIn(other, "Tenant-A-pass-123"); code == 200 || out["message"] != wrong["message"] {
			t.Fatalf("A's admin's password with account %s: %d %v, want the answer to a wrong password %v", other, code, out, wrong)
		}
	}
}

// TestPGAccountsAcrossNodes: an account made on one node is served by the
// other, from its replica: its key signs there, a key disabled on the
// first node is refused on the other within a second (as any key's
// revocation), and closing the account stops its keys on the other within
// the 2 s it takes to learn of it.
func TestPGAccountsAcrossNodes(t *testing.T) {
	ns := nodes(t, 2, pgtest.DSN(t))
	adminID, adminSecret := managementAdmin(t, ns[0])
	if _, err := ns[0].organizations(adminID, adminSecret).CreateOrganization(ctx, &organizations.CreateOrganizationInput{}); err != nil {
		t.Fatal(err)
	}
	a := newTenant(t, ns[0], adminID, adminSecret, "tenant-a")
	other := mustKey(t, ns[0].iam(a.keyID, a.secret), "admin")
	who, err := ns[1].sts(a.keyID, a.secret).GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
	if err != nil || *who.Account != a.id {
		t.Fatalf("A's key on the other node: %+v %v", who, err)
	}
	users, err := ns[1].iam(a.keyID, a.secret).ListUsers(ctx, &iam.ListUsersInput{})
	if err != nil || len(users.Users) != 1 {
		t.Fatalf("A's users on the other node: %+v %v", users, err)
	}
	if _, err := ns[0].iam(a.keyID, a.secret).UpdateAccessKey(ctx, &iam.UpdateAccessKeyInput{UserName: aws.String("admin"),
		AccessKeyId: other.AccessKeyId, Status: iamtypes.StatusTypeInactive}); err != nil {
		t.Fatal(err)
	}
	refusedOnOther := func(what, id, secret string, within time.Duration) {
		t.Helper()
		deadline := time.Now().Add(within)
		for {
			_, err := ns[1].sts(id, secret).GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
			if s3Code(err) == "InvalidClientTokenId" {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s, on the other node %v later: %v", what, within, err)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	refusedOnOther("a key disabled on the first node", *other.AccessKeyId, *other.SecretAccessKey, time.Second)
	if _, err := ns[0].organizations(adminID, adminSecret).CloseAccount(ctx, &organizations.CloseAccountInput{AccountId: aws.String(a.id)}); err != nil {
		t.Fatal(err)
	}
	refusedOnOther("A's key after the account closed", a.keyID, a.secret, 3*time.Second)
}

// TestPGAccountsDuringOutage: while the database is away, a tenant
// account's key keeps working, also on a node restarted meanwhile: the
// accounts a node serves are in its replica, as the keys are.
func TestPGAccountsDuringOutage(t *testing.T) {
	dsn := pgtest.DSN(t)
	u, _ := url.Parse(dsn)
	px := newProxy(t, u.Host)
	u.Host = px.addr
	node := func(dir string) *testServer {
		return start(t, func(c *Config) {
			c.DB, c.MasterKey = u.String(), testMasterKey
			if dir != "" {
				c.DataDir = dir
			}
		})
	}
	s := node("")
	adminID, adminSecret := managementAdmin(t, s)
	if _, err := s.organizations(adminID, adminSecret).CreateOrganization(ctx, &organizations.CreateOrganizationInput{}); err != nil {
		t.Fatal(err)
	}
	a := newTenant(t, s, adminID, adminSecret, "tenant-a")
	signs := func(s *testServer, what string) {
		t.Helper()
		who, err := s.sts(a.keyID, a.secret).GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
		if err != nil || *who.Account != a.id {
			t.Fatalf("A's key %s: %+v %v", what, who, err)
		}
	}
	signs(s, "before the outage")
	px.cut()
	signs(s, "during the outage")
	dir := s.Dir
	s.Main.Close()
	restarted := node(dir)
	signs(restarted, "on a node restarted during the outage")
	px.restore()
}

// beforeAccounts turns a SQLite data dir back into what iamd made before
// accounts (schema 15): migration 0016 undone, its data kept.
const beforeAccounts = `
UPDATE users SET name_fold = substr(name_fold, 14);
UPDATE iam_groups SET name_fold = substr(name_fold, 14);
UPDATE policies SET name_fold = substr(name_fold, 14);
UPDATE iam_roles SET name_fold = substr(name_fold, 14);
UPDATE instance_profiles SET name_fold = substr(name_fold, 14);
UPDATE mfa_devices SET name_fold = substr(name_fold, 14);
UPDATE oidc_providers SET url = substr(url, 14);
UPDATE access_keys SET owner_id = NULL WHERE owner_kind = 1;
DROP INDEX buckets_account; ALTER TABLE buckets DROP COLUMN account;
DROP INDEX operations_account; ALTER TABLE operations DROP COLUMN account;
DROP INDEX attached_policies_account; ALTER TABLE attached_policies DROP COLUMN account;
CREATE TABLE password_policy (id INTEGER PRIMARY KEY CHECK (id = 1), policy TEXT NOT NULL);
INSERT INTO password_policy(id, policy) SELECT 1, policy FROM password_policies;
DROP TABLE password_policies;
CREATE TABLE credential_report (id INTEGER PRIMARY KEY CHECK (id = 1), generated_at INTEGER NOT NULL, content BLOB NOT NULL);
DROP TABLE credential_reports;
UPDATE meta SET k = 'account_alias' WHERE substr(k, 1, 14) = 'account_alias/';
DELETE FROM meta WHERE substr(k, 1, 6) = 'alias/';
PRAGMA user_version = 15;
`

// TestUpgradeDataDir: a data dir of the schema before accounts becomes
// the first account's: the keys made then sign as they did, with the same
// ARNs, and the root's, the password policy and the alias are kept.
func TestUpgradeDataDir(t *testing.T) {
	s := start(t)
	if _, err := s.root().CreateUser(ctx, &iam.CreateUserInput{UserName: aws.String("Bob"), Path: aws.String("/team/")}); err != nil {
		t.Fatal(err)
	}
	bob := mustKey(t, s.root(), "Bob")
	if _, err := s.root().CreateAccountAlias(ctx, &iam.CreateAccountAliasInput{AccountAlias: aws.String("kept-alias")}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.root().UpdateAccountPasswordPolicy(ctx, &iam.UpdateAccountPasswordPolicyInput{MinimumPasswordLength: aws.Int32(17)}); err != nil {
		t.Fatal(err)
	}
	dir := s.Dir
	s.Main.Close()
	db, err := sql.Open("sqlite", "file:"+filepath.Join(dir, "iamd.db"))
	if err != nil {
		t.Fatal(err)
	}
	_, err = db.Exec(beforeAccounts)
	db.Close()
	if err != nil {
		t.Fatalf("back to the schema before accounts: %v", err)
	}
	s = start(t, func(c *Config) { c.DataDir = dir })
	who, err := s.sts(*bob.AccessKeyId, *bob.SecretAccessKey).GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
	if err != nil || *who.Arn != "arn:aws:iam::"+account+":user/team/Bob" {
		t.Fatalf("Bob's key after the upgrade: %+v %v", who, err)
	}
	if _, err := s.sts(rootID, rootSecret).GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{}); err != nil {
		t.Fatalf("the root's key after the upgrade: %v", err)
	}
	if aliases, err := s.root().ListAccountAliases(ctx, &iam.ListAccountAliasesInput{}); err != nil || len(aliases.AccountAliases) != 1 || aliases.AccountAliases[0] != "kept-alias" {
		t.Fatalf("the alias after the upgrade: %+v %v", aliases, err)
	}
	if pp, err := s.root().GetAccountPasswordPolicy(ctx, &iam.GetAccountPasswordPolicyInput{}); err != nil || *pp.PasswordPolicy.MinimumPasswordLength != 17 {
		t.Fatalf("the password policy after the upgrade: %+v %v", pp, err)
	}
	if keys, err := s.root().ListAccessKeys(ctx, &iam.ListAccessKeysInput{}); err != nil || len(keys.AccessKeyMetadata) != 1 {
		t.Fatalf("the root's keys after the upgrade: %+v %v", keys, err)
	}
}
