package main

import (
	"errors"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/organizations"
	"github.com/aws/aws-sdk-go-v2/service/organizations/types"
)

func (s *testServer) organizations(id, secret string) *organizations.Client {
	return organizations.NewFromConfig(s.awsConfig(id, secret))
}

const denyKeysSCP = `{"Version":"2012-10-17","Statement":[{"Effect":"Deny","Action":"iam:CreateAccessKey","Resource":"*"}]}`

// TestOrganizationsGoSDK: aws-sdk-go-v2's Organizations client through the
// organization's life, its exceptions decoded into the SDK's own types.
func TestOrganizationsGoSDK(t *testing.T) {
	s := start(t)
	org := s.organizations(rootID, rootSecret)
	_, err := org.DescribeOrganization(ctx, &organizations.DescribeOrganizationInput{})
	var notInUse *types.AWSOrganizationsNotInUseException
	if !errors.As(err, &notInUse) {
		t.Fatalf("DescribeOrganization before CreateOrganization: %v", err)
	}
	created, err := org.CreateOrganization(ctx, &organizations.CreateOrganizationInput{FeatureSet: types.OrganizationFeatureSetAll})
	if err != nil || *created.Organization.MasterAccountId != account {
		t.Fatalf("CreateOrganization: %+v %v", created, err)
	}
	roots, err := org.ListRoots(ctx, &organizations.ListRootsInput{})
	if err != nil || len(roots.Roots) != 1 {
		t.Fatalf("ListRoots: %+v %v", roots, err)
	}
	root := *roots.Roots[0].Id
	if _, err := org.EnablePolicyType(ctx, &organizations.EnablePolicyTypeInput{RootId: &root, PolicyType: types.PolicyTypeServiceControlPolicy}); err != nil {
		t.Fatal(err)
	}
	p, err := org.CreatePolicy(ctx, &organizations.CreatePolicyInput{Name: aws.String("NoNewKeys"), Description: aws.String("no keys"),
		Type: types.PolicyTypeServiceControlPolicy, Content: aws.String(denyKeysSCP), Tags: []types.Tag{{Key: aws.String("team"), Value: aws.String("a")}}})
	if err != nil {
		t.Fatal(err)
	}
	id := p.Policy.PolicySummary.Id
	if _, err := org.AttachPolicy(ctx, &organizations.AttachPolicyInput{PolicyId: id, TargetId: &root}); err != nil {
		t.Fatal(err)
	}
	_, err = org.AttachPolicy(ctx, &organizations.AttachPolicyInput{PolicyId: id, TargetId: &root})
	var dup *types.DuplicatePolicyAttachmentException
	if !errors.As(err, &dup) {
		t.Fatalf("a second attachment: %v", err)
	}
	_, err = org.DetachPolicy(ctx, &organizations.DetachPolicyInput{PolicyId: aws.String("p-FullAWSAccess"), TargetId: aws.String(account)})
	var cv *types.ConstraintViolationException
	if !errors.As(err, &cv) || cv.Reason != types.ConstraintViolationExceptionReasonMinPolicyTypeAttachmentLimitExceeded {
		t.Fatalf("detaching the account's last SCP: %v", err)
	}
	var names []string
	pages := organizations.NewListPoliciesForTargetPaginator(org, &organizations.ListPoliciesForTargetInput{TargetId: &root,
		Filter: types.PolicyTypeServiceControlPolicy, MaxResults: aws.Int32(1)})
	for pages.HasMorePages() {
		page, err := pages.NextPage(ctx)
		if err != nil {
			t.Fatal(err)
		}
		for _, p := range page.Policies {
			names = append(names, *p.Name)
		}
	}
	if strings.Join(names, ",") != "FullAWSAccess,NoNewKeys" {
		t.Fatalf("the root's SCPs, a page at a time: %v", names)
	}
	tags, err := org.ListTagsForResource(ctx, &organizations.ListTagsForResourceInput{ResourceId: id})
	if err != nil || len(tags.Tags) != 1 || *tags.Tags[0].Value != "a" {
		t.Fatalf("the policy's tags: %+v %v", tags, err)
	}
	// A user the account has not allowed organizations: is refused.
	if _, err := s.root().CreateUser(ctx, &iam.CreateUserInput{UserName: aws.String("outsider")}); err != nil {
		t.Fatal(err)
	}
	key, err := s.root().CreateAccessKey(ctx, &iam.CreateAccessKeyInput{UserName: aws.String("outsider")})
	if err != nil {
		t.Fatal(err)
	}
	_, err = s.organizations(*key.AccessKey.AccessKeyId, *key.AccessKey.SecretAccessKey).DescribePolicy(ctx, &organizations.DescribePolicyInput{PolicyId: id})
	var denied *types.AccessDeniedException
	if !errors.As(err, &denied) || !strings.Contains(*denied.Message, "organizations:DescribePolicy") {
		t.Fatalf("DescribePolicy by a user without permissions: %v", err)
	}
}

var terraformOrganizations = terraformHead("iam", "sts", "organizations") + `
variable "description" { default = "No new keys" }
resource "aws_organizations_organization" "org" {
  feature_set          = "ALL"
  enabled_policy_types = ["SERVICE_CONTROL_POLICY"]
}
resource "aws_organizations_policy" "no_keys" {
  name        = "NoNewKeys"
  description = var.description
  content     = jsonencode({ Version = "2012-10-17", Statement = [{ Effect = "Deny", Action = "iam:CreateAccessKey", Resource = "*" }] })
  tags        = { team = "a" }
  depends_on  = [aws_organizations_organization.org]
}
resource "aws_organizations_policy_attachment" "root" {
  policy_id = aws_organizations_policy.no_keys.id
  target_id = aws_organizations_organization.org.roots[0].id
}
`

// TestTerraformOrganizations: aws_organizations_organization with SCPs
// enabled, an SCP and its attachment to the root apply and re-plan clean;
// a changed description applies in place; destroy leaves no organization.
func TestTerraformOrganizations(t *testing.T) {
	if testing.Short() {
		t.Skip("runs terraform")
	}
	dir := terraformDir(t, terraformOrganizations)
	s := start(t)
	vars := []string{"-var=endpoint=" + s.URL}
	step := terraformSteps(t, dir, &vars)
	step("create")
	org := s.organizations(rootID, rootSecret)
	ps, err := org.ListPolicies(ctx, &organizations.ListPoliciesInput{Filter: types.PolicyTypeServiceControlPolicy})
	if err != nil || len(ps.Policies) != 2 || *ps.Policies[1].Description != "No new keys" {
		t.Fatalf("ListPolicies after apply: %+v %v", ps, err)
	}
	if out := step("change in place", "-var=description=No keys at all"); !strings.Contains(out, "0 added, 1 changed, 0 destroyed") {
		t.Fatalf("the policy was not changed in place: %s", out)
	}
	if code, out := terraform(t, dir, append([]string{"destroy", "-auto-approve", "-input=false", "-no-color"}, vars...)...); code != 0 ||
		!strings.Contains(out, "Destroy complete! Resources: 3 destroyed.") {
		t.Fatalf("terraform destroy: %s", out)
	}
	_, err = org.DescribeOrganization(ctx, &organizations.DescribeOrganizationInput{})
	var notInUse *types.AWSOrganizationsNotInUseException
	if !errors.As(err, &notInUse) {
		t.Fatalf("DescribeOrganization after destroy: %v", err)
	}
}
