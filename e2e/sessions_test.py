"""Temporary credentials end to end: boto3 and the aws CLI against the iamd
binary named by $IAMD_BIN (GetSessionToken, AssumeRole, a ~/.aws/config
profile with role_arn and source_profile, and revocation). Run:

    IAMD_BIN=/path/to/iamd python3 -m unittest e2e/sessions_test.py   (from the repository)
"""

import json
import os
import subprocess
import tempfile
import unittest
import urllib.error
import urllib.request

import boto3
import botocore.exceptions

from e2e import clients_test
from e2e.clients_test import ACCOUNT, Server, client

TRUST_ALICE = json.dumps({"Version": "2012-10-17", "Statement": {
    "Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:user/alice"}, "Action": "sts:AssumeRole"}})
READ_USERS = json.dumps({"Version": "2012-10-17", "Statement": {
    "Effect": "Allow", "Action": ["iam:ListUsers", "iam:GetUser", "lightsail:GetBuckets"], "Resource": "*"}})


def setUpModule():
    global server
    server = Server()
    clients_test.server = server  # client() asks it


def tearDownModule():
    server.stop()


class SessionsTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        iam = client("iam")
        iam.create_user(UserName="alice")
        k = iam.create_access_key(UserName="alice")["AccessKey"]
        cls.alice = (k["AccessKeyId"], k["SecretAccessKey"])
        iam.put_user_policy(UserName="alice", PolicyName="p", PolicyDocument=READ_USERS)
        iam.create_role(RoleName="reader", Path="/ops/", AssumeRolePolicyDocument=TRUST_ALICE, MaxSessionDuration=7200)
        iam.put_role_policy(RoleName="reader", PolicyName="p", PolicyDocument=READ_USERS)

    def assertError(self, code, fn, *args, **kw):
        with self.assertRaises(botocore.exceptions.ClientError) as cm:
            fn(*args, **kw)
        self.assertEqual(cm.exception.response["Error"]["Code"], code, cm.exception.response)
        return cm.exception

    def session_client(self, service, creds):
        return boto3.client(service, endpoint_url=server.url, region_name="us-east-1",
                            aws_access_key_id=creds["AccessKeyId"], aws_secret_access_key=creds["SecretAccessKey"],
                            aws_session_token=creds["SessionToken"], config=clients_test.NO_RETRY)

    def test_get_session_token(self):
        sts = client("sts", *self.alice)
        out = sts.get_session_token(DurationSeconds=900)
        creds = out["Credentials"]
        self.assertTrue(creds["AccessKeyId"].startswith("ASIA"))
        ident = self.session_client("sts", creds).get_caller_identity()
        self.assertEqual(ident["Arn"], f"arn:aws:iam::{ACCOUNT}:user/alice")
        # The user's permissions, outside IAM: Lightsail answers; IAM refuses.
        self.session_client("lightsail", creds).get_buckets()
        self.assertError("AccessDenied", self.session_client("iam", creds).list_users)
        # The root may call it too; GetAccessKeyInfo knows the ASIA key.
        self.assertEqual(client("sts").get_access_key_info(AccessKeyId=creds["AccessKeyId"])["Account"], ACCOUNT)
        # Without its token a temporary key is refused.
        self.assertError("InvalidClientTokenId", client("sts", creds["AccessKeyId"], creds["SecretAccessKey"]).get_caller_identity)

    def test_assume_role(self):
        sts = client("sts", *self.alice)
        out = sts.assume_role(RoleArn=f"arn:aws:iam::{ACCOUNT}:role/ops/reader", RoleSessionName="job-1", DurationSeconds=3600)
        self.assertEqual(out["AssumedRoleUser"]["Arn"], f"arn:aws:sts::{ACCOUNT}:assumed-role/reader/job-1")
        self.assertTrue(out["AssumedRoleUser"]["AssumedRoleId"].startswith("AROA"))
        creds = out["Credentials"]
        self.assertEqual(self.session_client("sts", creds).get_caller_identity()["Arn"], out["AssumedRoleUser"]["Arn"])
        iam = self.session_client("iam", creds)
        self.assertIn("alice", [u["UserName"] for u in iam.list_users()["Users"]])
        self.assertError("AccessDenied", iam.create_user, UserName="mallory")
        # A session policy narrows; a wrong token is refused.
        narrow = sts.assume_role(RoleArn=f"arn:aws:iam::{ACCOUNT}:role/ops/reader", RoleSessionName="job-2",
                                 Policy=json.dumps({"Version": "2012-10-17", "Statement": {"Effect": "Allow", "Action": "iam:GetUser", "Resource": "*"}}))
        self.assertError("AccessDenied", self.session_client("iam", narrow["Credentials"]).list_users)
        forged = dict(creds, SessionToken=narrow["Credentials"]["SessionToken"])
        self.assertError("InvalidClientTokenId", self.session_client("sts", forged).get_caller_identity)
        # Beyond the role's MaxSessionDuration; a principal the trust does not name.
        self.assertError("ValidationError", sts.assume_role, RoleArn=f"arn:aws:iam::{ACCOUNT}:role/ops/reader",
                         RoleSessionName="long", DurationSeconds=7201)
        self.assertError("AccessDenied", client("sts").assume_role, RoleArn=f"arn:aws:iam::{ACCOUNT}:role/ops/nobody", RoleSessionName="xx")

    def test_role_deleted_revokes(self):
        iam = client("iam")
        iam.create_role(RoleName="temp", AssumeRolePolicyDocument=TRUST_ALICE)
        creds = client("sts", *self.alice).assume_role(RoleArn=f"arn:aws:iam::{ACCOUNT}:role/temp", RoleSessionName="s1")["Credentials"]
        self.session_client("sts", creds).get_caller_identity()
        iam.delete_role(RoleName="temp")
        self.assertError("InvalidClientTokenId", self.session_client("sts", creds).get_caller_identity)

    def test_cli_profiles(self):
        d = tempfile.mkdtemp()
        cfg, cred = os.path.join(d, "config"), os.path.join(d, "credentials")
        with open(cred, "w") as f:
            f.write(f"[alice]\naws_access_key_id = {self.alice[0]}\naws_secret_access_key = {self.alice[1]}\n")
        with open(cfg, "w") as f:
            f.write(f"[profile alice]\nregion = us-east-1\nendpoint_url = {server.url}\n\n"
                    f"[profile reader]\nregion = us-east-1\nendpoint_url = {server.url}\n"
                    f"role_arn = arn:aws:iam::{ACCOUNT}:role/ops/reader\nsource_profile = alice\n")
        env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
        # HOME too: the CLI keeps assumed-role credentials in ~/.aws/cli/cache.
        env.update(AWS_CONFIG_FILE=cfg, AWS_SHARED_CREDENTIALS_FILE=cred, AWS_MAX_ATTEMPTS="1", HOME=d)

        def aws(*args):
            p = subprocess.run(["aws", *args, "--output", "json"], capture_output=True, text=True, env=env, timeout=60)
            self.assertEqual(p.returncode, 0, p.stderr)
            return json.loads(p.stdout)
        ident = aws("--profile", "reader", "sts", "get-caller-identity")
        self.assertRegex(ident["Arn"], rf"^arn:aws:sts::{ACCOUNT}:assumed-role/reader/")
        self.assertIn("alice", [u["UserName"] for u in aws("--profile", "reader", "iam", "list-users")["Users"]])
        st = aws("--profile", "alice", "sts", "get-session-token", "--duration-seconds", "900")["Credentials"]
        self.assertTrue(st["AccessKeyId"].startswith("ASIA"))
        ar = aws("--profile", "alice", "sts", "assume-role", "--role-arn", f"arn:aws:iam::{ACCOUNT}:role/ops/reader",
                 "--role-session-name", "cli")
        self.assertEqual(ar["AssumedRoleUser"]["Arn"], f"arn:aws:sts::{ACCOUNT}:assumed-role/reader/cli")

    def test_presigned_with_session(self):
        creds = client("sts", *self.alice).assume_role(RoleArn=f"arn:aws:iam::{ACCOUNT}:role/ops/reader", RoleSessionName="presign")["Credentials"]
        url = self.session_client("sts", creds).generate_presigned_url("get_caller_identity", ExpiresIn=60)
        self.assertIn("X-Amz-Security-Token=", url)
        with urllib.request.urlopen(urllib.request.Request(url, method="POST")) as resp:
            self.assertIn(f"assumed-role/reader/presign</Arn>", resp.read().decode())
        # Without its token the presigned URL is refused.
        stripped = "&".join(p for p in url.split("&") if not p.startswith("X-Amz-Security-Token="))
        with self.assertRaises(urllib.error.HTTPError) as cm:
            urllib.request.urlopen(urllib.request.Request(stripped, method="POST"))
        self.assertEqual(cm.exception.code, 403)

    def test_secrets_never_logged(self):
        creds = client("sts", *self.alice).get_session_token()["Credentials"]
        self.session_client("sts", creds).get_caller_identity()
        logs = server.logs()
        self.assertNotIn(creds["SecretAccessKey"], logs)
        self.assertNotIn(creds["SessionToken"], logs)
        self.assertNotIn(creds["SessionToken"][:40], logs)


if __name__ == "__main__":
    unittest.main()
