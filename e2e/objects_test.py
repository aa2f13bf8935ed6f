"""End-to-end tests of Lightsail bucket keys on real objects, with the aws
CLI and boto3: iamd ($IAMD_BIN) decides every request of a versitygw
($IAMD_VERSITYGW) in front of a directory. Run:

    IAMD_BIN=… IAMD_VERSITYGW=$(scripts/versitygw) python3 -m unittest e2e/objects_test.py
"""

import hashlib
import io
import json
import os
import shutil
import subprocess
import tempfile
import unittest

import boto3
import boto3.s3.transfer
import botocore.config
import botocore.exceptions

from e2e.harness import free_port, wait_http, wait_iamd

ROOT_ID = "AKIAE2EROOTE2EROOT01"
ROOT_SECRET = "e2erootsecrete2erootsecrete2erootsecret1"
NO_RETRY = botocore.config.Config(retries={"max_attempts": 1, "mode": "standard"})
PATH_STYLE = botocore.config.Config(retries={"max_attempts": 1, "mode": "standard"}, s3={"addressing_style": "path"})




class Stack:
    """iamd with its gateway socket, and versitygw asking it."""

    def __init__(self):
        self.dir = tempfile.mkdtemp(prefix="iamd-objects-")
        env = {k: v for k, v in os.environ.items() if not k.startswith(("IAMD_", "AWS_"))}
        env.update(IAMD_ROOT_ACCESS_KEY_ID=ROOT_ID, IAMD_ROOT_SECRET_ACCESS_KEY=ROOT_SECRET)
        self.iamd_port, self.gw_port = free_port(), free_port()
        self.iamd_url, self.gw_url = f"http://127.0.0.1:{self.iamd_port}", f"http://127.0.0.1:{self.gw_port}"
        sock = os.path.join(self.dir, "gw.sock")
        objects = os.path.join(self.dir, "objects")
        os.mkdir(objects)
        self.iamd_log = os.path.join(self.dir, "iamd.log")
        self.iamd = subprocess.Popen(
            [os.environ["IAMD_BIN"], "serve", "--addr", f"127.0.0.1:{self.iamd_port}", "--data-dir", os.path.join(self.dir, "data"),
             "--gateway-socket", sock, "--objects-endpoint", self.gw_url],
            stderr=open(self.iamd_log, "w"), env=env)
        wait_iamd(self.iamd_port, self.iamd_log)
        self.gw_log = os.path.join(self.dir, "gw.log")
        self.gw = subprocess.Popen(
            [os.environ["IAMD_VERSITYGW"], "--access", "GWROOTGWROOTGWROOT01", "--secret", "gwrootsecretgwrootsecretgwroot01",
             "--port", f"127.0.0.1:{self.gw_port}", "--quiet", "--iam-standalone-endpoint", sock,
             "--iam-standalone-access", ROOT_ID, "--iam-standalone-secret", ROOT_SECRET, "posix", objects],
            stdout=open(self.gw_log, "w"), stderr=subprocess.STDOUT, env=env)
        wait_http(self.gw_port, "versitygw", self.gw_log)

    def stop(self):
        for p in (self.gw, self.iamd):
            p.terminate()
            p.wait(timeout=10)
        shutil.rmtree(self.dir, ignore_errors=True)


def setUpModule():
    global stack
    if not os.environ.get("IAMD_VERSITYGW"):
        if os.environ.get("CI") == "true":
            raise RuntimeError("IAMD_VERSITYGW is not set: CI must run the object tests (scripts/versitygw installs it)")
        raise unittest.SkipTest("IAMD_VERSITYGW is not set (scripts/versitygw installs it)")
    stack = Stack()


def tearDownModule():
    stack.stop()


def lightsail():
    return boto3.client("lightsail", endpoint_url=stack.iamd_url, region_name="us-east-1",
                        aws_access_key_id=ROOT_ID, aws_secret_access_key=ROOT_SECRET, config=NO_RETRY)


def s3(key):
    return boto3.client("s3", endpoint_url=stack.gw_url, region_name="us-east-1",
                        aws_access_key_id=key[0], aws_secret_access_key=key[1], config=PATH_STYLE)


def new_bucket(name):
    ls = lightsail()
    ls.create_bucket(bucketName=name, bundleId="small_1_0")
    k = ls.create_bucket_access_key(bucketName=name)["accessKey"]
    return k["accessKeyId"], k["secretAccessKey"]


class ObjectsTest(unittest.TestCase):
    def cli(self, key, *args, ok=True):
        env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
        env.update(AWS_DEFAULT_REGION="us-east-1", AWS_CONFIG_FILE=os.devnull, AWS_SHARED_CREDENTIALS_FILE=os.devnull,
                   AWS_MAX_ATTEMPTS="1", AWS_ACCESS_KEY_ID=key[0], AWS_SECRET_ACCESS_KEY=key[1])
        p = subprocess.run(["aws", *args, "--endpoint-url", stack.gw_url], capture_output=True, text=True, env=env, timeout=120)
        if ok:
            self.assertEqual(p.returncode, 0, p.stderr)
            return p.stdout
        self.assertNotEqual(p.returncode, 0, p.stdout)
        return p.stderr

    def test_cli_with_a_bucket_key(self):
        """aws s3 cp up and down, ls, rm and s3api calls with a bucket key."""
        key = new_bucket("cli-bucket")
        lightsail().create_bucket(bucketName="cli-other", bundleId="small_1_0")
        src = os.path.join(stack.dir, "up.txt")
        with open(src, "w") as f:
            f.write("uploaded with the aws CLI\n")
        self.cli(key, "s3", "cp", src, "s3://cli-bucket/docs/up.txt")
        self.assertIn("docs/up.txt", self.cli(key, "s3", "ls", "s3://cli-bucket/", "--recursive"))
        down = os.path.join(stack.dir, "down.txt")
        self.cli(key, "s3", "cp", "s3://cli-bucket/docs/up.txt", down)
        with open(down) as f:
            self.assertEqual(f.read(), "uploaded with the aws CLI\n")
        self.cli(key, "s3api", "put-object", "--bucket", "cli-bucket", "--key", "api.txt", "--body", src)
        head = json.loads(self.cli(key, "s3api", "head-object", "--bucket", "cli-bucket", "--key", "api.txt"))
        self.assertEqual(head["ContentLength"], 26)
        listed = json.loads(self.cli(key, "s3api", "list-objects-v2", "--bucket", "cli-bucket"))
        self.assertEqual(sorted(o["Key"] for o in listed["Contents"]), ["api.txt", "docs/up.txt"])
        self.cli(key, "s3", "rm", "s3://cli-bucket/docs/up.txt")
        self.assertNotIn("docs/up.txt", self.cli(key, "s3", "ls", "s3://cli-bucket/", "--recursive"))
        # Refused, with S3's code: another bucket, the bucket list, a new bucket.
        self.assertIn("(AccessDenied)", self.cli(key, "s3", "ls", "s3://cli-other/", ok=False))
        self.assertIn("(AccessDenied)", self.cli(key, "s3", "ls", ok=False))
        self.assertIn("(AccessDenied)", self.cli(key, "s3", "mb", "s3://cli-new", ok=False))

    def test_boto3_multipart(self):
        """A 50 MiB boto3 multipart upload round-trips its SHA-256."""
        key = new_bucket("boto-big")
        data = os.urandom(50 << 20)
        cfg = boto3.s3.transfer.TransferConfig(multipart_threshold=8 << 20, multipart_chunksize=8 << 20)
        c = s3(key)
        c.upload_fileobj(io.BytesIO(data), "boto-big", "blob.bin", Config=cfg)
        parts = c.head_object(Bucket="boto-big", Key="blob.bin")["ETag"]
        self.assertIn("-7", parts)  # 7 parts of 8 MiB
        got = c.get_object(Bucket="boto-big", Key="blob.bin")["Body"].read()
        self.assertEqual(hashlib.sha256(got).hexdigest(), hashlib.sha256(data).hexdigest())

    def test_boto3_refusals(self):
        key = new_bucket("boto-refusals")
        lightsail().create_bucket(bucketName="boto-other", bundleId="small_1_0")
        c = s3(key)
        for fn, kw in [(c.list_objects_v2, {"Bucket": "boto-other"}), (c.list_buckets, {}), (c.create_bucket, {"Bucket": "boto-nope"})]:
            with self.assertRaises(botocore.exceptions.ClientError) as cm:
                fn(**kw)
            self.assertEqual(cm.exception.response["Error"]["Code"], "AccessDenied")
        lightsail().delete_bucket_access_key(bucketName="boto-refusals", accessKeyId=key[0])
        with self.assertRaises(botocore.exceptions.ClientError) as cm:
            c.list_objects_v2(Bucket="boto-refusals")
        self.assertEqual(cm.exception.response["Error"]["Code"], "InvalidAccessKeyId")
        with open(stack.iamd_log) as f:
            self.assertNotIn(key[1], f.read())


if __name__ == "__main__":
    unittest.main()
