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

    def test_accounts_with_the_cli(self):
        """The aws CLI makes two tenant accounts, an administrator and a
        user with a key in each through the account's access role; each
        key is its own account's and finds nothing of the other's."""
        iam = client("iam")
        iam.create_user(UserName="org-operator")
        iam.attach_user_policy(UserName="org-operator", PolicyArn="arn:aws:iam::aws:policy/AdministratorAccess")
        k = iam.create_access_key(UserName="org-operator")["AccessKey"]
        operator = (k["AccessKeyId"], k["SecretAccessKey"])
        self.aws("organizations", "create-organization", "--feature-set", "ALL", key=operator)
        tenants = {}
        for name in ("tenant-a", "tenant-b"):
            status = self.aws("organizations", "create-account", "--email", f"{name}@example.com", "--account-name", name,
                              key=operator)["CreateAccountStatus"]
            status = self.aws("organizations", "describe-create-account-status", "--create-account-request-id", status["Id"],
                              key=operator)["CreateAccountStatus"]
            self.assertEqual(status["State"], "SUCCEEDED")
            acct = status["AccountId"]
            c = self.aws("sts", "assume-role", "--role-arn", f"arn:aws:iam::{acct}:role/OrganizationAccountAccessRole",
                         "--role-session-name", "cli", key=operator)["Credentials"]
            inside = (c["AccessKeyId"], c["SecretAccessKey"], c["SessionToken"])
            self.aws("iam", "create-user", "--user-name", "admin", key=inside)
            self.aws("iam", "attach-user-policy", "--user-name", "admin", "--policy-arn", "arn:aws:iam::aws:policy/AdministratorAccess", key=inside)
            self.aws("iam", "create-user", "--user-name", f"only-in-{name}", key=inside)
            ak = self.aws("iam", "create-access-key", "--user-name", "admin", key=inside)["AccessKey"]
            tenants[name] = (acct, (ak["AccessKeyId"], ak["SecretAccessKey"]))
        accounts = self.aws("organizations", "list-accounts", key=operator)["Accounts"]
        self.assertEqual(sorted(a["Id"] for a in accounts), sorted([ACCOUNT] + [t[0] for t in tenants.values()]))
        for name, (acct, key) in tenants.items():
            other = "tenant-b" if name == "tenant-a" else "tenant-a"
            self.assertEqual(self.aws("sts", "get-caller-identity", key=key)["Arn"], f"arn:aws:iam::{acct}:user/admin")
            users = [u["UserName"] for u in self.aws("iam", "list-users", key=key)["Users"]]
            self.assertEqual(users, ["admin", f"only-in-{name}"])
            self.assertIn("NoSuchEntity", self.aws("iam", "get-user", "--user-name", f"only-in-{other}", key=key, ok=False))
        # Closing an account stops its keys; the organization, its accounts
        # all closed, can be deleted.
        for acct, key in tenants.values():
            self.aws("organizations", "close-account", "--account-id", acct, key=operator)
            self.assertIn("InvalidClientTokenId", self.aws("sts", "get-caller-identity", key=key, ok=False))
        self.aws("organizations", "delete-organization", key=operator)
