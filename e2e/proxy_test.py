"""End-to-end tests of iamd proxy, the authenticating front for HTTP APIs:
botocore's SigV4Auth for execute-api and curl --aws-sigv4 as clients, a
Python http.server upstream that echoes what reaches it, and nginx from
Debian with auth_request pointed at the proxy's decision endpoint. Run:

    IAMD_BIN=/path/to/iamd python3 -m unittest e2e/proxy_test.py
"""

import http.server
import json
import os
import shutil
import subprocess
import tempfile
import threading
import unittest
import urllib.error
import urllib.request

import boto3
import botocore.auth
import botocore.awsrequest
import botocore.config
import botocore.credentials

from e2e.harness import free_port, wait_http, wait_iamd

ROOT_ID = "AKIAPROXYROOTPROXY01"
ROOT_SECRET = "proxyrootsecretproxyrootsecretproxyroot1"
NO_RETRY = botocore.config.Config(retries={"max_attempts": 1, "mode": "standard"})




class Echo(http.server.BaseHTTPRequestHandler):
    """Answers with what it received: method, path, headers, body length."""

    def handle_one(self):
        n = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(n) if n else b""
        out = json.dumps({"method": self.command, "path": self.path, "headers": dict(self.headers), "body": len(body)}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(out)))
        self.end_headers()
        self.wfile.write(out)

    do_GET = do_POST = do_PUT = do_DELETE = handle_one

    def log_message(self, *args):
        pass


class Stack:
    def __init__(self):
        self.dir = tempfile.mkdtemp(prefix="iamd-proxy-")
        env = {k: v for k, v in os.environ.items() if not k.startswith(("IAMD_", "AWS_"))}
        env.update(IAMD_ROOT_ACCESS_KEY_ID=ROOT_ID, IAMD_ROOT_SECRET_ACCESS_KEY=ROOT_SECRET)
        self.procs = []
        ip = free_port()
        self.iamd_url = f"http://127.0.0.1:{ip}"
        sock = os.path.join(self.dir, "gw.sock")
        self.start([os.environ["IAMD_BIN"], "serve", "--addr", f"127.0.0.1:{ip}", "--data-dir", os.path.join(self.dir, "data"),
                    "--account-id", "123456789012", "--gateway-socket", sock], env, ip, "iamd")
        iam = self.iam()
        iam.create_user(UserName="front")
        iam.put_user_policy(UserName="front", PolicyName="p", PolicyDocument=json.dumps(
            {"Version": "2012-10-17", "Statement": {"Effect": "Allow", "Action": "iamd:DecideRequests", "Resource": "*"}}))
        fk = iam.create_access_key(UserName="front")["AccessKey"]
        self.upstream = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Echo)
        threading.Thread(target=self.upstream.serve_forever, daemon=True).start()
        self.proxy_port, self.auth_port = free_port(), free_port()
        penv = dict(env, AWS_ACCESS_KEY_ID=fk["AccessKeyId"], AWS_SECRET_ACCESS_KEY=fk["SecretAccessKey"])
        self.start([os.environ["IAMD_BIN"], "proxy", "--addr", f"127.0.0.1:{self.proxy_port}", "--auth-addr", f"127.0.0.1:{self.auth_port}",
                    "--upstream", f"http://127.0.0.1:{self.upstream.server_port}", "--api-id", "api1", "--stage", "prod",
                    "--iamd", "unix://" + sock], penv, self.proxy_port, "iamd proxy")
        self.nginx_port = None
        if shutil.which("nginx") or os.path.exists("/usr/sbin/nginx"):
            self.start_nginx()

    def start(self, argv, env, port, what):
        log = os.path.join(self.dir, what.replace(" ", "-") + ".log")
        self.procs.append(subprocess.Popen(argv, stderr=open(log, "w"), env=env))
        if what == "iamd":
            wait_iamd(port, log)
        else:
            wait_http(port, what, log)

    def start_nginx(self):
        self.nginx_port = free_port()
        prefix = os.path.join(self.dir, "nginx")
        os.makedirs(os.path.join(prefix, "logs"))
        conf = os.path.join(prefix, "nginx.conf")
        with open(conf, "w") as f:
            f.write(f"""
worker_processes 1;
error_log {prefix}/logs/error.log;
pid {prefix}/nginx.pid;
events {{ worker_connections 64; }}
http {{
  access_log off;
  client_body_temp_path {prefix}/body; proxy_temp_path {prefix}/proxy;
  fastcgi_temp_path {prefix}/fcgi; uwsgi_temp_path {prefix}/uwsgi; scgi_temp_path {prefix}/scgi;
  server {{
    listen 127.0.0.1:{self.nginx_port};
{self.readme_locations()}
  }}
}}
""")
        nginx = shutil.which("nginx") or "/usr/sbin/nginx"
        self.nginx_log = open(os.path.join(prefix, "out.log"), "w")
        self.procs.append(subprocess.Popen([nginx, "-p", prefix, "-c", conf, "-g", "daemon off;"], stderr=self.nginx_log))
        wait_http(self.nginx_port, "nginx", os.path.join(prefix, "out.log"))

    def readme_locations(self):
        """The guide's nginx block (docs/http-apis.md), pointed at this test's
        upstream and decision endpoint: the configuration nginx runs is the
        documented one."""
        with open(os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "docs", "http-apis.md")) as f:
            guide = f.read()
        if "```nginx\n" not in guide:
            raise AssertionError("docs/http-apis.md no longer has an nginx block")
        block = guide.split("```nginx\n", 1)[1].split("```", 1)[0]
        for addr in ("127.0.0.1:9000", "127.0.0.1:8701"):
            if addr not in block:
                raise AssertionError(f"the guide's nginx block no longer names {addr}")
        return block.replace("127.0.0.1:9000", f"127.0.0.1:{self.upstream.server_port}").replace("127.0.0.1:8701", f"127.0.0.1:{self.auth_port}")

    def iam(self, key=(ROOT_ID, ROOT_SECRET)):
        return boto3.client("iam", endpoint_url=self.iamd_url, region_name="us-east-1",
                            aws_access_key_id=key[0], aws_secret_access_key=key[1], config=NO_RETRY)

    def stop(self):
        for p in reversed(self.procs):
            p.terminate()
            p.wait(timeout=10)
        self.upstream.shutdown()
        shutil.rmtree(self.dir, ignore_errors=True)


def setUpModule():
    global stack
    stack = Stack()
    iam = stack.iam()
    iam.create_user(UserName="caller")
    iam.put_user_policy(UserName="caller", PolicyName="api", PolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": "execute-api:Invoke", "Resource": "arn:aws:execute-api:us-east-1:123456789012:api1/prod/GET/pets/*"},
        {"Effect": "Allow", "Action": "execute-api:Invoke", "Resource": "arn:aws:execute-api:*:*:api1/*/POST/orders"},
        {"Effect": "Deny", "Action": "execute-api:Invoke", "Resource": "arn:aws:execute-api:us-east-1:123456789012:api1/prod/GET/pets/secret"}]}))
    global caller
    k = iam.create_access_key(UserName="caller")["AccessKey"]
    caller = (k["AccessKeyId"], k["SecretAccessKey"])


def tearDownModule():
    stack.stop()


# (method, path, allowed): the same table for every client and both fronts.
TABLE = [("GET", "/pets/1", True), ("GET", "/pets/secret", False), ("POST", "/orders", True),
         ("DELETE", "/pets/1", False), ("GET", "/orders", False)]


def botocore_call(port, method, path, key, body=b"", extra=None):
    req = botocore.awsrequest.AWSRequest(method=method, url=f"http://127.0.0.1:{port}{path}", data=body, headers=extra or {})
    botocore.auth.SigV4Auth(botocore.credentials.Credentials(*key), "execute-api", "us-east-1").add_auth(req)
    p = req.prepare()
    r = urllib.request.Request(p.url, data=p.body or None, headers=dict(p.headers), method=method)
    try:
        with urllib.request.urlopen(r, timeout=10) as resp:
            return resp.status, json.loads(resp.read())
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode()


def curl_call(port, method, path, key, data=None, extra=()):
    argv = ["curl", "-s", "-o", "-", "-w", "\n%{http_code}", "-X", method, "--aws-sigv4", "aws:amz:us-east-1:execute-api",
            "--user", f"{key[0]}:{key[1]}", f"http://127.0.0.1:{port}{path}"]
    for h in extra:
        argv += ["-H", h]
    if data is not None:
        argv += ["--data-binary", data]
    out = subprocess.run(argv, capture_output=True, text=True, timeout=30).stdout
    body, _, code = out.rpartition("\n")
    return int(code), body


class ProxyTest(unittest.TestCase):
    def test_botocore_sigv4auth(self):
        for method, path, allowed in TABLE:
            status, body = botocore_call(stack.proxy_port, method, path, caller, extra={"X-Iamd-Identity-User-Arn": "spoofed"})
            self.assertEqual(status, 200 if allowed else 403, (method, path, body))
            if allowed:
                self.assertEqual(body["headers"]["X-Iamd-Identity-User-Arn"], "arn:aws:iam::123456789012:user/caller")
                self.assertEqual(body["headers"]["X-Iamd-Identity-Access-Key"], caller[0])
            else:
                self.assertIn("is not authorized to perform: execute-api:Invoke", json.loads(body)["message"])

    def test_curl_aws_sigv4(self):
        for method, path, allowed in TABLE:
            data = "{}" if method == "POST" else None
            status, body = curl_call(stack.proxy_port, method, path, caller, data=data, extra=["X-Iamd-Identity-User-Arn: spoofed"])
            self.assertEqual(status, 200 if allowed else 403, (method, path, body))
            if allowed:
                self.assertEqual(json.loads(body)["headers"]["X-Iamd-Identity-User-Arn"], "arn:aws:iam::123456789012:user/caller")

    def test_refusals(self):
        self.assertEqual(botocore_call(stack.proxy_port, "GET", "/pets/1", (caller[0], caller[1] + "x"))[0], 403)
        status, body = botocore_call(stack.proxy_port, "GET", "/pets/1", ("AKIANOSUCHKEY0000000", "x" * 40))
        self.assertEqual(status, 403)
        self.assertIn("security token", json.loads(body)["message"])
        r = urllib.request.Request(f"http://127.0.0.1:{stack.proxy_port}/pets/1")
        with self.assertRaises(urllib.error.HTTPError) as cm:
            urllib.request.urlopen(r, timeout=10)
        self.assertEqual(cm.exception.code, 403)
        self.assertEqual(json.loads(cm.exception.read())["message"], "Missing Authentication Token")

    def test_nginx_auth_request(self):
        if not stack.nginx_port:
            if os.environ.get("CI") == "true":
                self.fail("nginx is not installed: CI must run the auth_request test")
            self.skipTest("nginx is not installed")
        for method, path, allowed in TABLE:
            if method == "POST":
                continue  # auth_request passes no body: only body-less requests verify
            status, body = curl_call(stack.nginx_port, method, path, caller, extra=["X-Iamd-Identity-User-Arn: spoofed"])
            self.assertEqual(status, 200 if allowed else 403, (method, path, body))
            if allowed:
                self.assertEqual(json.loads(body)["headers"]["X-Iamd-Identity-User-Arn"], "arn:aws:iam::123456789012:user/caller")
        status, _ = curl_call(stack.nginx_port, "GET", "/pets/1", (caller[0], caller[1] + "x"))
        self.assertEqual(status, 401)


if __name__ == "__main__":
    unittest.main()
