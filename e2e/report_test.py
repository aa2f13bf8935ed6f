"""What Prowler's key checks call, replayed with boto3 against the iamd
binary named by $IAMD_BIN: GenerateCredentialReport until COMPLETE,
GetCredentialReport (checked column by column against the format in AWS's
IAM User Guide, "Getting credential reports"), GetAccountSummary,
ListUsers, ListAccessKeys, GetAccessKeyLastUsed. Run from the repository:

    IAMD_BIN=/path/to/iamd python3 -m unittest e2e/report_test.py
"""

import csv
import io
import re
import time
import sys
import unittest

import botocore.exceptions

from e2e import clients_test
from e2e.clients_test import ACCOUNT, Server, client

COLUMNS = ("user,arn,user_creation_time,password_enabled,password_last_used,password_last_changed,"
           "password_next_rotation,mfa_active,access_key_1_active,access_key_1_last_rotated,"
           "access_key_1_last_used_date,access_key_1_last_used_region,access_key_1_last_used_service,"
           "access_key_2_active,access_key_2_last_rotated,access_key_2_last_used_date,"
           "access_key_2_last_used_region,access_key_2_last_used_service,cert_1_active,"
           "cert_1_last_rotated,cert_2_active,cert_2_last_rotated").split(",")

ISO = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+00:00$")


def setUpModule():
    global server
    server = Server()
    clients_test.server = server


def tearDownModule():
    server.stop()


class CredentialReportTest(unittest.TestCase):
    def test_prowler_key_checks(self):
        iam = client("iam")
        with self.assertRaises(botocore.exceptions.ClientError) as cm:
            iam.get_credential_report()
        self.assertEqual(cm.exception.response["Error"]["Code"], "ReportNotPresent")
        self.assertEqual(cm.exception.response["ResponseMetadata"]["HTTPStatusCode"], 410)

        iam.create_user(UserName="two")
        k1 = iam.create_access_key(UserName="two")["AccessKey"]
        k2 = iam.create_access_key(UserName="two")["AccessKey"]
        iam.create_user(UserName="none")
        client("sts", k1["AccessKeyId"], k1["SecretAccessKey"]).get_caller_identity()

        states = []
        for _ in range(100):
            states.append(iam.generate_credential_report()["State"])
            if states[-1] == "COMPLETE":
                break
            time.sleep(0.05)
        self.assertEqual(states[0], "STARTED")
        self.assertEqual(states[-1], "COMPLETE")
        rep = iam.get_credential_report()
        self.assertEqual(rep["ReportFormat"], "text/csv")
        rows = list(csv.reader(io.StringIO(rep["Content"].decode())))
        self.assertEqual(rows[0], COLUMNS)
        by_user = {r[0]: dict(zip(COLUMNS, r)) for r in rows[1:]}
        self.assertEqual(set(by_user), {"<root_account>", "two", "none"})
        self.assertEqual(rows[1][0], "<root_account>")

        root = by_user["<root_account>"]
        self.assertEqual(root["arn"], f"arn:aws:iam::{ACCOUNT}:root")
        self.assertRegex(root["user_creation_time"], ISO)
        for col, want in [("password_enabled", "not_supported"), ("password_last_used", "no_information"),
                          ("password_last_changed", "not_supported"), ("password_next_rotation", "not_supported"),
                          ("mfa_active", "false"), ("access_key_1_active", "true"),
                          ("access_key_2_active", "false"), ("access_key_2_last_rotated", "N/A"),
                          ("cert_1_active", "false"), ("cert_1_last_rotated", "N/A"), ("cert_2_active", "false"), ("cert_2_last_rotated", "N/A")]:
            self.assertEqual(root[col], want, col)
        self.assertRegex(root["access_key_1_last_rotated"], ISO)
        self.assertRegex(root["access_key_1_last_used_date"], ISO)  # these very calls
        self.assertEqual(root["access_key_1_last_used_region"], "us-east-1")
        self.assertEqual(root["access_key_1_last_used_service"], "iam")

        two = by_user["two"]
        self.assertEqual(two["arn"], f"arn:aws:iam::{ACCOUNT}:user/two")
        for col, want in [("password_enabled", "false"), ("password_last_used", "N/A"), ("password_last_changed", "N/A"),
                          ("password_next_rotation", "N/A"), ("mfa_active", "false"),
                          ("access_key_1_active", "true"), ("access_key_1_last_used_region", "us-east-1"),
                          ("access_key_1_last_used_service", "sts"),
                          ("access_key_2_active", "true"), ("access_key_2_last_used_date", "N/A"),
                          ("access_key_2_last_used_region", "N/A"), ("access_key_2_last_used_service", "N/A"),
                          ("cert_1_active", "false"), ("cert_2_active", "false")]:
            self.assertEqual(two[col], want, col)
        for col in ("user_creation_time", "access_key_1_last_rotated", "access_key_1_last_used_date", "access_key_2_last_rotated"):
            self.assertRegex(two[col], ISO, col)

        none = by_user["none"]
        for col in COLUMNS[3:]:
            want = {"password_enabled": "false", "mfa_active": "false", "access_key_1_active": "false", "access_key_2_active": "false",
                    "cert_1_active": "false", "cert_2_active": "false"}.get(col, "N/A")
            self.assertEqual(none[col], want, col)

        summary = iam.get_account_summary()["SummaryMap"]
        self.assertEqual(summary["Users"], 2)
        self.assertEqual(summary["AccessKeysPerUserQuota"], 2)
        self.assertEqual(summary["AccountAccessKeysPresent"], 1)
        self.assertEqual(summary["AccountMFAEnabled"], 0)

        # The rest of Prowler's key checks.
        users = [u["UserName"] for u in iam.list_users()["Users"]]
        self.assertEqual(sorted(users), ["none", "two"])
        keys = iam.list_access_keys(UserName="two")["AccessKeyMetadata"]
        self.assertEqual({k["AccessKeyId"] for k in keys}, {k1["AccessKeyId"], k2["AccessKeyId"]})
        lu = iam.get_access_key_last_used(AccessKeyId=k1["AccessKeyId"])["AccessKeyLastUsed"]
        self.assertEqual(lu["ServiceName"], "sts")
        self.assertNotIn("LastUsedDate", iam.get_access_key_last_used(AccessKeyId=k2["AccessKeyId"])["AccessKeyLastUsed"])

        # A second request within four hours answers COMPLETE at once.
        self.assertEqual(iam.generate_credential_report()["State"], "COMPLETE")
        for secret in (k1["SecretAccessKey"], k2["SecretAccessKey"]):
            self.assertNotIn(secret, rep["Content"].decode())
            self.assertNotIn(secret, server.logs())


if __name__ == "__main__":
    unittest.main()


class AuthorizationDetailsTest(unittest.TestCase):
    """What Prowler, ScoutSuite and PMapper read first: the whole account
    through GetAccountAuthorizationDetails' paginator, over 1,000 users each
    with an inline and an attached policy, a tenth of them in a group."""

    USERS = 1000

    @classmethod
    def setUpClass(cls):
        cls.server = Server()

    @classmethod
    def tearDownClass(cls):
        cls.server.stop()

    def iam(self):
        import boto3
        return boto3.client("iam", endpoint_url=self.server.url, region_name="us-east-1", aws_access_key_id=self.server.root_id,
                            aws_secret_access_key=self.server.root_secret, config=clients_test.NO_RETRY)

    def peak_rss_mb(self):
        with open(f"/proc/{self.server.proc.pid}/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
        return 0.0

    def test_prowler_reads_the_whole_account(self):
        import json
        iam = self.iam()
        doc = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::logs/*"}]}
        iam.create_group(GroupName="readers")
        iam.put_group_policy(GroupName="readers", PolicyName="read", PolicyDocument=json.dumps(doc))
        arn = iam.create_policy(PolicyName="audit-read", PolicyDocument=json.dumps(doc))["Policy"]["Arn"]
        iam.create_role(RoleName="app", AssumeRolePolicyDocument=json.dumps(
            {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"AWS": ACCOUNT}, "Action": "sts:AssumeRole"}]}))
        iam.attach_role_policy(RoleName="app", PolicyArn="arn:aws:iam::aws:policy/IAMReadOnlyAccess")
        for i in range(self.USERS):
            name = f"user-{i:04d}"
            iam.create_user(UserName=name)
            iam.put_user_policy(UserName=name, PolicyName="own", PolicyDocument=json.dumps(doc))
            iam.attach_user_policy(UserName=name, PolicyArn=arn)
            if i % 10 == 0:
                iam.add_user_to_group(GroupName="readers", UserName=name)

        before = self.peak_rss_mb()
        began = time.monotonic()
        users, groups, roles, policies, pages = [], [], [], [], 0
        for page in iam.get_paginator("get_account_authorization_details").paginate():
            pages += 1
            users += page["UserDetailList"]
            groups += page["GroupDetailList"]
            roles += page["RoleDetailList"]
            policies += page["Policies"]
        took = time.monotonic() - began
        after = self.peak_rss_mb()

        self.assertEqual(len(users), self.USERS)
        self.assertEqual(len({u["UserName"] for u in users}), self.USERS, "a user listed twice")
        u = next(u for u in users if u["UserName"] == "user-0010")
        self.assertEqual(u["UserPolicyList"], [{"PolicyName": "own", "PolicyDocument": doc}])
        self.assertEqual(u["AttachedManagedPolicies"], [{"PolicyName": "audit-read", "PolicyArn": arn}])
        self.assertEqual(u["GroupList"], ["readers"])
        self.assertEqual(next(x for x in users if x["UserName"] == "user-0011")["GroupList"], [])
        self.assertEqual([g["GroupName"] for g in groups], ["readers"])
        self.assertEqual(groups[0]["GroupPolicyList"][0]["PolicyDocument"], doc)
        self.assertEqual([r["RoleName"] for r in roles], ["app"])
        self.assertEqual(roles[0]["AttachedManagedPolicies"][0]["PolicyName"], "IAMReadOnlyAccess")
        by_name = {p["PolicyName"]: p for p in policies}
        self.assertEqual(set(by_name), {"audit-read", "IAMReadOnlyAccess"})
        self.assertEqual(by_name["audit-read"]["AttachmentCount"], self.USERS)
        self.assertEqual(by_name["audit-read"]["PolicyVersionList"][0]["Document"], doc)
        # The figures docs/PERFORMANCE.md quotes.
        print(f"\nauthdetails: {self.USERS} users read in {took:.2f} s over {pages} pages; "
              f"server peak RSS {before:.0f} MB before, {after:.0f} MB after", file=sys.stderr)
