"""README.md as a contract: the example blocks of its client sections run,
as written and in order, in one bash shell in a copy of the repository,
against a server started with the defaults (127.0.0.1:8600, ./iamd-data, a
random account). The sections that need other servers (versitygw, the
proxy's upstream, Swift, PostgreSQL) and the load tool are covered by
their own tests, named in SKIPPED below. Run from the repository:

    IAMD_BIN=/path/to/iamd python3 -m unittest e2e/readme_test.py
"""

import os
import re
import shutil
import socket
import subprocess
import tempfile
import time
import unittest

RUN = ["### aws CLI", "### boto3", "### Go (aws-sdk-go-v2)", "### Lightsail buckets", "## Permissions", "## Temporary credentials"]
SKIPPED = {  # section: the tests that run what it shows
    "### Objects: bucket keys that open their bucket": "cmd/iamd objects_test.go, e2e/objects_test.py",
    "### HTTP APIs: iamd proxy in front, as API Gateway's IAM authorization": "cmd/iamd proxy_test.go, e2e/proxy_test.py",
    "## Performance": "scripts/bench",
    "## PostgreSQL and several nodes": "cmd/iamd multinode_test.go",
}


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


class ReadmeTest(unittest.TestCase):
    def test_examples_run_as_written(self):
        repo = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
        with open(os.path.join(repo, "README.md")) as f:
            readme = f.read()
        first = blocks(readme)[0]
        self.assertIn("go run ./cmd/iamd serve", first[2])  # the server the examples talk to
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", 8600)) == 0:
                self.fail("127.0.0.1:8600 is taken: the README's examples need it")
        tmp = tempfile.mkdtemp(prefix="iamd-readme-")
        work = os.path.join(tmp, "repo")
        shutil.copytree(repo, work, ignore=shutil.ignore_patterns(".git", "iamd-data", "aws-config"))
        os.makedirs(os.path.join(tmp, "home"))
        env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "IAMD_"))}
        env["HOME"] = os.path.join(tmp, "home")
        log = open(os.path.join(tmp, "server.log"), "w+")
        server = subprocess.Popen([os.environ["IAMD_BIN"], "serve"], cwd=work, env=env, stderr=log)
        try:
            deadline = time.time() + 20
            while True:
                try:
                    socket.create_connection(("127.0.0.1", 8600), timeout=0.2).close()
                    break
                except OSError:
                    if time.time() > deadline:
                        self.fail("iamd did not start")
                    time.sleep(0.05)
            script = ["set -euo pipefail"]
            ran = set()
            for section, lang, body in blocks(readme):
                if section in RUN and lang in ("sh", "python"):
                    ran.add(section)
                    if lang == "sh":
                        script.append(body)
                    else:
                        script.append("python3 - <<'README_PY'\n" + body + "README_PY")
            self.assertEqual(ran, set(RUN), "a section to run has no example")
            for section in SKIPPED:
                self.assertIn(section, readme, "SKIPPED names a section the README no longer has")
            p = subprocess.run(["bash", "-c", "\n".join(script)], cwd=work, env=env, capture_output=True, text=True, timeout=600)
            self.assertEqual(p.returncode, 0, "the README's examples failed:\n" + p.stdout[-3000:] + p.stderr[-3000:])
            out = p.stdout
            account = re.search(r'"Account": "(\d{12})"', out).group(1)
            self.assertNotEqual(account, "123456789012", "the server picked the documented account by chance")
            for want in [f"arn:aws:iam::{account}:user/Bob", f"arn:aws:iam::{account}:user/Carol", f"arn:aws:iam::{account}:user/Dave",
                         '"allowed"', f"arn:aws:sts::{account}:assumed-role/deployer/", '"SessionToken"']:
                self.assertIn(want, out)
            log.flush()
            with open(log.name) as f:
                logged = f.read()
            for secret in re.findall(r'"SecretAccessKey": "([^"]+)"', out):
                self.assertNotIn(secret, logged)
        finally:
            server.terminate()
            server.wait(timeout=10)
            log.close()
            shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    unittest.main()
