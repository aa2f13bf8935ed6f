package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"
)

// terraformMirror is the directory holding the hashicorp/aws provider
// as a filesystem mirror: $IAMD_TF_PLUGINS, else /opt/tf-plugins. Without
// terraform or the mirror the Terraform tests skip (scripts/test says so
// loudly: the machine cannot run them, and no download is possible).
func terraformMirror(t *testing.T) string {
	t.Helper()
	dir := cmpOr(os.Getenv("IAMD_TF_PLUGINS"), "/opt/tf-plugins")
	_, err := exec.LookPath("terraform")
	if _, serr := os.Stat(filepath.Join(dir, "registry.terraform.io", "hashicorp", "aws")); err != nil || serr != nil {
		t.Skipf("SKIPPED: terraform or its hashicorp/aws provider mirror at %s is missing", dir)
	}
	return dir
}

// terraformDir is a directory holding a CLI config that takes the aws
// provider from the mirror, and main.tf.
func terraformDir(t *testing.T, mainTF string) string {
	t.Helper()
	mirror := terraformMirror(t)
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "cli.tfrc"), []byte(`provider_installation {
  filesystem_mirror {
    path    = "`+mirror+`"
    include = ["registry.terraform.io/hashicorp/aws"]
  }
  direct {
    exclude = ["registry.terraform.io/hashicorp/aws"]
  }
}
`), 0o600)
	os.WriteFile(filepath.Join(dir, "main.tf"), []byte(mainTF), 0o600)
	if code, out := terraform(t, dir, "init", "-input=false", "-no-color"); code != 0 {
		t.Fatalf("terraform init: %s", out)
	}
	return dir
}

// terraform runs terraform in dir with the mirror as its only source of
// the aws provider; it returns the exit code and the output.
func terraform(t *testing.T, dir string, args ...string) (int, string) {
	t.Helper()
	cmd := exec.Command("terraform", args...)
	cmd.Dir = dir
	cmd.Env = append(cleanEnv(), "TF_CLI_CONFIG_FILE="+filepath.Join(dir, "cli.tfrc"), "TF_IN_AUTOMATION=1", "CHECKPOINT_DISABLE=1",
		"HOME="+dir)
	out, err := cmd.CombinedOutput()
	if ee, ok := err.(*exec.ExitError); ok {
		return ee.ExitCode(), string(out)
	}
	if err != nil {
		t.Fatal(err)
	}
	return 0, string(out)
}

var terraformLifecycle = terraformHead("iam", "sts", "lightsail") + `
variable "user_name" { default = "alice" }
variable "path" { default = "/team-a/" }
variable "team" { default = "a" }
variable "user_team" { default = "a" }
variable "bundle" { default = "small_1_0" }
resource "aws_iam_user" "u" {
  name          = var.user_name
  path          = var.path
  force_destroy = true
  tags          = { team = var.user_team, env = "prod" }
}
resource "aws_iam_access_key" "k" {
  user = aws_iam_user.u.name
}
resource "aws_iam_user_policy" "inline" {
  name   = "inline"
  user   = aws_iam_user.u.name
  policy = jsonencode({ Version = "2012-10-17", Statement = [{ Effect = "Allow", Action = "iam:GetUser", Resource = "*" }] })
}
resource "aws_iam_policy" "managed" {
  name   = "managed"
  policy = jsonencode({ Version = "2012-10-17", Statement = [{ Effect = "Allow", Action = "iam:ListUsers", Resource = "*" }] })
  tags   = { team = var.team }
}
resource "aws_iam_user_policy_attachment" "a" {
  user       = aws_iam_user.u.name
  policy_arn = aws_iam_policy.managed.arn
}
resource "aws_iam_group" "g" {
  name = "devs"
  path = var.path
}
resource "aws_iam_group_membership" "m" {
  name  = "devs-members"
  group = aws_iam_group.g.name
  users = [aws_iam_user.u.name]
}
resource "aws_iam_role" "r" {
  name                 = "deploy"
  path                 = "/ci/"
  description          = "deploys things"
  max_session_duration = 7200
  assume_role_policy = jsonencode({
    Version   = "2012-10-17"
    Statement = [{ Effect = "Allow", Principal = { AWS = "arn:aws:iam::123456789012:root" }, Action = "sts:AssumeRole" },
                 { Effect = "Allow", Principal = { Service = "ec2.amazonaws.com" }, Action = "sts:AssumeRole" }]
  })
  tags = { team = var.team }
}
resource "aws_iam_role_policy" "inline" {
  name   = "inline"
  role   = aws_iam_role.r.id
  policy = jsonencode({ Version = "2012-10-17", Statement = [{ Effect = "Allow", Action = "iam:GetUser", Resource = "*" }] })
}
resource "aws_iam_role_policy_attachment" "a" {
  role       = aws_iam_role.r.name
  policy_arn = aws_iam_policy.managed.arn
}
resource "aws_lightsail_bucket" "b" {
  name         = "photos"
  bundle_id    = var.bundle
  tags         = { team = var.team }
  force_delete = true
}
resource "aws_lightsail_bucket_access_key" "k1" {
  bucket_name = aws_lightsail_bucket.b.name
}
resource "aws_lightsail_bucket_access_key" "k2" {
  bucket_name = aws_lightsail_bucket.b.name
}
`

// TestTerraformLifecycle: a user with path and tags, its key, inline and
// managed policies, a group with the user in it, a role with an inline and
// a managed policy (a Service principal in its trust), and a Lightsail
// bucket with tags and two keys apply with no drift; changing the user's
// name and path, the group's path, the policy's, role's and bucket's tags
// and the bucket's bundle applies with no drift; so does changing the
// user's tags; and everything is destroyed, the user with force_destroy.
//
// The user's new name and new tags go in two applies: provider 5.100
// tags a user under its new name before renaming it, which fails against
// AWS too (hashicorp/terraform-provider-aws#45607, fixed in 6.27).
func TestTerraformLifecycle(t *testing.T) {
	if testing.Short() {
		t.Skip("runs terraform")
	}
	dir := terraformDir(t, terraformLifecycle)
	s := start(t)
	vars := []string{"-var=endpoint=" + s.URL}
	step := terraformSteps(t, dir, &vars)
	step("create")
	r, err := s.root().GetRole(ctx, &iam.GetRoleInput{RoleName: aws.String("deploy")})
	if err != nil || *r.Role.Path != "/ci/" || *r.Role.MaxSessionDuration != 7200 || *r.Role.Description != "deploys things" {
		t.Fatalf("GetRole after apply: %+v %v", r, err)
	}
	step("rename and move", "-var=user_name=alice2", "-var=path=/team-b/", "-var=team=b", "-var=bundle=medium_1_0")
	u, err := s.root().GetUser(ctx, &iam.GetUserInput{UserName: aws.String("alice2")})
	if err != nil || *u.User.Path != "/team-b/" {
		t.Fatalf("GetUser after the rename: %+v %v", u, err)
	}
	if _, err := s.root().GetUser(ctx, &iam.GetUserInput{UserName: aws.String("alice")}); err == nil {
		t.Fatal("the old name still names a user")
	}
	groups, err := s.root().ListGroupsForUser(ctx, &iam.ListGroupsForUserInput{UserName: aws.String("alice2")})
	if err != nil || len(groups.Groups) != 1 || *groups.Groups[0].Path != "/team-b/" {
		t.Fatalf("groups after the rename: %+v %v", groups, err)
	}
	step("retag the user", "-var=user_team=b")
	tags, err := s.root().ListUserTags(ctx, &iam.ListUserTagsInput{UserName: aws.String("alice2")})
	if err != nil || len(tags.Tags) != 2 {
		t.Fatalf("ListUserTags: %+v %v", tags, err)
	}
	if code, out := terraform(t, dir, append([]string{"destroy", "-auto-approve", "-input=false", "-no-color"}, vars...)...); code != 0 ||
		!strings.Contains(out, "Destroy complete! Resources: 13 destroyed.") {
		t.Fatalf("terraform destroy: %s", out)
	}
	if users, err := s.root().ListUsers(ctx, &iam.ListUsersInput{}); err != nil || len(users.Users) != 0 {
		t.Fatalf("users left after destroy: %+v %v", users, err)
	}
}

// terraformHead starts a configuration that manages iamd as the root, at
// var.endpoint, through the aws provider's endpoints for services.
func terraformHead(services ...string) string {
	return terraformRequired + terraformProvider(`access_key = "`+rootID+`"
  secret_key = "`+rootSecret+`"`, services...)
}

// terraformRequired starts every configuration: the provider's version
// (from the mirror) and iamd's endpoint.
const terraformRequired = `
terraform {
  required_providers {
    aws = { source = "hashicorp/aws", version = "5.100.0" }
  }
}
variable "endpoint" {}
`

// terraformProvider is a provider block with attrs (keys, an alias, an
// assume_role block) whose services' endpoints are var.endpoint.
func terraformProvider(attrs string, services ...string) string {
	var endpoints strings.Builder
	for _, svc := range services {
		fmt.Fprintf(&endpoints, "    %s = var.endpoint\n", svc)
	}
	return `provider "aws" {
  region                  = "us-east-1"
  ` + attrs + `
  skip_metadata_api_check = true
  skip_region_validation  = true
  endpoints {
` + endpoints.String() + `  }
}
`
}

// terraformIAM starts a configuration that manages iamd's IAM.
var terraformIAM = terraformHead("iam", "sts")

// terraformSteps returns step: terraform apply with vars (and more, kept
// for the steps after), then a plan that must want no change; it returns
// apply's output.
func terraformSteps(t *testing.T, dir string, vars *[]string) func(what string, more ...string) string {
	return func(what string, more ...string) string {
		t.Helper()
		*vars = append(*vars, more...)
		code, applied := terraform(t, dir, append([]string{"apply", "-auto-approve", "-input=false", "-no-color"}, *vars...)...)
		if code != 0 {
			t.Fatalf("%s: terraform apply: %s", what, applied)
		}
		if code, out := terraform(t, dir, append([]string{"plan", "-detailed-exitcode", "-input=false", "-no-color"}, *vars...)...); code != 0 {
			t.Fatalf("%s: terraform plan after apply (exit %d) wants changes: %s", what, code, out)
		}
		return applied
	}
}

var terraformOIDC = terraformIAM + `
variable "clients" {
  type    = list(string)
  default = ["sts.amazonaws.com"]
}
variable "thumbprint" { default = "6938fd4d98bab03faadb97b34396831e3780aea1" }
variable "team" { default = "a" }
resource "aws_iam_openid_connect_provider" "github" {
  url             = "https://token.actions.githubusercontent.com"
  client_id_list  = var.clients
  thumbprint_list = [var.thumbprint]
  tags            = { team = var.team }
}
resource "aws_iam_role" "deploy" {
  name = "github-deploy"
  assume_role_policy = jsonencode({
    Version = "2012-10-17"
    Statement = [{
      Effect    = "Allow"
      Principal = { Federated = aws_iam_openid_connect_provider.github.arn }
      Action    = "sts:AssumeRoleWithWebIdentity"
      Condition = {
        StringEquals = { "token.actions.githubusercontent.com:aud" = "sts.amazonaws.com" }
        StringLike   = { "token.actions.githubusercontent.com:sub" = "repo:acme/web:ref:refs/heads/main" }
      }
    }]
  })
}
`

// TestTerraformOIDCProvider: aws_iam_openid_connect_provider with its
// client IDs, thumbprint and tags, and a role trusting it as GitHub's
// guide writes it, apply and re-plan clean; changing the client IDs, the
// thumbprint and the tags applies in place with no drift; destroy removes
// both.
func TestTerraformOIDCProvider(t *testing.T) {
	if testing.Short() {
		t.Skip("runs terraform")
	}
	dir := terraformDir(t, terraformOIDC)
	s := start(t)
	vars := []string{"-var=endpoint=" + s.URL}
	step := terraformSteps(t, dir, &vars)
	step("create")
	arn := "arn:aws:iam::" + account + ":oidc-provider/token.actions.githubusercontent.com"
	p, err := s.root().GetOpenIDConnectProvider(ctx, &iam.GetOpenIDConnectProviderInput{OpenIDConnectProviderArn: aws.String(arn)})
	if err != nil || *p.Url != "token.actions.githubusercontent.com" || len(p.ClientIDList) != 1 || len(p.Tags) != 1 {
		t.Fatalf("GetOpenIDConnectProvider after apply: %+v %v", p, err)
	}
	out := step("change in place", `-var=clients=["sts.amazonaws.com","https://github.com/acme"]`,
		"-var=thumbprint=1b511abead59c6ce207077c0bf0e0043b1382612", "-var=team=b")
	if !strings.Contains(out, "0 added, 1 changed, 0 destroyed") {
		t.Fatalf("the provider was not changed in place: %s", out)
	}
	p, err = s.root().GetOpenIDConnectProvider(ctx, &iam.GetOpenIDConnectProviderInput{OpenIDConnectProviderArn: aws.String(arn)})
	if err != nil || len(p.ClientIDList) != 2 || p.ThumbprintList[0] != "1b511abead59c6ce207077c0bf0e0043b1382612" || *p.Tags[0].Value != "b" {
		t.Fatalf("GetOpenIDConnectProvider after the change: %+v %v", p, err)
	}
	if code, out := terraform(t, dir, append([]string{"destroy", "-auto-approve", "-input=false", "-no-color"}, vars...)...); code != 0 ||
		!strings.Contains(out, "Destroy complete! Resources: 2 destroyed.") {
		t.Fatalf("terraform destroy: %s", out)
	}
	if l, err := s.root().ListOpenIDConnectProviders(ctx, &iam.ListOpenIDConnectProvidersInput{}); err != nil || len(l.OpenIDConnectProviderList) != 0 {
		t.Fatalf("providers left after destroy: %+v %v", l, err)
	}
}

var terraformBoundaries = terraformIAM + `
variable "boundary" { default = "limits" }
resource "aws_iam_policy" "limits" {
  name   = "limits"
  policy = jsonencode({ Version = "2012-10-17", Statement = [{ Effect = "Allow", Action = ["s3:*", "iam:Get*"], Resource = "*" }] })
}
resource "aws_iam_policy" "tighter" {
  name   = "tighter"
  policy = jsonencode({ Version = "2012-10-17", Statement = [{ Effect = "Allow", Action = "s3:GetObject", Resource = "*" }] })
}
locals {
  boundary = var.boundary == "limits" ? aws_iam_policy.limits.arn : aws_iam_policy.tighter.arn
}
resource "aws_iam_user" "dev" {
  name                 = "dev"
  permissions_boundary = local.boundary
}
resource "aws_iam_role" "app" {
  name                 = "app"
  permissions_boundary = local.boundary
  assume_role_policy = jsonencode({
    Version   = "2012-10-17"
    Statement = [{ Effect = "Allow", Principal = { AWS = "arn:aws:iam::123456789012:root" }, Action = "sts:AssumeRole" }]
  })
}
resource "aws_iam_instance_profile" "app" {
  name = "app"
  path = "/ec2/"
  role = aws_iam_role.app.name
  tags = { team = "blue" }
}
resource "aws_iam_policy" "abac" {
  name = "abac"
  policy = jsonencode({
    Version = "2012-10-17"
    Statement = [
      { Effect = "Allow", Action = "iam:CreateRole", Resource = "*", Condition = { StringEquals = { "aws:RequestTag/team" = "$${aws:PrincipalTag/team}" } } },
      { Effect = "Allow", Action = "iam:UpdateRole", Resource = "*", Condition = { StringEquals = { "iam:ResourceTag/team" = "$${aws:PrincipalTag/team}" } } }
    ]
  })
}
`

// TestTerraformBoundaries: permissions_boundary on a user and a role, an
// instance profile holding the role, and a policy conditioned on
// aws:RequestTag and iam:ResourceTag apply and re-plan clean; moving both
// to another boundary changes them in place; destroy removes everything.
func TestTerraformBoundaries(t *testing.T) {
	if testing.Short() {
		t.Skip("runs terraform")
	}
	dir := terraformDir(t, terraformBoundaries)
	s := start(t)
	vars := []string{"-var=endpoint=" + s.URL}
	step := terraformSteps(t, dir, &vars)
	step("create")
	u, err := s.root().GetUser(ctx, &iam.GetUserInput{UserName: aws.String("dev")})
	if err != nil || u.User.PermissionsBoundary == nil || *u.User.PermissionsBoundary.PermissionsBoundaryArn != "arn:aws:iam::"+account+":policy/limits" {
		t.Fatalf("GetUser: %+v %v", u, err)
	}
	ip, err := s.root().GetInstanceProfile(ctx, &iam.GetInstanceProfileInput{InstanceProfileName: aws.String("app")})
	if err != nil || *ip.InstanceProfile.Path != "/ec2/" || len(ip.InstanceProfile.Roles) != 1 || *ip.InstanceProfile.Roles[0].RoleName != "app" {
		t.Fatalf("GetInstanceProfile: %+v %v", ip, err)
	}
	step("another boundary", "-var=boundary=tighter")
	r, err := s.root().GetRole(ctx, &iam.GetRoleInput{RoleName: aws.String("app")})
	if err != nil || r.Role.PermissionsBoundary == nil || *r.Role.PermissionsBoundary.PermissionsBoundaryArn != "arn:aws:iam::"+account+":policy/tighter" {
		t.Fatalf("GetRole: %+v %v", r, err)
	}
	if code, out := terraform(t, dir, append([]string{"destroy", "-auto-approve", "-input=false", "-no-color"}, vars...)...); code != 0 ||
		!strings.Contains(out, "Destroy complete! Resources: 6 destroyed.") {
		t.Fatalf("terraform destroy: %s", out)
	}
}

var terraformPeople = terraformIAM + `
variable "length" { default = 14 }
resource "aws_iam_account_password_policy" "strict" {
  minimum_password_length        = var.length
  require_symbols                = true
  require_numbers                = true
  require_uppercase_characters   = true
  require_lowercase_characters   = true
  allow_users_to_change_password = true
  password_reuse_prevention      = 5
  max_password_age               = 90
}
resource "aws_iam_user" "grace" {
  name          = "grace"
  force_destroy = true
}
resource "aws_iam_user_login_profile" "grace" {
  user                    = aws_iam_user.grace.name
  password_length         = 20
  password_reset_required = true
  depends_on              = [aws_iam_account_password_policy.strict]
}
resource "aws_iam_virtual_mfa_device" "grace" {
  virtual_mfa_device_name = "grace-phone"
  tags                    = { owner = "grace" }
}
`

// TestTerraformPeople: the account password policy, a user's login
// profile with a password Terraform generates under it, and a virtual MFA
// device apply and re-plan clean; a longer minimum applies in place;
// destroy removes them.
func TestTerraformPeople(t *testing.T) {
	if testing.Short() {
		t.Skip("runs terraform")
	}
	dir := terraformDir(t, terraformPeople)
	s := start(t)
	vars := []string{"-var=endpoint=" + s.URL}
	step := terraformSteps(t, dir, &vars)
	step("create")
	lp, err := s.root().GetLoginProfile(ctx, &iam.GetLoginProfileInput{UserName: aws.String("grace")})
	if err != nil || !lp.LoginProfile.PasswordResetRequired {
		t.Fatalf("GetLoginProfile: %+v %v", lp, err)
	}
	step("a longer minimum", "-var=length=16")
	pp, err := s.root().GetAccountPasswordPolicy(ctx, &iam.GetAccountPasswordPolicyInput{})
	if err != nil || *pp.PasswordPolicy.MinimumPasswordLength != 16 || *pp.PasswordPolicy.PasswordReusePrevention != 5 {
		t.Fatalf("GetAccountPasswordPolicy: %+v %v", pp, err)
	}
	if code, out := terraform(t, dir, append([]string{"destroy", "-auto-approve", "-input=false", "-no-color"}, vars...)...); code != 0 ||
		!strings.Contains(out, "Destroy complete! Resources: 4 destroyed.") {
		t.Fatalf("terraform destroy: %s", out)
	}
}
