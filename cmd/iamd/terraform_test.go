package main

import (
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
// terraform or the mirror the Terraform tests skip, except under CI=true.
func terraformMirror(t *testing.T) string {
	t.Helper()
	dir := cmpOr(os.Getenv("IAMD_TF_PLUGINS"), "/opt/tf-plugins")
	_, err := exec.LookPath("terraform")
	if _, serr := os.Stat(filepath.Join(dir, "registry.terraform.io", "hashicorp", "aws")); err != nil || serr != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("terraform or its provider mirror at %s is missing", dir)
		}
		t.Skipf("terraform or its provider mirror at %s is missing", dir)
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

const terraformRoles = `
terraform {
  required_providers {
    aws = { source = "hashicorp/aws", version = "5.100.0" }
  }
}
variable "endpoint" {}
provider "aws" {
  region                  = "us-east-1"
  access_key              = "` + rootID + `"
  secret_key              = "` + rootSecret + `"
  skip_metadata_api_check = true
  skip_region_validation  = true
  endpoints {
    iam = var.endpoint
    sts = var.endpoint
  }
}
resource "aws_iam_policy" "read" {
  name   = "read-users"
  policy = jsonencode({ Version = "2012-10-17", Statement = [{ Effect = "Allow", Action = "iam:ListUsers", Resource = "*" }] })
}
resource "aws_iam_role" "deploy" {
  name                 = "deploy"
  path                 = "/ci/"
  description          = "deploys things"
  max_session_duration = 7200
  assume_role_policy = jsonencode({
    Version   = "2012-10-17"
    Statement = [{ Effect = "Allow", Principal = { AWS = "arn:aws:iam::123456789012:root" }, Action = "sts:AssumeRole" },
                 { Effect = "Allow", Principal = { Service = "ec2.amazonaws.com" }, Action = "sts:AssumeRole" }]
  })
  tags = { team = "platform" }
}
resource "aws_iam_role_policy" "inline" {
  name   = "inline"
  role   = aws_iam_role.deploy.id
  policy = jsonencode({ Version = "2012-10-17", Statement = [{ Effect = "Allow", Action = "iam:GetUser", Resource = "*" }] })
}
resource "aws_iam_role_policy_attachment" "read" {
  role       = aws_iam_role.deploy.name
  policy_arn = aws_iam_policy.read.arn
}
`

// TestTerraformRoles: aws_iam_role, aws_iam_role_policy and
// aws_iam_role_policy_attachment apply, plan again with no changes, and
// destroy, with the hashicorp/aws provider against iamd.
func TestTerraformRoles(t *testing.T) {
	if testing.Short() {
		t.Skip("runs terraform")
	}
	mirror := terraformMirror(t)
	s := start(t)
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
	os.WriteFile(filepath.Join(dir, "main.tf"), []byte(terraformRoles), 0o600)
	v := "-var=endpoint=" + s.URL
	if code, out := terraform(t, dir, "init", "-input=false", "-no-color"); code != 0 {
		t.Fatalf("terraform init: %s", out)
	}
	if code, out := terraform(t, dir, "apply", "-auto-approve", "-input=false", "-no-color", v); code != 0 {
		t.Fatalf("terraform apply: %s", out)
	}
	r, err := s.root().GetRole(ctx, &iam.GetRoleInput{RoleName: aws.String("deploy")})
	if err != nil || *r.Role.Path != "/ci/" || *r.Role.MaxSessionDuration != 7200 || len(r.Role.Tags) != 1 || *r.Role.Description != "deploys things" {
		t.Fatalf("GetRole after apply: %+v %v", r, err)
	}
	att, err := s.root().ListAttachedRolePolicies(ctx, &iam.ListAttachedRolePoliciesInput{RoleName: aws.String("deploy")})
	if err != nil || len(att.AttachedPolicies) != 1 || *att.AttachedPolicies[0].PolicyName != "read-users" {
		t.Fatalf("attached after apply: %+v %v", att, err)
	}
	if code, out := terraform(t, dir, "plan", "-detailed-exitcode", "-input=false", "-no-color", v); code != 0 {
		t.Fatalf("terraform plan after apply wants changes (exit %d): %s", code, out)
	}
	if code, out := terraform(t, dir, "destroy", "-auto-approve", "-input=false", "-no-color", v); code != 0 || !strings.Contains(out, "Destroy complete! Resources: 4 destroyed.") {
		t.Fatalf("terraform destroy: %s", out)
	}
	if _, err := s.root().GetRole(ctx, &iam.GetRoleInput{RoleName: aws.String("deploy")}); err == nil {
		t.Fatal("the role survived terraform destroy")
	}
}
