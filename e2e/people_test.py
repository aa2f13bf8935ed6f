"""People end to end: console passwords, the password policy and virtual
MFA devices through boto3 and the aws CLI against the iamd binary named by
$IAMD_BIN, with TOTP codes computed here (RFC 6238) as a phone would.
Run from the repository:

    IAMD_BIN=/path/to/iamd python3 -m unittest e2e/people_test.py
"""

import base64
import hashlib
import hmac
import json
import os
import struct
import subprocess
import time
import unittest

import boto3
import botocore.exceptions

from e2e import clients_test
from e2e.clients_test import ACCOUNT, Server, client


def setUpModule():
    global server
    server = Server()
    clients_test.server = server


def tearDownModule():
    server.stop()


def totp(seed_b32, at=None, step_offset=0):
    """The six-digit code of a base32 seed, as an authenticator app shows it."""
    seed = base64.b32decode(seed_b32 + "=" * (-len(seed_b32) % 8))
    n = int((at or time.time()) // 30) + step_offset
    mac = hmac.new(seed, struct.pack(">Q", n), hashlib.sha1).digest()
    off = mac[-1] & 0x0F
    return "%06d" % ((struct.unpack(">I", mac[off:off + 4])[0] & 0x7FFFFFFF) % 1000000)


def wait_next_step():
    """Sleeps into the next 30-second step, so that a new code exists."""
    time.sleep(30 - time.time() % 30 + 0.5)


class PeopleTest(unittest.TestCase):
    def assertError(self, code, status, fn, *args, **kw):
        with self.assertRaises(botocore.exceptions.ClientError) as cm:
            fn(*args, **kw)
        e = cm.exception.response
        self.assertEqual((e["Error"]["Code"], e["ResponseMetadata"]["HTTPStatusCode"]), (code, status), e)
        return e["Error"]["Message"]

    def test_passwords(self):
        iam = client("iam")
        iam.create_user(UserName="pat")
        msg = self.assertError("PasswordPolicyViolation", 400, iam.create_login_profile, UserName="pat", Password="short")
        self.assertIn("minimum length", msg)
        lp = iam.create_login_profile(UserName="pat", Password="Correct-Horse-1", PasswordResetRequired=True)["LoginProfile"]
        self.assertEqual((lp["UserName"], lp["PasswordResetRequired"]), ("pat", True))
        self.assertEqual(iam.get_login_profile(UserName="pat")["LoginProfile"]["UserName"], "pat")
        self.assertError("EntityAlreadyExists", 409, iam.create_login_profile, UserName="pat", Password="Correct-Horse-2")
        self.assertError("NoSuchEntity", 404, iam.get_account_password_policy)
        iam.update_account_password_policy(MinimumPasswordLength=12, RequireSymbols=True, AllowUsersToChangePassword=True,
                                           PasswordReusePrevention=3, MaxPasswordAge=90)
        pp = iam.get_account_password_policy()["PasswordPolicy"]
        self.assertEqual((pp["MinimumPasswordLength"], pp["RequireSymbols"], pp["ExpirePasswords"], pp["MaxPasswordAge"], pp["PasswordReusePrevention"]),
                         (12, True, True, 90, 3))
        self.assertIn("at least one symbol", self.assertError("PasswordPolicyViolation", 400, iam.update_login_profile, UserName="pat",
                                                              Password="NoSymbolsHere12"))
        iam.update_login_profile(UserName="pat", Password="Battery-Staple-22", PasswordResetRequired=False)
        # pat changes its own password, as the policy allows.
        k = iam.create_access_key(UserName="pat")["AccessKey"]
        pat = client("iam", k["AccessKeyId"], k["SecretAccessKey"])
        self.assertError("AccessDenied", 403, pat.change_password, OldPassword="wrong", NewPassword="Brand-New-Pass-9")
        self.assertIn("too recently", self.assertError("PasswordPolicyViolation", 400, pat.change_password, OldPassword="Battery-Staple-22",
                                                       NewPassword="Correct-Horse-1"))
        pat.change_password(OldPassword="Battery-Staple-22", NewPassword="Brand-New-Pass-9!")
        # A password never comes back, and is in no log.
        for secret in ("Battery-Staple-22", "Brand-New-Pass-9!", "argon2"):
            self.assertNotIn(secret, json.dumps(iam.get_login_profile(UserName="pat"), default=str))
            self.assertNotIn(secret, server.logs())
        self.assertError("DeleteConflict", 409, iam.delete_user, UserName="pat")
        iam.delete_login_profile(UserName="pat")
        iam.delete_account_password_policy()
        self.assertError("NoSuchEntity", 404, iam.get_account_password_policy)

    def test_account_alias(self):
        iam = client("iam")
        self.assertEqual(iam.list_account_aliases()["AccountAliases"], [])
        iam.create_account_alias(AccountAlias="acme-prod")
        self.assertEqual(iam.list_account_aliases()["AccountAliases"], ["acme-prod"])
        self.assertError("ValidationError", 400, iam.create_account_alias, AccountAlias="Not_An_Alias")
        self.assertError("NoSuchEntity", 404, iam.delete_account_alias, AccountAlias="other")
        iam.delete_account_alias(AccountAlias="acme-prod")
        self.assertEqual(iam.list_account_aliases()["AccountAliases"], [])

    def test_mfa_with_the_cli(self):
        """A virtual MFA device enabled with boto3; the aws CLI's
        get-session-token --serial-number --token-code then gives a session
        that a force-MFA policy lets through while the key alone is denied;
        a role that requires MFA is assumed only with a code."""
        iam = client("iam")
        iam.create_user(UserName="mia")
        k = iam.create_access_key(UserName="mia")["AccessKey"]
        dev = iam.create_virtual_mfa_device(VirtualMFADeviceName="mia-phone")["VirtualMFADevice"]
        serial, seed = dev["SerialNumber"], dev["Base32StringSeed"].decode()
        self.assertEqual(serial, f"arn:aws:iam::{ACCOUNT}:mfa/mia-phone")
        self.assertRegex(seed, r"^[A-Z2-7]{32}$")
        # The QR code an authenticator app scans, returned this once with the seed.
        self.assertTrue(dev["QRCodePNG"].startswith(b"\x89PNG\r\n\x1a\n"), dev["QRCodePNG"][:8])
        now = time.time()
        self.assertError("InvalidAuthenticationCode", 403, iam.enable_mfa_device, UserName="mia", SerialNumber=serial,
                         AuthenticationCode1=totp(seed, now), AuthenticationCode2=totp(seed, now))
        iam.enable_mfa_device(UserName="mia", SerialNumber=serial, AuthenticationCode1=totp(seed, now, -1), AuthenticationCode2=totp(seed, now))
        listed = iam.list_mfa_devices(UserName="mia")["MFADevices"]
        self.assertEqual([d["SerialNumber"] for d in listed], [serial])
        virtual = iam.list_virtual_mfa_devices(AssignmentStatus="Assigned")["VirtualMFADevices"]
        self.assertEqual(virtual[0]["User"]["UserName"], "mia")
        self.assertNotIn("Base32StringSeed", virtual[0])
        iam.put_user_policy(UserName="mia", PolicyName="force-mfa", PolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": [
            {"Effect": "Allow", "Action": "*", "Resource": "*"},
            {"Effect": "Deny", "Action": "iam:*", "Resource": "*", "Condition": {"BoolIfExists": {"aws:MultiFactorAuthPresent": "false"}}}]}))
        self.assertError("AccessDenied", 403, client("iam", k["AccessKeyId"], k["SecretAccessKey"]).list_users)

        def cli(*args, ok=True):
            env = {k2: v for k2, v in os.environ.items() if not k2.startswith("AWS_")}
            env.update(AWS_ACCESS_KEY_ID=k["AccessKeyId"], AWS_SECRET_ACCESS_KEY=k["SecretAccessKey"], AWS_DEFAULT_REGION="us-east-1",
                       AWS_CONFIG_FILE=os.devnull, AWS_SHARED_CREDENTIALS_FILE=os.devnull, AWS_MAX_ATTEMPTS="1")
            p = subprocess.run(["aws", *args, "--endpoint-url", server.url], capture_output=True, text=True, env=env, timeout=60)
            self.assertEqual(p.returncode == 0, ok, p.stderr + p.stdout)
            return p.stdout if ok else p.stderr

        wait_next_step()  # the enabling codes are spent
        err = cli("sts", "get-session-token", "--serial-number", serial, "--token-code", "000000", ok=False)
        self.assertIn("AccessDenied", err)
        code = totp(seed)
        creds = json.loads(cli("sts", "get-session-token", "--serial-number", serial, "--token-code", code))["Credentials"]
        self.assertIn("AccessDenied", cli("sts", "get-session-token", "--serial-number", serial, "--token-code", code, ok=False),
                      "a code is good once")
        mfa = boto3.client("iam", endpoint_url=server.url, region_name="us-east-1", aws_access_key_id=creds["AccessKeyId"],
                           aws_secret_access_key=creds["SecretAccessKey"], aws_session_token=creds["SessionToken"], config=clients_test.NO_RETRY)
        self.assertIn("mia", [u["UserName"] for u in mfa.list_users()["Users"]])

        iam.create_role(RoleName="mfa-admin", AssumeRolePolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": [{
            "Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:user/mia"}, "Action": "sts:AssumeRole",
            "Condition": {"Bool": {"aws:MultiFactorAuthPresent": "true"}}}]}))
        sts = client("sts", k["AccessKeyId"], k["SecretAccessKey"])
        role = f"arn:aws:iam::{ACCOUNT}:role/mfa-admin"
        self.assertError("AccessDenied", 403, sts.assume_role, RoleArn=role, RoleSessionName="no-mfa")
        wait_next_step()
        sts.assume_role(RoleArn=role, RoleSessionName="with-mfa", SerialNumber=serial, TokenCode=totp(seed))

        self.assertError("DeleteConflict", 409, iam.delete_virtual_mfa_device, SerialNumber=serial)
        iam.deactivate_mfa_device(UserName="mia", SerialNumber=serial)
        iam.delete_virtual_mfa_device(SerialNumber=serial)
        self.assertNotIn(seed, server.logs())


if __name__ == "__main__":
    unittest.main()
