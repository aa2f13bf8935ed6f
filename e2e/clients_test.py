"""End-to-end tests of iamd with boto3 and the aws CLI.

Starts the iamd binary named by $IAMD_BIN on a free port with a fresh data
dir, uses the root credentials it writes on first start, and drives it
through the README's Bob example and the error cases. Run:

    IAMD_BIN=/path/to/iamd python3 -m unittest e2e/clients_test.py
"""

import configparser
import json
import os
import re
import shutil
import socket
import subprocess
import tempfile
import time
import unittest
import urllib.request

import boto3
import botocore.config
import botocore.exceptions

from e2e.harness import free_port, wait_iamd

ACCOUNT = "123456789012"


class Server:
    def __init__(self):
        self.dir = tempfile.mkdtemp(prefix="iamd-e2e-")
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = open(os.path.join(self.dir, "server.log"), "w+")
        env = {k: v for k, v in os.environ.items() if not k.startswith(("IAMD_", "AWS_"))}
        self.proc = subprocess.Popen(
            [os.environ["IAMD_BIN"], "serve", "--addr", f"127.0.0.1:{self.port}",
             "--data-dir", os.path.join(self.dir, "data"), "--account-id", ACCOUNT],
            stderr=self.log, env=env)
        try:
            wait_iamd(self.port, self.log.name, timeout=20)
        except RuntimeError as e:
            self.proc.kill()
            raise RuntimeError("iamd did not start: " + self.logs()) from e
        self.creds_file = os.path.join(self.dir, "data", "root-credentials")
        cp = configparser.ConfigParser()
        cp.read(self.creds_file)
        self.root_id = cp["default"]["aws_access_key_id"]
        self.root_secret = cp["default"]["aws_secret_access_key"]

    def logs(self):
        self.log.flush()
        with open(self.log.name) as f:
            return f.read()

    def stop(self):
        self.proc.terminate()
        self.proc.wait(timeout=10)
        shutil.rmtree(self.dir, ignore_errors=True)


def setUpModule():
    global server
    server = Server()


def tearDownModule():
    server.stop()


SELF_SERVICE = "arn:aws:iam::aws:policy/IAMSelfManageAccessKeys"

NO_RETRY = botocore.config.Config(retries={"max_attempts": 1, "mode": "standard"})


def client(service, key_id=None, secret=None, region="us-east-1"):
    return boto3.client(service, endpoint_url=server.url, region_name=region,
                        aws_access_key_id=key_id or server.root_id,
                        aws_secret_access_key=secret or server.root_secret, config=NO_RETRY)


class ClientTestCase(unittest.TestCase):
    def assertError(self, code, status, fn, *args, **kw):
        with self.assertRaises(botocore.exceptions.ClientError) as cm:
            fn(*args, **kw)
        err = cm.exception.response
        self.assertEqual(err["Error"]["Code"], code, err)
        self.assertEqual(err["ResponseMetadata"]["HTTPStatusCode"], status, err)
        return cm.exception


class Boto3Test(ClientTestCase):
    def test_bob(self):
        iam = client("iam")
        user = iam.create_user(UserName="Bob3")["User"]
        self.assertEqual(user["Arn"], f"arn:aws:iam::{ACCOUNT}:user/Bob3")
        self.assertRegex(user["UserId"], r"^AIDA[A-Z2-7]{17}$")
        key = iam.create_access_key(UserName="Bob3")["AccessKey"]
        self.assertEqual(key["Status"], "Active")
        self.assertEqual(key["UserName"], "Bob3")
        self.assertRegex(key["AccessKeyId"], r"^AKIA[A-Z2-7]{16}$")
        self.assertRegex(key["SecretAccessKey"], r"^[A-Za-z0-9+/]{40}$")
        self.assertIn("CreateDate", key)
        sts = client("sts", key["AccessKeyId"], key["SecretAccessKey"])
        ident = sts.get_caller_identity()
        self.assertEqual(ident["Arn"], f"arn:aws:iam::{ACCOUNT}:user/Bob3")
        self.assertEqual(ident["Account"], ACCOUNT)
        # GetCallerIdentity needs no permission; GetAccessKeyInfo does.
        self.assertError("AccessDenied", 403, sts.get_access_key_info, AccessKeyId=key["AccessKeyId"])
        self.assertEqual(client("sts").get_access_key_info(AccessKeyId=key["AccessKeyId"])["Account"], ACCOUNT)
        listed = iam.list_access_keys(UserName="Bob3")["AccessKeyMetadata"]
        self.assertEqual([k["AccessKeyId"] for k in listed], [key["AccessKeyId"]])
        self.assertNotIn("SecretAccessKey", listed[0])
        self.assertNotIn(key["SecretAccessKey"], server.logs())

    def test_errors_by_name(self):
        iam = client("iam")
        iam.create_user(UserName="Errs")
        e = self.assertError("NoSuchEntity", 404, iam.get_user, UserName="nobody")
        self.assertIsInstance(e, iam.exceptions.NoSuchEntityException)
        e = self.assertError("EntityAlreadyExists", 409, iam.create_user, UserName="ERRS")
        self.assertIsInstance(e, iam.exceptions.EntityAlreadyExistsException)
        self.assertError("ValidationError", 400, iam.create_user, UserName="a b")
        iam.create_access_key(UserName="Errs")
        iam.create_access_key(UserName="Errs")
        e = self.assertError("LimitExceeded", 409, iam.create_access_key, UserName="Errs")
        self.assertIsInstance(e, iam.exceptions.LimitExceededException)
        e = self.assertError("DeleteConflict", 409, iam.delete_user, UserName="Errs")
        self.assertIsInstance(e, iam.exceptions.DeleteConflictException)
        self.assertError("InvalidClientTokenId", 403, client("sts", "AKIAAAAAAAAAAAAAAAAA", "x" * 40).get_caller_identity)
        self.assertError("SignatureDoesNotMatch", 403, client("sts", server.root_id, "x" * 40).get_caller_identity)

    def test_any_region_for_iam_and_sts(self):
        # IAM and STS are global: a client configured for any region works
        # against a default server, as against AWS. Lightsail is regional:
        # iamd's buckets are in --region.
        for region in ("eu-west-1", "ap-southeast-2"):
            iam = client("iam", region=region)
            name = "Region-" + region
            iam.create_user(UserName=name)
            key = iam.create_access_key(UserName=name)["AccessKey"]
            ident = client("sts", key["AccessKeyId"], key["SecretAccessKey"], region=region).get_caller_identity()
            self.assertEqual(ident["Arn"], f"arn:aws:iam::{ACCOUNT}:user/{name}")
            e = self.assertError("InvalidSignatureException", 400, client("lightsail", region=region).get_buckets)
            self.assertIn(f"Credential should be scoped to a valid region, not '{region}'", str(e))

    def test_user_may_manage_only_own_keys(self):
        iam = client("iam")
        iam.create_user(UserName="Self")
        k = iam.create_access_key(UserName="Self")["AccessKey"]
        me = client("iam", k["AccessKeyId"], k["SecretAccessKey"])
        # A user without a policy may do nothing, not even to its own keys.
        self.assertError("AccessDenied", 403, me.create_access_key)
        iam.attach_user_policy(UserName="Self", PolicyArn=SELF_SERVICE)
        own = me.create_access_key()["AccessKey"]
        self.assertEqual(own["UserName"], "Self")
        me.update_access_key(AccessKeyId=own["AccessKeyId"], Status="Inactive")
        me.delete_access_key(AccessKeyId=own["AccessKeyId"])
        e = self.assertError("AccessDenied", 403, me.list_users)
        self.assertIn(f"User: arn:aws:iam::{ACCOUNT}:user/Self is not authorized to perform: iam:ListUsers", str(e))
        self.assertError("AccessDenied", 403, me.create_access_key, UserName="Bob3")

    def test_team_operator(self):
        """An operator allowed iam:*AccessKey* on user/team-a/* rotates
        team-a's keys and is refused everywhere else."""
        iam = client("iam")
        doc = {"Version": "2012-10-17", "Statement": [{"Sid": "TeamAKeys", "Effect": "Allow",
               "Action": "iam:*AccessKey*", "Resource": f"arn:aws:iam::{ACCOUNT}:user/team-a/*"}]}
        pol = iam.create_policy(PolicyName="TeamAKeyOperator", PolicyDocument=json.dumps(doc))["Policy"]
        self.assertEqual(pol["Arn"], f"arn:aws:iam::{ACCOUNT}:policy/TeamAKeyOperator")
        self.assertEqual(pol["DefaultVersionId"], "v1")
        iam.create_user(UserName="op", Path="/ops/")
        iam.attach_user_policy(UserName="op", PolicyArn=pol["Arn"])
        self.assertEqual(iam.get_policy(PolicyArn=pol["Arn"])["Policy"]["AttachmentCount"], 1)
        got = iam.get_policy_version(PolicyArn=pol["Arn"], VersionId="v1")["PolicyVersion"]
        self.assertEqual(got["Document"], doc)  # URL-encoded on the wire, decoded by botocore
        iam.create_user(UserName="alice", Path="/team-a/")
        iam.create_user(UserName="carl", Path="/team-b/")
        k = iam.create_access_key(UserName="op")["AccessKey"]
        op = client("iam", k["AccessKeyId"], k["SecretAccessKey"])

        old = op.create_access_key(UserName="alice")["AccessKey"]
        new = op.create_access_key(UserName="alice")["AccessKey"]
        op.update_access_key(UserName="alice", AccessKeyId=old["AccessKeyId"], Status="Inactive")
        op.delete_access_key(UserName="alice", AccessKeyId=old["AccessKeyId"])
        keys = op.list_access_keys(UserName="alice")["AccessKeyMetadata"]
        self.assertEqual([x["AccessKeyId"] for x in keys], [new["AccessKeyId"]])
        self.assertEqual(op.get_access_key_last_used(AccessKeyId=new["AccessKeyId"])["UserName"], "alice")

        # Decided on carl's real ARN (user/team-b/carl), named as requested:
        # the refusal does not tell the operator where carl lives.
        e = self.assertError("AccessDenied", 403, op.create_access_key, UserName="carl")
        self.assertIn(f"User: arn:aws:iam::{ACCOUNT}:user/ops/op is not authorized to perform: iam:CreateAccessKey "
                      "on resource: user carl because no identity-based policy allows "
                      "the iam:CreateAccessKey action", str(e))
        self.assertError("AccessDenied", 403, op.list_access_keys, UserName="carl")
        self.assertError("AccessDenied", 403, op.create_access_key)  # its own keys are outside team-a
        self.assertError("AccessDenied", 403, op.list_users)
        self.assertError("AccessDenied", 403, op.delete_user, UserName="alice")

        sim = iam.simulate_principal_policy(
            PolicySourceArn=f"arn:aws:iam::{ACCOUNT}:user/ops/op", ActionNames=["iam:CreateAccessKey", "iam:DeleteUser"],
            ResourceArns=[f"arn:aws:iam::{ACCOUNT}:user/team-a/alice", f"arn:aws:iam::{ACCOUNT}:user/team-b/carl"])
        decisions = [(r["EvalActionName"], r["EvalResourceName"].rsplit("/", 1)[1], r["EvalDecision"]) for r in sim["EvaluationResults"]]
        self.assertEqual(decisions, [("iam:CreateAccessKey", "alice", "allowed"), ("iam:CreateAccessKey", "carl", "implicitDeny"),
                                     ("iam:DeleteUser", "alice", "implicitDeny"), ("iam:DeleteUser", "carl", "implicitDeny")])
        self.assertEqual(sim["EvaluationResults"][0]["MatchedStatements"][0]["SourcePolicyId"], "TeamAKeyOperator")

        # Detaching takes effect on the next request.
        iam.detach_user_policy(UserName="op", PolicyArn=pol["Arn"])
        self.assertError("AccessDenied", 403, op.list_access_keys, UserName="alice")
        self.assertError("DeleteConflict", 409, iam.delete_user, UserName="alice")

    def test_deny_wins(self):
        iam = client("iam")
        iam.create_group(GroupName="admins")
        iam.attach_group_policy(GroupName="admins", PolicyArn="arn:aws:iam::aws:policy/AdministratorAccess")
        iam.create_user(UserName="eve")
        iam.add_user_to_group(GroupName="admins", UserName="eve")
        k = iam.create_access_key(UserName="eve")["AccessKey"]
        eve = client("iam", k["AccessKeyId"], k["SecretAccessKey"])
        extra = eve.create_access_key()["AccessKey"]
        eve.list_users()
        deny = {"Version": "2012-10-17", "Statement": [{"Effect": "Deny", "Action": "iam:DeleteAccessKey", "Resource": "*"}]}
        iam.put_user_policy(UserName="eve", PolicyName="NoDeletes", PolicyDocument=json.dumps(deny))
        self.assertEqual(iam.get_user_policy(UserName="eve", PolicyName="NoDeletes")["PolicyDocument"], deny)
        self.assertEqual(iam.list_user_policies(UserName="eve")["PolicyNames"], ["NoDeletes"])
        e = self.assertError("AccessDenied", 403, eve.delete_access_key, AccessKeyId=extra["AccessKeyId"])
        self.assertIn("with an explicit deny in an identity-based policy", str(e))
        eve.list_users()  # everything else is still allowed
        iam.delete_user_policy(UserName="eve", PolicyName="NoDeletes")
        eve.delete_access_key(AccessKeyId=extra["AccessKeyId"])
        iam.remove_user_from_group(GroupName="admins", UserName="eve")
        self.assertError("AccessDenied", 403, eve.list_users)

    def test_abac_roles_of_ones_own_team(self):
        """Attribute-based access control as AWS's tutorial writes it: a user
        tagged team=blue creates only roles tagged with its team, changes
        and deletes only those, and never retags their team."""
        iam = client("iam")
        iam.create_user(UserName="abac-alice", Tags=[{"Key": "team", "Value": "blue"}])
        iam.put_user_policy(UserName="abac-alice", PolicyName="abac", PolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": [
            {"Effect": "Allow", "Action": "iam:CreateRole", "Resource": "*", "Condition": {
                "StringEquals": {"aws:RequestTag/team": "${aws:PrincipalTag/team}"}, "ForAllValues:StringEquals": {"aws:TagKeys": ["team", "owner"]}}},
            {"Effect": "Allow", "Action": ["iam:UpdateRole", "iam:TagRole", "iam:UntagRole", "iam:DeleteRole"], "Resource": "*",
             "Condition": {"StringEquals": {"iam:ResourceTag/team": "${aws:PrincipalTag/team}"}}},
            {"Effect": "Deny", "Action": ["iam:TagRole", "iam:UntagRole"], "Resource": "*",
             "Condition": {"ForAnyValue:StringEquals": {"aws:TagKeys": "team"}}}]}))
        trust = json.dumps({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"AWS": ACCOUNT}, "Action": "sts:AssumeRole"}]})
        iam.create_role(RoleName="abac-red", AssumeRolePolicyDocument=trust, Tags=[{"Key": "team", "Value": "red"}])
        k = iam.create_access_key(UserName="abac-alice")["AccessKey"]
        alice = client("iam", k["AccessKeyId"], k["SecretAccessKey"])
        alice.create_role(RoleName="abac-blue", AssumeRolePolicyDocument=trust, Tags=[{"Key": "team", "Value": "blue"}])
        self.assertError("AccessDenied", 403, alice.create_role, RoleName="abac-x", AssumeRolePolicyDocument=trust, Tags=[{"Key": "team", "Value": "red"}])
        self.assertError("AccessDenied", 403, alice.create_role, RoleName="abac-y", AssumeRolePolicyDocument=trust)
        alice.update_role(RoleName="abac-blue", Description="blue's")
        self.assertError("AccessDenied", 403, alice.update_role, RoleName="abac-red", Description="not blue's")
        alice.tag_role(RoleName="abac-blue", Tags=[{"Key": "owner", "Value": "alice"}])
        e = self.assertError("AccessDenied", 403, alice.tag_role, RoleName="abac-blue", Tags=[{"Key": "team", "Value": "red"}])
        self.assertIn("explicit deny", str(e))
        self.assertError("AccessDenied", 403, alice.untag_role, RoleName="abac-blue", TagKeys=["team"])
        self.assertError("AccessDenied", 403, alice.delete_role, RoleName="abac-red")
        alice.delete_role(RoleName="abac-blue")

    def test_malformed_policies_refused(self):
        iam = client("iam")
        iam.create_user(UserName="mal")
        bad = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "iam:*", "Resource": "*",
               "Condition": {"StringEqualsAnyCase": {"aws:username": "mal"}}}]}
        e = self.assertError("MalformedPolicyDocument", 400, iam.put_user_policy, UserName="mal", PolicyName="x", PolicyDocument=json.dumps(bad))
        self.assertIn("StringEqualsAnyCase", str(e))
        bad["Statement"][0]["Condition"] = {"StringEquals": {"SourceVpc": "vpc-1"}}  # not a key's form: no prefix
        e = self.assertError("MalformedPolicyDocument", 400, iam.create_policy, PolicyName="x", PolicyDocument=json.dumps(bad))
        self.assertIn("SourceVpc", str(e))
        self.assertError("NoSuchEntity", 404, iam.attach_user_policy, UserName="mal", PolicyArn=f"arn:aws:iam::{ACCOUNT}:policy/nope")
        self.assertEqual(iam.list_attached_user_policies(UserName="mal")["AttachedPolicies"], [])

    def test_inactive_and_deleted_keys_refused(self):
        iam = client("iam")
        iam.create_user(UserName="Flip")
        k = iam.create_access_key(UserName="Flip")["AccessKey"]
        sts = client("sts", k["AccessKeyId"], k["SecretAccessKey"])
        sts.get_caller_identity()
        iam.update_access_key(UserName="Flip", AccessKeyId=k["AccessKeyId"], Status="Inactive")
        self.assertError("InvalidClientTokenId", 403, sts.get_caller_identity)
        iam.update_access_key(UserName="Flip", AccessKeyId=k["AccessKeyId"], Status="Active")
        sts.get_caller_identity()
        iam.delete_access_key(UserName="Flip", AccessKeyId=k["AccessKeyId"])
        self.assertError("InvalidClientTokenId", 403, sts.get_caller_identity)
        self.assertError("NoSuchEntity", 404, iam.delete_access_key, UserName="Flip", AccessKeyId=k["AccessKeyId"])

    def test_last_used(self):
        iam = client("iam")
        iam.create_user(UserName="Used")
        k = iam.create_access_key(UserName="Used")["AccessKey"]
        lu = iam.get_access_key_last_used(AccessKeyId=k["AccessKeyId"])
        self.assertEqual(lu["UserName"], "Used")
        self.assertEqual(lu["AccessKeyLastUsed"], {"Region": "N/A", "ServiceName": "N/A"})
        client("sts", k["AccessKeyId"], k["SecretAccessKey"]).get_caller_identity()
        a = iam.get_access_key_last_used(AccessKeyId=k["AccessKeyId"])["AccessKeyLastUsed"]
        self.assertEqual((a["Region"], a["ServiceName"]), ("us-east-1", "sts"))
        self.assertLess(abs(time.time() - a["LastUsedDate"].timestamp()), 5)

    def test_paginator(self):
        iam = client("iam")
        names = [f"page{i}" for i in range(7)]
        for n in names:
            iam.create_user(UserName=n, Path="/paging/")
        got = []
        for page in iam.get_paginator("list_users").paginate(PathPrefix="/paging/", PaginationConfig={"PageSize": 3}):
            got += [u["UserName"] for u in page["Users"]]
        self.assertEqual(got, names)

    def test_presigned_get_caller_identity(self):
        url = client("sts").generate_presigned_url("get_caller_identity", ExpiresIn=60)
        with urllib.request.urlopen(urllib.request.Request(url, method="POST")) as resp:
            body = resp.read().decode()
        self.assertIn(f"<Arn>arn:aws:iam::{ACCOUNT}:root</Arn>", body)


class LightsailBoto3Test(ClientTestCase):
    def test_bucket_access_keys(self):
        ls = client("lightsail")
        b = ls.create_bucket(bucketName="boto-bucket", bundleId="small_1_0")
        self.assertEqual(b["bucket"]["name"], "boto-bucket")
        self.assertEqual(b["operations"][0]["operationType"], "CreateBucket")
        k = ls.create_bucket_access_key(bucketName="boto-bucket")
        key = k["accessKey"]
        self.assertEqual(key["status"], "Active")
        self.assertRegex(key["accessKeyId"], r"^[A-Z0-9]{20}$")
        self.assertRegex(key["secretAccessKey"], r"^[A-Za-z0-9+/]{40}$")
        op = k["operations"][0]
        self.assertEqual((op["operationType"], op["status"], op["isTerminal"], op["resourceName"]),
                         ("CreateBucketAccessKey", "Succeeded", True, "boto-bucket"))
        self.assertEqual(ls.get_operation(operationId=op["id"])["operation"]["id"], op["id"])
        listed = ls.get_bucket_access_keys(bucketName="boto-bucket")["accessKeys"]
        self.assertEqual(len(listed), 1)
        self.assertNotIn("secretAccessKey", listed[0])
        self.assertEqual(listed[0]["lastUsed"], {"region": "N/A", "serviceName": "N/A"})
        ident = client("sts", key["accessKeyId"], key["secretAccessKey"]).get_caller_identity()
        self.assertTrue(ident["Arn"].startswith("arn:aws:lightsail:us-east-1:"), ident)
        self.assertIn(":Bucket/", ident["Arn"])
        lu = ls.get_bucket_access_keys(bucketName="boto-bucket")["accessKeys"][0]["lastUsed"]
        self.assertEqual((lu["region"], lu["serviceName"]), ("us-east-1", "sts"))
        self.assertLess(abs(time.time() - lu["lastUsedDate"].timestamp()), 5)
        ls.create_bucket_access_key(bucketName="boto-bucket")
        e = self.assertError("InvalidInputException", 400, ls.create_bucket_access_key, bucketName="boto-bucket")
        self.assertIsInstance(e, ls.exceptions.InvalidInputException)
        mine = client("lightsail", key["accessKeyId"], key["secretAccessKey"])
        e = self.assertError("AccessDeniedException", 400, mine.get_buckets)
        self.assertIsInstance(e, ls.exceptions.AccessDeniedException)
        self.assertError("AccessDenied", 403, client("iam", key["accessKeyId"], key["secretAccessKey"]).list_users)
        ls.delete_bucket_access_key(bucketName="boto-bucket", accessKeyId=key["accessKeyId"])
        self.assertError("InvalidClientTokenId", 403, client("sts", key["accessKeyId"], key["secretAccessKey"]).get_caller_identity)
        self.assertError("InvalidInputException", 400, ls.delete_bucket, bucketName="boto-bucket")
        ls.delete_bucket(bucketName="boto-bucket", forceDelete=True)

    def test_lightsail_errors_by_name(self):
        ls = client("lightsail")
        e = self.assertError("NotFoundException", 400, ls.get_bucket_access_keys, bucketName="no-such-bucket")
        self.assertIsInstance(e, ls.exceptions.NotFoundException)
        self.assertError("InvalidInputException", 400, ls.create_bucket, bucketName="Bad_Name", bundleId="small_1_0")
        self.assertError("InvalidInputException", 400, ls.create_bucket, bucketName="fine-name", bundleId="no_such_bundle")
        self.assertError("UnrecognizedClientException", 400, client("lightsail", "AKIAAAAAAAAAAAAAAAAA", "x" * 40).get_buckets)
        self.assertError("InvalidSignatureException", 400, client("lightsail", server.root_id, "x" * 40).get_buckets)


class AWSCLI:
    """The aws CLI with the root-credentials file iamd wrote (a mixin for
    test cases of any module that sets clients_test.server)."""

    def aws(self, *args, key=None, ok=True, region="us-east-1"):
        env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
        env.update(AWS_DEFAULT_REGION=region, AWS_SHARED_CREDENTIALS_FILE=server.creds_file,
                   AWS_CONFIG_FILE=os.devnull, AWS_MAX_ATTEMPTS="1")
        if key:  # (id, secret) or (id, secret, session token)
            env.update(AWS_ACCESS_KEY_ID=key[0], AWS_SECRET_ACCESS_KEY=key[1])
            if len(key) > 2:
                env.update(AWS_SESSION_TOKEN=key[2])
        p = subprocess.run(["aws", *args, "--endpoint-url", server.url, "--output", "json"],
                           capture_output=True, text=True, env=env, timeout=60)
        if ok:
            self.assertEqual(p.returncode, 0, p.stderr)
            return json.loads(p.stdout) if p.stdout.strip() else None
        self.assertNotEqual(p.returncode, 0, p.stdout)
        return p.stderr


class CLITest(AWSCLI, unittest.TestCase):
    """The aws CLI with the root-credentials file iamd wrote."""

    def test_bob_example(self):
        u = self.aws("iam", "create-user", "--user-name", "Bob")["User"]
        self.assertEqual(u["UserName"], "Bob")
        self.assertEqual(u["Arn"], f"arn:aws:iam::{ACCOUNT}:user/Bob")
        k = self.aws("iam", "create-access-key", "--user-name", "Bob")["AccessKey"]
        self.assertEqual(set(k), {"UserName", "AccessKeyId", "Status", "SecretAccessKey", "CreateDate"})
        self.assertEqual(k["Status"], "Active")
        ident = self.aws("sts", "get-caller-identity", key=(k["AccessKeyId"], k["SecretAccessKey"]))
        self.assertEqual(ident["Arn"], f"arn:aws:iam::{ACCOUNT}:user/Bob")
        listed = self.aws("iam", "list-access-keys", "--user-name", "Bob")["AccessKeyMetadata"]
        self.assertNotIn("SecretAccessKey", json.dumps(listed))
        self.assertNotIn(k["SecretAccessKey"], json.dumps(listed))

    def test_cli_errors(self):
        self.assertIn("(NoSuchEntity)", self.aws("iam", "get-user", "--user-name", "ghost", ok=False))
        self.aws("iam", "create-user", "--user-name", "Carol")
        self.assertIn("(EntityAlreadyExists)", self.aws("iam", "create-user", "--user-name", "carol", ok=False))
        self.assertIn("(ValidationError)", self.aws("iam", "create-user", "--user-name", "no spaces", ok=False))
        self.aws("iam", "create-access-key", "--user-name", "Carol")
        self.aws("iam", "create-access-key", "--user-name", "Carol")
        self.assertIn("(LimitExceeded)", self.aws("iam", "create-access-key", "--user-name", "Carol", ok=False))
        self.assertIn("(DeleteConflict)", self.aws("iam", "delete-user", "--user-name", "Carol", ok=False))
        self.assertIn("(InvalidClientTokenId)", self.aws("sts", "get-caller-identity", key=("AKIAAAAAAAAAAAAAAAAA", "x" * 40), ok=False))
        self.assertIn("(SignatureDoesNotMatch)", self.aws("sts", "get-caller-identity", key=(server.root_id, "x" * 40), ok=False))

    def test_cli_any_region(self):
        for region in ("eu-west-1", "ap-southeast-2"):
            self.aws("iam", "create-user", "--user-name", "Cli-" + region, region=region)
            k = self.aws("iam", "create-access-key", "--user-name", "Cli-" + region, region=region)["AccessKey"]
            ident = self.aws("sts", "get-caller-identity", key=(k["AccessKeyId"], k["SecretAccessKey"]), region=region)
            self.assertEqual(ident["Arn"], f"arn:aws:iam::{ACCOUNT}:user/Cli-{region}")
            self.assertIn("(InvalidSignatureException)", self.aws("lightsail", "get-buckets", region=region, ok=False))

    def test_cli_lightsail(self):
        b = self.aws("lightsail", "create-bucket", "--bucket-name", "my-bucket", "--bundle-id", "small_1_0")
        self.assertEqual(b["bucket"]["name"], "my-bucket")
        k = self.aws("lightsail", "create-bucket-access-key", "--bucket-name", "my-bucket")
        key = k["accessKey"]
        self.assertEqual(key["status"], "Active")
        self.assertEqual(k["operations"][0]["operationType"], "CreateBucketAccessKey")
        listed = self.aws("lightsail", "get-bucket-access-keys", "--bucket-name", "my-bucket")["accessKeys"]
        self.assertEqual([x["accessKeyId"] for x in listed], [key["accessKeyId"]])
        self.assertNotIn(key["secretAccessKey"], json.dumps(listed))
        self.assertIn("(NotFoundException)", self.aws("lightsail", "get-bucket-access-keys", "--bucket-name", "nope-bucket", ok=False))
        self.assertIn("(InvalidInputException)", self.aws("lightsail", "delete-bucket", "--bucket-name", "my-bucket", ok=False))
        self.aws("lightsail", "delete-bucket-access-key", "--bucket-name", "my-bucket", "--access-key-id", key["accessKeyId"])
        self.assertEqual(self.aws("lightsail", "get-bucket-access-keys", "--bucket-name", "my-bucket")["accessKeys"], [])
        self.aws("lightsail", "delete-bucket", "--bucket-name", "my-bucket")

    def test_cli_self_service(self):
        """With the aws CLI: a self-service user rotates only its own keys,
        and a Deny statement wins."""
        self.aws("iam", "create-user", "--user-name", "Sam", "--path", "/ci/")
        self.aws("iam", "create-user", "--user-name", "Other")
        self.aws("iam", "attach-user-policy", "--user-name", "Sam", "--policy-arn", SELF_SERVICE)
        attached = self.aws("iam", "list-attached-user-policies", "--user-name", "Sam")["AttachedPolicies"]
        self.assertEqual(attached, [{"PolicyName": "IAMSelfManageAccessKeys", "PolicyArn": SELF_SERVICE}])
        k = self.aws("iam", "create-access-key", "--user-name", "Sam")["AccessKey"]
        sam = (k["AccessKeyId"], k["SecretAccessKey"])
        new = self.aws("iam", "create-access-key", key=sam)["AccessKey"]
        self.assertEqual(new["UserName"], "Sam")
        self.aws("iam", "update-access-key", "--access-key-id", k["AccessKeyId"], "--status", "Inactive", key=(new["AccessKeyId"], new["SecretAccessKey"]))
        sam = (new["AccessKeyId"], new["SecretAccessKey"])
        self.aws("iam", "delete-access-key", "--access-key-id", k["AccessKeyId"], key=sam)
        listed = self.aws("iam", "list-access-keys", key=sam)["AccessKeyMetadata"]
        self.assertEqual([x["AccessKeyId"] for x in listed], [new["AccessKeyId"]])
        err = self.aws("iam", "create-access-key", "--user-name", "Other", key=sam, ok=False)
        self.assertIn("(AccessDenied)", err)
        self.assertIn("on resource: user Other because", err)
        self.assertIn("(AccessDenied)", self.aws("iam", "list-users", key=sam, ok=False))

        deny = json.dumps({"Version": "2012-10-17", "Statement": [{"Effect": "Deny", "Action": "iam:CreateAccessKey", "Resource": "*"}]})
        self.aws("iam", "put-user-policy", "--user-name", "Sam", "--policy-name", "Freeze", "--policy-document", deny)
        got = self.aws("iam", "get-user-policy", "--user-name", "Sam", "--policy-name", "Freeze")
        self.assertEqual(got["PolicyDocument"], json.loads(deny))
        err = self.aws("iam", "create-access-key", key=sam, ok=False)
        self.assertIn("(AccessDenied)", err)
        self.assertIn("explicit deny", err)
        self.aws("iam", "list-access-keys", key=sam)  # the Allow still stands for the rest

    def test_cli_update_and_last_used(self):
        self.aws("iam", "create-user", "--user-name", "Dan")
        k = self.aws("iam", "create-access-key", "--user-name", "Dan")["AccessKey"]
        lu = self.aws("iam", "get-access-key-last-used", "--access-key-id", k["AccessKeyId"])
        self.assertEqual(lu["AccessKeyLastUsed"], {"ServiceName": "N/A", "Region": "N/A"})
        self.aws("iam", "update-access-key", "--user-name", "Dan", "--access-key-id", k["AccessKeyId"], "--status", "Inactive")
        self.assertIn("(InvalidClientTokenId)", self.aws("sts", "get-caller-identity", key=(k["AccessKeyId"], k["SecretAccessKey"]), ok=False))
        self.aws("iam", "update-access-key", "--user-name", "Dan", "--access-key-id", k["AccessKeyId"], "--status", "Active")
        self.aws("sts", "get-caller-identity", key=(k["AccessKeyId"], k["SecretAccessKey"]))
        lu = self.aws("iam", "get-access-key-last-used", "--access-key-id", k["AccessKeyId"])["AccessKeyLastUsed"]
        self.assertEqual((lu["ServiceName"], lu["Region"]), ("sts", "us-east-1"))
        self.aws("iam", "delete-access-key", "--user-name", "Dan", "--access-key-id", k["AccessKeyId"])
        self.aws("iam", "delete-user", "--user-name", "Dan")
        users = [u["UserName"] for u in self.aws("iam", "list-users")["Users"]]
        self.assertNotIn("Dan", users)


if __name__ == "__main__":
    unittest.main()
