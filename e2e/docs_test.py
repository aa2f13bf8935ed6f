"""The README and the guides as a contract: every sh and python block runs,
as written and in order (README.md, then the guides in GUIDES' order), in
one bash shell in a copy of the repository, against a server started with
the defaults (127.0.0.1:8600, ./iamd-data, a random account). The README's
first block is the two commands this test stands for: it starts the server
itself (IAMD_BIN), and stops it where a block starts `go run ./cmd/iamd
serve` again, as the objects guide tells the reader to. A block preceded by
`<!-- docs-test: skip (why) -->` is not run, and why is printed. Go blocks
are excerpts: each line must be in a program under examples/, which a block
runs. Other blocks are configuration (ini, nginx, json, yaml) or output.
Run from the repository:

    IAMD_BIN=/path/to/iamd python3 -m unittest e2e/docs_test.py

It needs what the blocks need: the ports below free, versitygw
(scripts/versitygw, cached in IAMD_TOOLS or ~/.cache/iamd), moto_server,
Terraform with the hashicorp/aws provider mirror (IAMD_TF_PLUGINS, or a
directory named tf-plugins), and PostgreSQL's server binaries (without the
last two, and without CI=true, their blocks are skipped, loudly).
"""

import glob
import hashlib
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

PORTS = [8600, 7070, 8700, 9000, 9001, 8601, 8602, 8443]  # the guides' servers
CONFIG = {"go", "ini", "nginx", "json", "yaml", "hcl", ""}  # blocks that are not run
GUIDES = ["README.md", "docs/clients.md", "docs/iam.md", "docs/temporary-credentials.md", "docs/federation.md", "docs/objects.md",
          "docs/http-apis.md", "docs/openstack.md", "docs/OPERATIONS.md", "docs/PERFORMANCE.md", "docs/SECURITY.md",
          "docs/DEVELOPMENT.md"]
# What iamd itself keeps in its data dir; a guide adds nothing there.
DATA_FILES = {"iamd.db", "iamd.db-wal", "iamd.db-shm", "iamd.db.lock", "master.key", "root-credentials"}
SKIP = re.compile(r"^<!-- docs-test: skip \((.+)\) -->$")


def blocks(text, doc):
    """(where, language, body, skip reason or None) of every fenced block."""
    out, section, lang, body, skip, prev = [], doc, None, None, None, ""
    for line in text.split("\n"):
        if body is not None:
            if line.startswith("```"):
                out.append((section, lang, "\n".join(body) + "\n", skip))
                body = None
            else:
                body.append(line)
        elif line.startswith("```"):
            m = SKIP.match(prev)
            lang, body, skip = line[3:].strip(), [], m.group(1) if m else None
        elif line.startswith("#"):
            section = f"{doc} {line.strip()}"
        prev = line
    return out


def go_env(name):
    return subprocess.run(["go", "env", name], capture_output=True, text=True, check=True).stdout.strip()


def has_postgres():
    return bool(os.environ.get("PG_BIN") or glob.glob("/usr/lib/postgresql/*/bin/initdb"))


def terraform_mirror():
    """The hashicorp/aws provider mirror, or None."""
    if not shutil.which("terraform"):
        return None
    for d in [os.environ.get("IAMD_TF_PLUGINS", "")] + glob.glob("/*/tf-plugins") + glob.glob("/*/*/tf-plugins"):
        if d and os.path.isdir(os.path.join(d, "registry.terraform.io", "hashicorp", "aws")):
            return d
    return None


def listing(root, skip_dirs):
    out = set()
    for d, dirs, files in os.walk(root):
        dirs[:] = [x for x in dirs if os.path.join(d, x) not in skip_dirs]
        out.update(os.path.relpath(os.path.join(d, f), root) for f in files)
    return out


class DocsTest(unittest.TestCase):
    def test_every_guide_is_covered(self):
        repo = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
        have = {os.path.relpath(p, repo) for p in glob.glob(os.path.join(repo, "docs", "*.md"))}
        self.assertEqual(have, set(GUIDES) - {"README.md"}, "a guide in docs/ that this test does not run, or one it lists that is gone")

    def test_examples_run_as_written(self):
        repo = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
        all_blocks = []
        for doc in GUIDES:
            with open(os.path.join(repo, doc)) as f:
                all_blocks += blocks(f.read(), doc)
        first = all_blocks[0]
        self.assertIn("go run ./cmd/iamd serve", first[2])  # the server the examples talk to
        self.assertIn("scripts/test", first[2])
        for port in PORTS:
            with socket.socket() as s:
                if s.connect_ex(("127.0.0.1", port)) == 0:
                    self.fail(f"127.0.0.1:{port} is taken: the guides' examples need it")
        examples = ""
        for path in glob.glob(os.path.join(repo, "examples", "*", "*.go")):
            with open(path) as f:
                examples += f.read()
        example_lines = {line.strip() for line in examples.split("\n")}

        tmp = tempfile.mkdtemp(prefix="iamd-docs-")
        work = os.path.join(tmp, "repo")
        shutil.copytree(repo, work, ignore=shutil.ignore_patterns(".git", "iamd-data", "node_modules", "dist"))
        home = os.path.join(tmp, "home")
        os.makedirs(home)
        tools = os.path.dirname(os.path.dirname(os.environ["IAMD_VERSITYGW"])) if os.environ.get("IAMD_VERSITYGW") else \
            os.environ.get("IAMD_TOOLS", os.path.expanduser("~/.cache/iamd"))
        env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "IAMD_", "TF_"))}
        # A reader's shell has a Go and a tool cache of its own; HOME is new
        # so that the examples write nowhere else.
        env.update(HOME=home, IAMD_TOOLS=tools, GOPATH=go_env("GOPATH"), GOCACHE=go_env("GOCACHE"), GOMODCACHE=go_env("GOMODCACHE"),
                   CHECKPOINT_DISABLE="1", TF_IN_AUTOMATION="1")
        mirror = terraform_mirror()
        if mirror:
            # What a reader's ~/.terraformrc says where the registry is out
            # of reach: the provider from the machine's mirror.
            rc = os.path.join(tmp, "cli.tfrc")
            with open(rc, "w") as f:
                f.write('provider_installation {\n  filesystem_mirror {\n    path = "%s"\n    include = ["registry.terraform.io/hashicorp/aws"]\n  }\n'
                        '  direct {\n    exclude = ["registry.terraform.io/hashicorp/aws"]\n  }\n}\n' % mirror)
            env["TF_CLI_CONFIG_FILE"] = rc
        before = listing(work, {os.path.join(work, "iamd-data")})
        log = open(os.path.join(tmp, "server.log"), "w+")
        server = subprocess.Popen([os.environ["IAMD_BIN"], "serve"], cwd=work, env=env, stderr=log)
        script_proc = None
        skipped = []
        try:
            try:
                wait_iamd(8600, log.name, timeout=20)
            except RuntimeError as e:
                self.fail(str(e))
            with open(os.path.join(work, "iamd-data", "root-credentials"), "rb") as f:
                root_creds = hashlib.sha256(f.read()).hexdigest()
            script = ["set -euo pipefail"]
            restarted = False
            for section, lang, body, skip in all_blocks[1:]:
                if skip:
                    skipped.append(f"{section}: {skip}")
                    continue
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
                    skipped.append(f"{section}: PostgreSQL is not installed")
                    continue
                if "terraform " in body and not mirror:
                    if os.environ.get("CI") == "true":
                        self.fail("terraform or its hashicorp/aws provider mirror is missing under CI=true")
                    print(f"WARNING: {section}: terraform or its provider mirror is missing; its block is SKIPPED", file=sys.stderr)
                    skipped.append(f"{section}: terraform is not installed")
                    continue
                if lang == "sh":
                    script.append(body)
                else:
                    script.append("python3 - <<'README_PY'\n" + body + "README_PY")
            self.assertTrue(restarted, "no block restarts the server, as the objects guide does")
            out_path, err_path = os.path.join(tmp, "out"), os.path.join(tmp, "err")
            with open(out_path, "w") as out_f, open(err_path, "w") as err_f:
                # Its own session, so that what the blocks leave running
                # (servers, versitygw, the proxy) is stopped with it.
                script_proc = subprocess.Popen(["bash", "-c", "\n".join(script)], cwd=work, env=env,
                                               stdout=out_f, stderr=err_f, start_new_session=True)
                try:
                    rc = script_proc.wait(timeout=1200)
                except subprocess.TimeoutExpired:
                    rc = "timeout"
            with open(out_path) as f:
                out = f.read()
            with open(err_path) as f:
                err = f.read()
            self.assertEqual(rc, 0, "the guides' examples failed:\n" + out[-3000:] + "\n--- stderr\n" + err[-5000:])
            account = re.search(r"arn:aws:iam::(\d{12}):user/Bob", out).group(1)
            self.assertNotEqual(account, "123456789012", "the server picked the documented account by chance")
            for want in [f"arn:aws:iam::{account}:user/Bob", f"arn:aws:iam::{account}:user/Carol", f"arn:aws:iam::{account}:user/Dave",
                         f"arn:aws:iam::{account}:user/team-a/Frida",
                         f"arn:aws:iam::{account}:root",  # signed for eu-west-1
                         "upload: ./README.md to s3://photos/README.md",  # a bucket key through versitygw
                         "http://127.0.0.1:7070/photos/",  # the bucket's url on the object store
                         "Directory listing for /",  # the upstream, through iamd proxy
                         "is not authorized to perform: execute-api:Invoke",  # a DELETE the caller may not make
                         f"orders of arn:aws:iam::{account}:user/api-client",  # iamdauth in examples/orders
                         '"allowed"', f"arn:aws:sts::{account}:assumed-role/deployer/", '"SessionToken"',
                         f"arn:aws:sts::{account}:assumed-role/ci-reader/"]:  # a web identity, from the npm issuer
                self.assertIn(want, out)
            self.assertGreaterEqual(out.count('{"message":"Missing Authentication Token"}'), 2, "unsigned requests to the proxy and the service")
            for op in ("caller-identity", "create-delete"):  # the load tool's report: a line per target, no errors
                for target in ("iamd", "null", "moto"):
                    self.assertRegex(out, rf"(?m)^{op}\s+{target}\s+8\s+\d+\s+\S+\s+\S+\s+0\s", f"no clean {op} line for {target}")
            if mirror:
                self.assertIn("Apply complete! Resources: 6 added", out)
                self.assertIn("No changes.", out)
                self.assertIn("Destroy complete! Resources: 6 destroyed", out)
            if has_postgres():
                self.assertRegex(out, r'"arn:aws:iam::\d{12}:user/frank"', "a user made on one node, read on the other")

            # The guides leave iamd's data dir as iamd keeps it, and the
            # checkout without new files.
            data = set(os.listdir(os.path.join(work, "iamd-data")))
            self.assertTrue(data <= DATA_FILES, f"files the guides wrote into iamd-data: {sorted(data - DATA_FILES)}")
            with open(os.path.join(work, "iamd-data", "root-credentials"), "rb") as f:
                self.assertEqual(hashlib.sha256(f.read()).hexdigest(), root_creds, "a guide changed iamd-data/root-credentials")
            new = listing(work, {os.path.join(work, "iamd-data")}) - before
            self.assertEqual(new, set(), "files the guides left in the checkout")

            log.flush()
            with open(log.name) as f:
                logged = f.read() + err
            secrets = re.findall(r'"SecretAccessKey": "([^"]+)"', out)
            with open(os.path.join(work, "iamd-data", "root-credentials")) as f:
                secrets += re.findall(r"aws_secret_access_key = (\S+)", f.read())
            self.assertGreater(len(secrets), 1)
            for secret in secrets:
                self.assertNotIn(secret, logged, "a secret in a server's log")
            for s in skipped:
                print(f"docs: not run: {s}", file=sys.stderr)
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
