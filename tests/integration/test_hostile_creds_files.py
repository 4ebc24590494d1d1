"""Shared credentials and config files as people really write them: CRLF line
ends, comments, odd spacing, missing keys, a BOM, duplicate sections, unreadable files.
Each case is resolved twice with the same files and environment: by our credential chain
(tests/tools/awscall --whoami) and by botocore.session (what the AWS CLI uses), each in a
child process of the same user, and the outcomes must agree: the same access key id and
session-ness, or both refusing. Unreadable files: when the tests run as root, both
children run without CAP_DAC_OVERRIDE and CAP_DAC_READ_SEARCH (setpriv(1)), so that
root's file modes bind them as anyone else's."""
import json
import os
import shutil
import subprocess
import sys
import tempfile
import unittest

import bed

SECRET = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"
NO_DAC = ["setpriv", "--bounding-set", "-dac_override,-dac_read_search"]

BOTOCORE = r"""
import json, botocore.session
try:
    c = botocore.session.Session().get_credentials()
    out = None if c is None else ["ok", c.access_key, c.token is not None]
except Exception as e:
    out = ["error", type(e).__name__]
print(json.dumps(out))
"""

CASES = {
    # name: (credentials file, config file, AWS_PROFILE or None)
    "crlf": ("[default]\r\naws_access_key_id = AKIDCRLF\r\naws_secret_access_key = "
             + SECRET + "\r\n", None, None),
    "comments": ("# a comment\n; another\n[default]\n# aws_access_key_id = AKIDWRONG\n"
                 "aws_access_key_id = AKIDCOMMENT\naws_secret_access_key = " + SECRET + "\n",
                 None, None),
    "inline_semicolon_is_value": ("[default]\naws_access_key_id = AKIDINLINE ; note\n"
                                  "aws_secret_access_key = " + SECRET + "\n", None, None),
    "odd_spacing": ("\n\n[default]   \naws_access_key_id\t=\t  AKIDSPACE  \n"
                    "aws_secret_access_key:" + SECRET + "   \n\n", None, None),
    "indented_key_continues_value": ("[default]\naws_access_key_id = AKIDCONT\n"
                                     "  aws_secret_access_key = " + SECRET + "\n", None, None),
    "spaces_in_section_name": ("[ default ]\naws_access_key_id = AKIDSPSEC\n"
                               "aws_secret_access_key = " + SECRET + "\n", None, None),
    "upper_case_keys": ("[default]\nAWS_ACCESS_KEY_ID = AKIDUPPER\nAWS_SECRET_ACCESS_KEY = "
                        + SECRET + "\n", None, None),
    "missing_secret": ("[default]\naws_access_key_id = AKIDHALF\n", None, None),
    "missing_id": ("[default]\naws_secret_access_key = " + SECRET + "\n", None, None),
    "empty_values": ("[default]\naws_access_key_id =\naws_secret_access_key =\n", None, None),
    "session_token": ("[default]\naws_access_key_id = ASIATOKEN\naws_secret_access_key = "
                      + SECRET + "\naws_session_token = tok\n", None, None),
    "bom": ("\ufeff[default]\naws_access_key_id = AKIDBOM\naws_secret_access_key = "
            + SECRET + "\n", None, None),
    "duplicate_section": ("[default]\naws_access_key_id = AKIDONE\n[default]\n"
                          "aws_secret_access_key = " + SECRET + "\n", None, None),
    "duplicate_key": ("[default]\naws_access_key_id = AKIDONE\naws_access_key_id = AKIDTWO\n"
                      "aws_secret_access_key = " + SECRET + "\n", None, None),
    "no_section_header": ("aws_access_key_id = AKIDNOSEC\naws_secret_access_key = "
                          + SECRET + "\n", None, None),
    "keys_in_config_profile": (None, "[profile dev]\r\naws_access_key_id = AKIDCONFIG\r\n"
                               "aws_secret_access_key = " + SECRET + "\r\n", "dev"),
    "profile_keyword_in_credentials": ("[profile dev]\naws_access_key_id = AKIDPROF\n"
                                       "aws_secret_access_key = " + SECRET + "\n", None, "dev"),
    "credentials_override_config": ("[dev]\naws_access_key_id = AKIDCREDS\n"
                                    "aws_secret_access_key = " + SECRET + "\n",
                                    "[profile dev]\naws_access_key_id = AKIDCONF\n"
                                    "aws_secret_access_key = " + SECRET + "\n", "dev"),
}

# name: (credentials mode, config mode, credentials file, AWS_PROFILE)
PERMISSIONS = {
    "unreadable_credentials": (0o000, 0o644, "[default]\naws_access_key_id = AKIDPERM\n"
                               "aws_secret_access_key = " + SECRET + "\n", None),
    "unreadable_config": (0o600, 0o000, "[default]\naws_access_key_id = AKIDPERM2\n"
                          "aws_secret_access_key = " + SECRET + "\n", None),
    "world_writable": (0o666, 0o666, "[default]\naws_access_key_id = AKIDWORLD\n"
                       "aws_secret_access_key = " + SECRET + "\n", None),
}


class CredentialFilesTest(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="asgswap-creds-files-")
        os.chmod(self.dir, 0o755)
        self.addCleanup(subprocess.run, ["rm", "-rf", self.dir])

    def files(self, name, creds, config):
        paths = {}
        for kind, text in (("credentials", creds), ("config", config)):
            path = os.path.join(self.dir, f"{name}.{kind}")
            if text is not None:
                with open(path, "w", newline="", encoding="utf-8") as f:
                    f.write(text)
            paths[kind] = path
        return paths

    def env(self, paths, profile):
        env = bed.base_env(AWS_SHARED_CREDENTIALS_FILE=paths["credentials"],
                           AWS_CONFIG_FILE=paths["config"], AWS_ACCESS_KEY_ID=None,
                           AWS_SECRET_ACCESS_KEY=None, AWS_PROFILE=profile,
                           AWS_ENDPOINT_URL="http://127.0.0.1:9", HOME=self.dir)
        return env

    def both(self, env, wrap=()):
        """(ours, botocore's, botocore's raw) outcome: ["ok", key id, has token] or
        "refused". botocore hands out credentials with an empty key id (the call then
        fails at AWS); we refuse them up front: both count as refused."""
        wrap = list(wrap)
        p = subprocess.run(wrap + [bed.binary("awscall"), "--whoami"], env=env,
                           capture_output=True, text=True, timeout=30)
        fields = dict(line.split("=", 1) for line in p.stdout.splitlines() if "=" in line)
        ours = (["ok", fields["access_key_id"], fields["session"] == "yes"]
                if p.returncode == 0 else "refused")
        if p.returncode != 0:
            lines = p.stderr.strip().splitlines()
            self.assertEqual(len(lines), 1, p.stderr)
            self.assertRegex(lines[0], r"^awscall: error: ")
            self.assertNotIn(SECRET, p.stderr)
        b = subprocess.run(wrap + [sys.executable, "-c", BOTOCORE], env=env,
                           capture_output=True, text=True, timeout=60)
        self.assertEqual(b.returncode, 0, b.stderr)
        theirs = json.loads(b.stdout)
        ok = theirs and theirs[0] == "ok" and theirs[1]
        return ours, theirs if ok else "refused", theirs

    def test_files_read_as_the_aws_cli_reads_them(self):
        for name, (creds, config, profile) in CASES.items():
            with self.subTest(case=name):
                env = self.env(self.files(name, creds, config), profile)
                ours, theirs, raw = self.both(env)
                self.assertEqual(ours, theirs, f"botocore: {raw}")

    @unittest.skipUnless(os.geteuid() == 0 and shutil.which("setpriv"),
                         "needs root and setpriv(1) to drop the DAC capabilities")
    def test_permissions(self):
        for name, (cmode, fmode, creds, profile) in PERMISSIONS.items():
            with self.subTest(case=name):
                paths = self.files(name, creds, "[default]\nregion = us-east-1\n")
                os.chmod(paths["credentials"], cmode)
                os.chmod(paths["config"], fmode)
                for p in paths.values():
                    os.chown(p, 0, 0)
                ours, theirs, raw = self.both(self.env(paths, profile), NO_DAC)
                self.assertEqual(ours, theirs, f"botocore: {raw}")
        # Keys in the environment win over an unreadable file, as for the AWS CLI.
        paths = self.files("env_wins", "[default]\n", "[default]\n")
        os.chmod(paths["credentials"], 0)
        env = dict(self.env(paths, None), AWS_ACCESS_KEY_ID="AKIDENV",
                   AWS_SECRET_ACCESS_KEY=SECRET)
        ours, theirs, raw = self.both(env, NO_DAC)
        self.assertEqual(ours, ["ok", "AKIDENV", False])
        self.assertEqual(ours, theirs, f"botocore: {raw}")


if __name__ == "__main__":
    unittest.main()
