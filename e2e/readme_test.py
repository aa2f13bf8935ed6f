"""README.md as a contract: every sh and python block after the first
runs, as written and in order, in one bash shell in a copy of the
repository, against a server started with the defaults (127.0.0.1:8600,
./iamd-data, a random account). The first block is the two commands this
test stands for: it starts the server itself (IAMD_BIN), and stops it where
a block starts `iamd serve` again, as the README tells the reader to. Go
blocks are excerpts: each line must be in a program under examples/, which
a block runs. Other blocks are configuration (ini, nginx, json) or output.
Run from the repository:

    IAMD_BIN=/path/to/iamd python3 -m unittest e2e/readme_test.py

It needs what the README's blocks need: the ports below free, versitygw
(scripts/versitygw, cached in IAMD_TOOLS or ~/.cache/iamd), moto_server,
and PostgreSQL's server binaries (without them, and without CI=true, the
PostgreSQL block is skipped, loudly).
"""

import glob
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import unittest

from e2e.harness import wait_iamd

PORTS = [8600, 7070, 8700, 9000, 9001, 8601, 8602]  # the README's servers
CONFIG = {"go", "ini", "nginx", "json", ""}  # blocks that are not run


def blocks(readme):
    """(section, language, body) of every fenced block, in order."""
    out, section, lang, body = [], None, None, None
    for line in readme.split("\n"):
        if body is not None:
            if line.startswith("```"):
                out.append((section, lang, "\n".join(body) + "\n"))
                body = None
            else:
                body.append(line)
        elif line.startswith("```"):
            lang, body = line[3:].strip(), []
        elif line.startswith("#"):
            section = line.strip()
    return out


def go_env(name):
    return subprocess.run(["go", "env", name], capture_output=True, text=True, check=True).stdout.strip()


def has_postgres():
    return bool(os.environ.get("PG_BIN") or glob.glob("/usr/lib/postgresql/*/bin/initdb"))


class ReadmeTest(unittest.TestCase):
    def test_examples_run_as_written(self):
        repo = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
        with open(os.path.join(repo, "README.md")) as f:
            readme = f.read()
        all_blocks = blocks(readme)
        first = all_blocks[0]
        self.assertIn("go run ./cmd/iamd serve", first[2])  # the server the examples talk to
        for port in PORTS:
            with socket.socket() as s:
                if s.connect_ex(("127.0.0.1", port)) == 0:
                    self.fail(f"127.0.0.1:{port} is taken: the README's examples need it")
        examples = ""
        for path in glob.glob(os.path.join(repo, "examples", "*", "*.go")):
            with open(path) as f:
                examples += f.read()
        example_lines = {line.strip() for line in examples.split("\n")}

        tmp = tempfile.mkdtemp(prefix="iamd-readme-")
        work = os.path.join(tmp, "repo")
        shutil.copytree(repo, work, ignore=shutil.ignore_patterns(".git", "iamd-data", "aws-config", "node_modules", "objects", "node-*"))
        os.makedirs(os.path.join(tmp, "home"))
        tools = os.path.dirname(os.path.dirname(os.environ["IAMD_VERSITYGW"])) if os.environ.get("IAMD_VERSITYGW") else \
            os.environ.get("IAMD_TOOLS", os.path.expanduser("~/.cache/iamd"))
        env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "IAMD_"))}
        # A reader's shell has a Go and a tool cache of its own; HOME is new
        # so that the examples' aws configure writes nowhere else.
        env.update(HOME=os.path.join(tmp, "home"), IAMD_TOOLS=tools,
                   GOPATH=go_env("GOPATH"), GOCACHE=go_env("GOCACHE"), GOMODCACHE=go_env("GOMODCACHE"))
        log = open(os.path.join(tmp, "server.log"), "w+")
        server = subprocess.Popen([os.environ["IAMD_BIN"], "serve"], cwd=work, env=env, stderr=log)
        script_proc = None
        try:
            try:
                wait_iamd(8600, log.name, timeout=20)
            except RuntimeError as e:
                self.fail(str(e))
            script = ["set -euo pipefail"]
            restarted = False
            for section, lang, body in all_blocks[1:]:
                if lang in CONFIG:
                    if lang == "go":
                        for line in body.split("\n"):
                            self.assertIn(line.strip(), example_lines, f"{section}: a Go line that no program in examples/ has")
                    continue
                self.assertIn(lang, ("sh", "python"), f"{section}: a block of an unknown kind")
                if "go run ./cmd/iamd serve" in body and not restarted:
                    # "Stop the server of the first command": the test's own.
                    restarted = True
                    script.append(f"kill {server.pid}; while curl -s -o /dev/null http://127.0.0.1:8600/healthz; do sleep 0.1; done")
                if "scripts/with-postgres" in body and not has_postgres():
                    if os.environ.get("CI") == "true":
                        self.fail("PostgreSQL's server binaries are missing under CI=true")
                    print(f"WARNING: {section}: PostgreSQL is not installed; its block is SKIPPED", file=sys.stderr)
                    continue
                if lang == "sh":
                    script.append(body)
                else:
                    script.append("python3 - <<'README_PY'\n" + body + "README_PY")
            self.assertTrue(restarted, "no block restarts the server, as the objects section does")
            out_path, err_path = os.path.join(tmp, "out"), os.path.join(tmp, "err")
            with open(out_path, "w") as out_f, open(err_path, "w") as err_f:
                # Its own session, so that what the blocks leave running
                # (servers, versitygw, the proxy) is stopped with it.
                script_proc = subprocess.Popen(["bash", "-c", "\n".join(script)], cwd=work, env=env,
                                               stdout=out_f, stderr=err_f, start_new_session=True)
                try:
                    rc = script_proc.wait(timeout=900)
                except subprocess.TimeoutExpired:
                    rc = "timeout"
            with open(out_path) as f:
                out = f.read()
            with open(err_path) as f:
                err = f.read()
            self.assertEqual(rc, 0, "the README's examples failed:\n" + out[-3000:] + "\n--- stderr\n" + err[-5000:])
            account = re.search(r'"Account": "(\d{12})"', out).group(1)
            self.assertNotEqual(account, "123456789012", "the server picked the documented account by chance")
            for want in [f"arn:aws:iam::{account}:user/Bob", f"arn:aws:iam::{account}:user/Carol", f"arn:aws:iam::{account}:user/Dave",
                         "upload: ./README.md to s3://photos/README.md",  # a bucket key through versitygw
                         "Directory listing for /",  # the upstream, through iamd proxy
                         f"orders of arn:aws:iam::{account}:root",  # iamdauth in examples/orders
                         '"allowed"', f"arn:aws:sts::{account}:assumed-role/deployer/", '"SessionToken"']:
                self.assertIn(want, out)
            self.assertGreaterEqual(out.count('{"message":"Missing Authentication Token"}'), 2, "unsigned requests to the proxy and the service")
            for op in ("caller-identity", "create-delete"):  # the load tool's report: a line per target, no errors
                for target in ("iamd", "null", "moto"):
                    self.assertRegex(out, rf"(?m)^{op}\s+{target}\s+8\s+\d+\s+\S+\s+\S+\s+0\s", f"no clean {op} line for {target}")
            if has_postgres():
                self.assertRegex(out, r'"arn:aws:iam::\d{12}:user/frank"', "a user made on one node, read on the other")
            log.flush()
            with open(log.name) as f:
                logged = f.read() + err
            secrets = re.findall(r'"SecretAccessKey": "([^"]+)"', out)
            with open(os.path.join(work, "iamd-data", "root-credentials")) as f:
                secrets += re.findall(r"aws_secret_access_key = (\S+)", f.read())
            self.assertGreater(len(secrets), 1)
            for secret in secrets:
                self.assertNotIn(secret, logged, "a secret in a server's log")
        finally:
            if script_proc is not None:
                for sig in (signal.SIGTERM, signal.SIGKILL):
                    try:
                        os.killpg(script_proc.pid, sig)
                    except ProcessLookupError:
                        break
                    time.sleep(1)
            if server.poll() is None:
                server.terminate()
                server.wait(timeout=10)
            log.close()
            shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    unittest.main()
