"""End-to-end tests of federation with an OpenID Connect issuer that is not
iamd's: oauth2-mock-server from npm (e2e/oidc) over HTTPS with a
self-signed certificate that iamd trusts by its thumbprint, as AWS does.
The aws CLI and boto3 reach iamd through AWS_ROLE_ARN,
AWS_WEB_IDENTITY_TOKEN_FILE and AWS_ENDPOINT_URL_STS alone, and read an
object through versitygw with what they get. Run:

    npm ci --prefix e2e/oidc
    IAMD_BIN=… IAMD_VERSITYGW=$(scripts/versitygw) python3 -m unittest e2e/federation_test.py
"""

import hashlib
import json
import os
import shutil
import ssl
import subprocess
import tempfile
import unittest
import urllib.parse
import urllib.request
from unittest import mock

import boto3
import botocore.config
import botocore.exceptions

from e2e.harness import free_port, wait_http, wait_iamd

ROOT_ID = "AKIAFEDROOTFEDROOT01"
ROOT_SECRET = "fedrootsecretfedrootsecretfedrootsecret1"
NO_RETRY = botocore.config.Config(retries={"max_attempts": 1, "mode": "standard"})
PATH_STYLE = botocore.config.Config(retries={"max_attempts": 1, "mode": "standard"}, s3={"addressing_style": "path"})
HERE = os.path.dirname(os.path.abspath(__file__))


def require(what, ok):
    if ok:
        return
    if os.environ.get("CI") == "true":
        raise RuntimeError(f"{what}: CI must run the federation tests")
    raise unittest.SkipTest(what)


class Stack:
    """iamd with an audit log and its gateway socket, versitygw asking it,
    and the npm issuer."""

    def __init__(self):
        self.dir = tempfile.mkdtemp(prefix="iamd-federation-")
        self.procs, self.logs = [], []
        env = {k: v for k, v in os.environ.items() if not k.startswith(("IAMD_", "AWS_"))}
        env.update(IAMD_ROOT_ACCESS_KEY_ID=ROOT_ID, IAMD_ROOT_SECRET_ACCESS_KEY=ROOT_SECRET)
        # The issuer: a certificate of its own, trusted by nobody but iamd's
        # thumbprint and this test.
        self.cert, key = os.path.join(self.dir, "cert.pem"), os.path.join(self.dir, "key.pem")
        subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", key, "-out", self.cert, "-days", "2",
                        "-subj", "/CN=localhost", "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1"], check=True, capture_output=True)
        with open(self.cert) as f:
            self.thumbprint = hashlib.sha1(ssl.PEM_cert_to_DER_cert(f.read())).hexdigest()
        self.tls = ssl.create_default_context(cafile=self.cert)
        issuer_log = os.path.join(self.dir, "issuer.log")
        issuer = subprocess.Popen(["node", os.path.join(HERE, "oidc", "issuer.mjs")], stdout=subprocess.PIPE, stderr=self.log(issuer_log),
                                  env=dict(env, OIDC_CERT=self.cert, OIDC_KEY=key), text=True)
        self.procs.append(issuer)
        self.issuer = issuer.stdout.readline().strip()  # printed once it serves
        if not self.issuer.startswith("https://"):
            with open(issuer_log) as f:
                raise RuntimeError("the issuer did not start: " + f.read())
        urllib.request.urlopen(self.issuer + "/.well-known/openid-configuration", context=self.tls, timeout=10).read()

        self.iamd_port, self.gw_port = free_port(), free_port()
        self.iamd_url, self.gw_url = f"http://127.0.0.1:{self.iamd_port}", f"http://127.0.0.1:{self.gw_port}"
        sock = os.path.join(self.dir, "gw.sock")
        objects = os.path.join(self.dir, "objects")
        os.mkdir(objects)
        self.audit = os.path.join(self.dir, "audit.log")
        iamd_log = os.path.join(self.dir, "iamd.log")
        self.procs.append(subprocess.Popen(
            [os.environ["IAMD_BIN"], "serve", "--addr", f"127.0.0.1:{self.iamd_port}", "--data-dir", os.path.join(self.dir, "data"),
             "--account-id", "123456789012", "--gateway-socket", sock, "--objects-endpoint", self.gw_url, "--audit-log", self.audit],
            stderr=self.log(iamd_log), env=env))
        wait_iamd(self.iamd_port, iamd_log)
        gw_log = os.path.join(self.dir, "gw.log")
        self.procs.append(subprocess.Popen(
            [os.environ["IAMD_VERSITYGW"], "--access", "GWROOTGWROOTGWROOT01", "--secret", "gwrootsecretgwrootsecretgwroot01",
             "--port", f"127.0.0.1:{self.gw_port}", "--quiet", "--iam-standalone-endpoint", sock,
             "--iam-standalone-access", ROOT_ID, "--iam-standalone-secret", ROOT_SECRET, "posix", objects],
            stdout=self.log(gw_log), stderr=subprocess.STDOUT, env=env))
        wait_http(self.gw_port, "versitygw", gw_log)

    def log(self, path):
        f = open(path, "w")
        self.logs.append(f)
        return f

    def token(self, sub, aud="sts.amazonaws.com"):
        """A token of the issuer for sub and aud, as a CI job gets one."""
        body = urllib.parse.urlencode({"grant_type": "client_credentials", "aud": aud, "sub": sub}).encode()
        with urllib.request.urlopen(self.issuer + "/token", data=body, context=self.tls, timeout=10) as r:
            return json.load(r)["access_token"]

    def client(self, service, endpoint=None, cfg=NO_RETRY):
        return boto3.client(service, endpoint_url=endpoint or self.iamd_url, region_name="us-east-1",
                            aws_access_key_id=ROOT_ID, aws_secret_access_key=ROOT_SECRET, config=cfg)

    def identities(self):
        """The issuer-and-subject of each allowed exchange in the audit log."""
        with open(self.audit) as f:
            recs = [json.loads(line) for line in f if line.strip()]
        return [r.get("identity", "") for r in recs if r["action"] == "AssumeRoleWithWebIdentity" and r["outcome"] == "allowed"]

    def stop(self):
        for p in reversed(self.procs):
            p.terminate()
            p.wait(timeout=10)
            if p.stdout:
                p.stdout.close()
        for f in self.logs:
            f.close()
        shutil.rmtree(self.dir, ignore_errors=True)


def setUpModule():
    global stack
    require("IAMD_VERSITYGW is not set (scripts/versitygw installs it)", os.environ.get("IAMD_VERSITYGW"))
    require("e2e/oidc has no node_modules (npm ci --prefix e2e/oidc)", shutil.which("node") and os.path.isdir(os.path.join(HERE, "oidc", "node_modules")))
    stack = Stack()
    iam = stack.client("iam")
    host = stack.issuer.removeprefix("https://")
    global provider_arn, host_key
    provider_arn, host_key = f"arn:aws:iam::123456789012:oidc-provider/{host}", host
    stack.client("lightsail").create_bucket(bucketName="builds", bundleId="small_1_0")
    stack.client("s3", stack.gw_url, PATH_STYLE).put_object(Bucket="builds", Key="app.tar", Body=b"the build")


def tearDownModule():
    stack.stop()


def trust(cond):
    return json.dumps({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"Federated": provider_arn},
                                                               "Action": "sts:AssumeRoleWithWebIdentity", "Condition": cond}]})


READ_BUILDS = json.dumps({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::builds/*"}]})


class FederationTest(unittest.TestCase):
    def env(self, role, token_file, session):
        env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
        env.update(AWS_DEFAULT_REGION="us-east-1", AWS_CONFIG_FILE=os.devnull, AWS_SHARED_CREDENTIALS_FILE=os.devnull, AWS_MAX_ATTEMPTS="1",
                   AWS_ROLE_ARN=f"arn:aws:iam::123456789012:role/{role}", AWS_WEB_IDENTITY_TOKEN_FILE=token_file,
                   AWS_ROLE_SESSION_NAME=session, AWS_ENDPOINT_URL_STS=stack.iamd_url, AWS_ENDPOINT_URL_S3=stack.gw_url,
                   HOME=os.path.join(stack.dir, "home-" + session))
        return env

    @staticmethod
    def write_token(path, token):
        """Replaces the token file as the kubelet does: rename over it."""
        with open(path + ".new", "w") as f:
            f.write(token)
        os.rename(path + ".new", path)

    def test_01_cli(self):
        """The aws CLI registers the issuer with its thumbprint, makes a role
        for one service account's subjects, and then, configured by the
        environment alone, reads an object; the token file is replaced
        between runs and the next run exchanges the new token."""
        def aws(*args, env=None, ok=True):
            e = env or dict({k: v for k, v in os.environ.items() if not k.startswith("AWS_")}, AWS_ACCESS_KEY_ID=ROOT_ID,
                            AWS_SECRET_ACCESS_KEY=ROOT_SECRET, AWS_DEFAULT_REGION="us-east-1", AWS_CONFIG_FILE=os.devnull,
                            AWS_SHARED_CREDENTIALS_FILE=os.devnull, AWS_ENDPOINT_URL=stack.iamd_url)
            p = subprocess.run(["aws", *args], capture_output=True, text=True, env=e, timeout=120)
            self.assertEqual(p.returncode == 0, ok, p.stderr + p.stdout)
            return p.stdout if ok else p.stderr

        out = json.loads(aws("iam", "create-open-id-connect-provider", "--url", stack.issuer, "--client-id-list", "sts.amazonaws.com",
                             "--thumbprint-list", stack.thumbprint))
        self.assertEqual(out["OpenIDConnectProviderArn"], provider_arn)
        got = json.loads(aws("iam", "get-open-id-connect-provider", "--open-id-connect-provider-arn", provider_arn))
        self.assertEqual((got["Url"], got["ClientIDList"], got["ThumbprintList"]), (host_key, ["sts.amazonaws.com"], [stack.thumbprint]))
        aws("iam", "create-role", "--role-name", "builder", "--assume-role-policy-document",
            trust({"StringEquals": {f"{host_key}:aud": "sts.amazonaws.com"}, "StringLike": {f"{host_key}:sub": "system:serviceaccount:ci:*"}}))
        aws("iam", "put-role-policy", "--role-name", "builder", "--policy-name", "read", "--policy-document", READ_BUILDS)

        token_file = os.path.join(stack.dir, "cli-token")
        self.write_token(token_file, stack.token("system:serviceaccount:ci:runner-a"))
        env = self.env("builder", token_file, "cli")
        who = json.loads(aws("sts", "get-caller-identity", env=env))
        self.assertEqual(who["Arn"], "arn:aws:sts::123456789012:assumed-role/builder/cli")
        self.assertEqual(aws("s3", "cp", "s3://builds/app.tar", "-", env=env), "the build")
        self.assertIn("AccessDenied", aws("s3", "cp", token_file, "s3://builds/x", env=env, ok=False))
        # The kubelet replaces the token. The CLI keeps the credentials it
        # got in $HOME/.aws/cli/cache and reads the token file again when
        # they near expiry; the test removes the cache rather than wait 45
        # minutes.
        self.write_token(token_file, stack.token("system:serviceaccount:ci:runner-b"))
        self.assertEqual(aws("s3", "cp", "s3://builds/app.tar", "-", env=env), "the build")  # cached credentials
        self.assertEqual(len(stack.identities()), 1)
        shutil.rmtree(os.path.join(env["HOME"], ".aws", "cli", "cache"))
        self.assertEqual(aws("s3", "cp", "s3://builds/app.tar", "-", env=env), "the build")
        subjects = [i.rsplit(" ", 1)[-1] for i in stack.identities()]
        self.assertIn("system:serviceaccount:ci:runner-a", subjects)
        self.assertIn("system:serviceaccount:ci:runner-b", subjects)
        # Another namespace's token: refused with the failed condition named.
        self.write_token(token_file, stack.token("system:serviceaccount:prod:runner"))
        shutil.rmtree(os.path.join(env["HOME"], ".aws", "cli", "cache"))
        err = aws("sts", "get-caller-identity", env=env, ok=False)
        self.assertIn("AccessDenied", err)
        self.assertIn(f"StringLike on {host_key}:sub", err)

    def test_02_boto3(self):
        """boto3, configured by the environment alone, reads the object;
        a session made after the token file is replaced exchanges the new
        token. Refusals carry AWS's codes and say which check failed."""
        iam = stack.client("iam")
        iam.create_role(RoleName="deployer", AssumeRolePolicyDocument=trust(
            {"StringEquals": {f"{host_key}:aud": "sts.amazonaws.com", f"{host_key}:sub": "repo:acme/web:ref:refs/heads/main"}}))
        iam.put_role_policy(RoleName="deployer", PolicyName="read", PolicyDocument=READ_BUILDS)
        token_file = os.path.join(stack.dir, "boto-token")
        self.write_token(token_file, stack.token("repo:acme/web:ref:refs/heads/main"))
        with mock.patch.dict(os.environ, self.env("deployer", token_file, "boto"), clear=True):
            s = boto3.Session()
            self.assertEqual(s.client("sts", config=NO_RETRY).get_caller_identity()["Arn"],
                             "arn:aws:sts::123456789012:assumed-role/deployer/boto")
            body = s.client("s3", config=PATH_STYLE).get_object(Bucket="builds", Key="app.tar")["Body"].read()
            self.assertEqual(body, b"the build")
            before = len(stack.identities())
            self.write_token(token_file, stack.token("repo:acme/web:ref:refs/heads/main"))
            s2 = boto3.Session()
            s2.client("s3", config=PATH_STYLE).get_object(Bucket="builds", Key="app.tar")
            self.assertEqual(len(stack.identities()), before + 1)

        sts = boto3.client("sts", endpoint_url=stack.iamd_url, region_name="us-east-1", config=botocore.config.Config(
            signature_version=botocore.UNSIGNED, retries={"max_attempts": 1, "mode": "standard"}))
        role = "arn:aws:iam::123456789012:role/deployer"
        ok = sts.assume_role_with_web_identity(RoleArn=role, RoleSessionName="direct", WebIdentityToken=stack.token("repo:acme/web:ref:refs/heads/main"))
        self.assertEqual(ok["SubjectFromWebIdentityToken"], "repo:acme/web:ref:refs/heads/main")
        self.assertEqual(ok["Audience"], "sts.amazonaws.com")
        self.assertEqual(ok["Provider"], stack.issuer)
        self.assertEqual(ok["AssumedRoleUser"]["Arn"], "arn:aws:sts::123456789012:assumed-role/deployer/direct")
        for token, code, text in [
            (stack.token("repo:acme/web:ref:refs/heads/dev"), "AccessDenied", f"StringEquals on {host_key}:sub"),
            (stack.token("repo:evil/web:ref:refs/heads/main"), "AccessDenied", f"{host_key}:sub"),
            (stack.token("repo:acme/web:ref:refs/heads/main", aud="another-client"), "InvalidIdentityToken", "Incorrect token audience"),
            (stack.token("repo:acme/web:ref:refs/heads/main")[:-8] + "AAAAAAAA", "InvalidIdentityToken", "does not verify"),
        ]:
            with self.assertRaises(botocore.exceptions.ClientError) as cm:
                sts.assume_role_with_web_identity(RoleArn=role, RoleSessionName="direct", WebIdentityToken=token)
            e = cm.exception.response
            self.assertEqual(e["Error"]["Code"], code)
            self.assertIn(text, e["Error"]["Message"])
            self.assertLess(e["ResponseMetadata"]["HTTPStatusCode"], 500)
            self.assertNotIn(token[-24:], e["Error"]["Message"])


if __name__ == "__main__":
    unittest.main()
