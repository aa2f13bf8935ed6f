"""AWS Organizations end to end: the organization, its root and its
service control policies through boto3 and the aws CLI against the iamd
binary named by $IAMD_BIN. Run from the repository:

    IAMD_BIN=/path/to/iamd python3 -m unittest e2e/organizations_test.py
"""

import json

from e2e import clients_test
from e2e.clients_test import ACCOUNT, AWSCLI, ClientTestCase, Server, client

DENY_KEYS = json.dumps({"Version": "2012-10-17", "Statement": [
    {"Effect": "Deny", "Action": "iam:CreateAccessKey", "Resource": "*"}]})


def setUpModule():
    global server
    server = Server()
    clients_test.server = server


def tearDownModule():
    server.stop()


class OrganizationsTest(ClientTestCase, AWSCLI):
    def test_organization_and_scps(self):
        org = client("organizations")
        self.assertError("AWSOrganizationsNotInUseException", 400, org.describe_organization)
        o = org.create_organization(FeatureSet="ALL")["Organization"]
        self.assertEqual(o["MasterAccountId"], ACCOUNT)
        self.assertEqual(o["Arn"], f"arn:aws:organizations::{ACCOUNT}:organization/{o['Id']}")
        self.assertError("AlreadyInOrganizationException", 400, org.create_organization)

        root = org.list_roots()["Roots"][0]
        self.assertEqual(root["PolicyTypes"], [])
        accounts = org.list_accounts()["Accounts"]
        self.assertEqual([a["Id"] for a in accounts], [ACCOUNT])
        self.assertEqual(org.describe_account(AccountId=ACCOUNT)["Account"]["Status"], "ACTIVE")
        self.assertError("AccountNotFoundException", 400, org.describe_account, AccountId="999999999999")

        p = org.create_policy(Name="deny-keys", Description="no new keys", Type="SERVICE_CONTROL_POLICY",
                              Content=DENY_KEYS)["Policy"]["PolicySummary"]
        self.assertError("PolicyTypeNotEnabledException", 400, org.attach_policy, PolicyId=p["Id"], TargetId=root["Id"])
        enabled = org.enable_policy_type(RootId=root["Id"], PolicyType="SERVICE_CONTROL_POLICY")["Root"]
        self.assertEqual(enabled["PolicyTypes"], [{"Type": "SERVICE_CONTROL_POLICY", "Status": "ENABLED"}])
        org.attach_policy(PolicyId=p["Id"], TargetId=root["Id"])
        names = [x["Name"] for x in org.list_policies_for_target(TargetId=root["Id"], Filter="SERVICE_CONTROL_POLICY")["Policies"]]
        self.assertEqual(names, ["FullAWSAccess", "deny-keys"])
        self.assertError("PolicyInUseException", 400, org.delete_policy, PolicyId=p["Id"])

        # The paginator walks NextToken one policy at a time.
        pages = org.get_paginator("list_policies").paginate(Filter="SERVICE_CONTROL_POLICY", PaginationConfig={"PageSize": 1})
        self.assertEqual([x["Name"] for page in pages for x in page["Policies"]], ["FullAWSAccess", "deny-keys"])

        got = org.describe_policy(PolicyId=p["Id"])["Policy"]
        self.assertEqual(json.loads(got["Content"]), json.loads(DENY_KEYS))
        org.detach_policy(PolicyId=p["Id"], TargetId=root["Id"])
        org.delete_policy(PolicyId=p["Id"])
        self.assertError("PolicyNotFoundException", 400, org.describe_policy, PolicyId=p["Id"])

        # The aws CLI reads what boto3 made.
        out = self.aws("organizations", "describe-organization")
        self.assertEqual(out["Organization"]["Id"], o["Id"])
        out = self.aws("organizations", "list-policies", "--filter", "SERVICE_CONTROL_POLICY")
        self.assertEqual([x["Id"] for x in out["Policies"]], ["p-FullAWSAccess"])
        org.delete_organization()
        self.assertError("AWSOrganizationsNotInUseException", 400, org.list_roots)

    def test_refused_without_permission(self):
        iam = client("iam")
        iam.create_user(UserName="org-outsider")
        key = iam.create_access_key(UserName="org-outsider")["AccessKey"]
        org = client("organizations", key["AccessKeyId"], key["SecretAccessKey"])
        self.assertError("AccessDeniedException", 400, org.describe_organization)
        self.assertError("AccessDeniedException", 400, org.create_organization)
