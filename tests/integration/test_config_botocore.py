"""Differential test of AWS configuration: for each case, a temporary HOME with config and
credentials files plus an environment, botocore's answer (what its first request carries,
or the exception it raises) against what `asgswap status` sends.

Both sides talk to one recording server on loopback. It answers DescribeAutoScalingGroups
(empty), STS AssumeRole and AssumeRoleWithWebIdentity (credentials derived from the role,
the signing key or web identity token, the external id and a configured session name, so
that a different chain gives different keys), and, as an HTTPS proxy, records the host of
a CONNECT and refuses it: that is how a default endpoint (https://...amazonaws.com) is seen
without leaving the machine. Compared per case: the STS calls (action and where they
went), then the first other request: where it went, the key id, region and service of its
Credential scope, and its X-Amz-Security-Token. When botocore raises before sending,
asgswap must exit 2 with one error line and send nothing.

Deliberate differences (also in asgswap(1), ENVIRONMENT AND CONFIGURATION): each case
marked `differ` asserts asgswap's answer and that botocore's is indeed another one, and
test_deliberate_differences_are_documented that the man page names it:
- region_aws_region_first: AWS_REGION is read before AWS_DEFAULT_REGION (AWS CLI v2, the
  other SDKs); botocore reads only AWS_DEFAULT_REGION.
- region_from_imds: with no region configured asgswap asks IMDS; botocore raises
  NoRegionError.
- region_empty_env, empty_key_id: botocore signs for an empty region or with an empty key
  id; asgswap refuses both (exit 2).
- ep_option_applies_to_sts: --endpoint-url is used for STS too (emulators); botocore's
  assume-role client does not see the client's endpoint_url.
- credential_process_refused: botocore runs the process; asgswap refuses the profile.
Not observable here, and documented only: mfa_serial is refused (botocore prompts), a
duration_seconds outside 900..43200 is refused (botocore sends it), a source_profile chain
is at most 32 profiles (botocore has no bound).
"""
import hashlib
import os
import re
import tempfile
import threading
import unittest
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from unittest import mock

import botocore.config
import botocore.exceptions
import botocore.session

import bed
from imds import Imds

SECRET = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"
ROLE = "arn:aws:iam::123456789012:role/"
STS_ACTIONS = ("AssumeRole", "AssumeRoleWithWebIdentity", "container")


def derived(action, params, signer):
    """The credentials the recorder hands out for one STS call."""
    name = params.get("RoleSessionName", "")
    if name.startswith(("botocore-session-", "asgswap-")):
        name = ""  # each side's default, not configuration
    h = hashlib.sha256("|".join([action, params.get("RoleArn", ""), signer or "",
                                 params.get("WebIdentityToken", ""),
                                 params.get("ExternalId", ""), name]).encode()).hexdigest()
    return "ASIA" + h[:16].upper(), h[16:56], "tok" + h[:24]


class Recorder(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    lock = threading.Lock()
    records = []

    def log_message(self, *args):
        pass

    def record(self, **r):
        with Recorder.lock:
            Recorder.records.append(r)

    def do_CONNECT(self):
        self.record(action=None, where="connect " + self.path)
        self.send_response(403)
        self.send_header("Content-Length", "0")
        self.send_header("Connection", "close")
        self.end_headers()
        self.close_connection = True

    def do_GET(self):
        # a container credentials endpoint: keys named after the path and the token
        auth = self.headers.get("Authorization") or ""
        self.record(action="container", where=self.path, key=None, region=None, service=None,
                    token=auth)
        h = hashlib.sha256(f"{self.path}|{auth}".encode()).hexdigest()
        body = ('{"AccessKeyId": "ASIAC%s", "SecretAccessKey": "%s", "Token": "ctok%s", '
                '"Expiration": "2099-01-01T00:00:00Z"}' % (h[:15].upper(), h[16:56], h[:20]))
        bed.send_body(self, 200, body.encode(), "application/json")

    def do_POST(self):
        n = int(self.headers.get("Content-Length") or 0)
        params = dict(urllib.parse.parse_qsl(self.rfile.read(n).decode(), keep_blank_values=True))
        auth = self.headers.get("Authorization") or ""
        scope = [None] * 5
        if "Credential=" in auth:
            scope = auth.split("Credential=", 1)[1].split(",", 1)[0].split("/")
        action = params.get("Action")
        self.record(action=action, where=self.path, key=scope[0], region=scope[2],
                    service=scope[3], token=self.headers.get("X-Amz-Security-Token"))
        if action in STS_ACTIONS and "denied" in params.get("RoleArn", ""):
            body = ("<ErrorResponse><Error><Type>Sender</Type><Code>AccessDenied</Code>"
                    "<Message>not authorized to assume the role</Message></Error>"
                    "<RequestId>r</RequestId></ErrorResponse>")
            bed.send_body(self, 403, body.encode(), "text/xml")
            return
        if action in STS_ACTIONS:
            key, secret, token = derived(action, params, scope[0])
            body = (f"<{action}Response xmlns=\"https://sts.amazonaws.com/doc/2011-06-15/\">"
                    f"<{action}Result><Credentials><AccessKeyId>{key}</AccessKeyId>"
                    f"<SecretAccessKey>{secret}</SecretAccessKey>"
                    f"<SessionToken>{token}</SessionToken>"
                    "<Expiration>2099-01-01T00:00:00Z</Expiration></Credentials>"
                    f"</{action}Result></{action}Response>")
        else:
            body = ("<DescribeAutoScalingGroupsResponse xmlns=\"http://autoscaling.amazonaws.com"
                    "/doc/2011-01-01/\"><DescribeAutoScalingGroupsResult><AutoScalingGroups/>"
                    "</DescribeAutoScalingGroupsResult><ResponseMetadata><RequestId>r"
                    "</RequestId></ResponseMetadata></DescribeAutoScalingGroupsResponse>")
        bed.send_body(self, 200, body.encode(), "text/xml")


def summary(records):
    """What a run sent: its STS calls, then the first other request (or None)."""
    sts = [(r["action"], r["where"]) for r in records if r["action"] in STS_ACTIONS]
    first = next((r for r in records if r["action"] not in STS_ACTIONS), None)
    if first is None:
        return {"sts": sts, "sent": None}
    return {"sts": sts, "sent": {k: first.get(k) for k in
                                 ("where", "key", "region", "service", "token")}}


class Case:
    def __init__(self, name, config=None, creds=None, env=None, args=(), files=None,
                 differ=None, expect=None, message=None, endpoint=True, doc=None):
        self.name, self.config, self.creds = name, config, creds
        self.env, self.args, self.files = env or {}, list(args), files or {}
        # differ: why asgswap deliberately answers otherwise; expect: asgswap's answer
        # (a dict matched against the summary, or "error")
        self.differ, self.expect, self.message, self.endpoint = differ, expect, message, endpoint
        self.doc = doc  # what asgswap(1) says about a deliberate difference


K = {"AWS_ACCESS_KEY_ID": "AKIDENV", "AWS_SECRET_ACCESS_KEY": SECRET}
R = {"AWS_DEFAULT_REGION": "us-west-2"}
WI = {"AWS_ROLE_ARN": ROLE + "wi", "AWS_WEB_IDENTITY_TOKEN_FILE": "{home}/wi-token"}
TOKEN = {"wi-token": "header.payload.signature"}
IMDS = {"AWS_EC2_METADATA_DISABLED": None, "AWS_EC2_METADATA_SERVICE_ENDPOINT": "{imds}"}
CONTAINER = {"AWS_CONTAINER_CREDENTIALS_FULL_URI": "{ep}/container-creds",
             "AWS_CONTAINER_AUTHORIZATION_TOKEN": "Bearer c-1"}
PROCESS = "credential_process = {home}/proc.sh\n"
PROC_FILE = {"proc.sh": "#!/bin/sh\necho '{\"Version\": 1, \"AccessKeyId\": \"AKIDPROC\", "
             f"\"SecretAccessKey\": \"{SECRET}\"}}'\n"}


def keys(kid, extra=""):
    return f"aws_access_key_id = {kid}\naws_secret_access_key = {SECRET}\n{extra}"


CASES = [
    # ---- region: option, environment, profile, credentials file, validation
    Case("region_from_env", env=dict(K, AWS_DEFAULT_REGION="eu-west-1")),
    Case("region_from_profile", config="[default]\nregion = ap-south-1\n", env=K),
    Case("region_env_over_profile", config="[default]\nregion = ap-south-1\n",
         env=dict(K, AWS_DEFAULT_REGION="eu-west-1")),
    Case("region_option_over_env", env=dict(K, AWS_DEFAULT_REGION="eu-west-1"),
         args=["--region", "ca-central-1"]),
    Case("region_named_profile", config="[default]\nregion = eu-west-1\n"
         "[profile p]\nregion = sa-east-1\n", env=dict(K, AWS_PROFILE="p")),
    Case("region_default_profile_env", config="[profile p]\nregion = sa-east-1\n"
         "[profile q]\nregion = eu-west-3\n",
         env=dict(K, AWS_PROFILE="q", AWS_DEFAULT_PROFILE="p")),
    Case("region_in_credentials_file", creds="[default]\nregion = eu-central-1\n", env=K),
    Case("region_credentials_file_over_config", config="[default]\nregion = eu-west-1\n",
         creds="[default]\nregion = eu-central-1\n", env=K),
    Case("region_missing", env=K),
    Case("region_not_from_default_profile", config="[default]\nregion = eu-west-1\n"
         "[profile p]\noutput = json\n", env=dict(K, AWS_PROFILE="p")),
    Case("region_invalid_env", env=dict(K, AWS_DEFAULT_REGION="us east 1")),
    Case("region_invalid_profile", config="[default]\nregion = us_east_1\n", env=K),
    Case("region_all_digits", env=dict(K, AWS_DEFAULT_REGION="12345")),
    Case("region_empty_env", env=dict(K, AWS_DEFAULT_REGION=""),
         differ="botocore signs for an empty region; asgswap refuses it", expect="error",
         doc="An empty region"),
    Case("region_aws_region_first", env=dict(K, AWS_REGION="eu-north-1",
                                             AWS_DEFAULT_REGION="eu-west-1"),
         differ="AWS_REGION is read before AWS_DEFAULT_REGION, as AWS CLI v2 and the other "
         "SDKs do", expect={"sent": {"region": "eu-north-1"}},
         doc="AWS_REGION is read before AWS_DEFAULT_REGION"),
    Case("region_from_imds", env=dict(K, **IMDS),
         differ="with no region configured asgswap asks IMDS; botocore raises NoRegionError",
         expect={"sent": {"region": "ap-northeast-3"}}, doc="asks IMDS for the instance's region"),
    Case("region_key_odd_case", config="[default]\nREGION = ap-east-1\n", env=K),
    # ---- credentials from the environment
    Case("env_keys", env=dict(K, **R)),
    Case("env_session_token", env=dict(K, AWS_SESSION_TOKEN="envtok", **R)),
    Case("env_security_token", env=dict(K, AWS_SECURITY_TOKEN="sectok", **R)),
    Case("env_security_token_first", env=dict(K, AWS_SECURITY_TOKEN="sectok",
                                              AWS_SESSION_TOKEN="envtok", **R)),
    Case("env_empty_security_token", env=dict(K, AWS_SECURITY_TOKEN="",
                                              AWS_SESSION_TOKEN="envtok", **R)),
    Case("env_secret_only_goes_on", creds="[default]\n" + keys("AKIDFILE"),
         env=dict(R, AWS_SECRET_ACCESS_KEY=SECRET)),
    Case("env_secret_only_nothing_else", env=dict(R, AWS_SECRET_ACCESS_KEY=SECRET)),
    Case("env_key_without_secret", creds="[default]\n" + keys("AKIDFILE"),
         env=dict(R, AWS_ACCESS_KEY_ID="AKIDENV")),
    Case("env_empty_key_goes_on", creds="[default]\n" + keys("AKIDFILE"),
         env=dict(R, AWS_ACCESS_KEY_ID="", AWS_SECRET_ACCESS_KEY=SECRET)),
    Case("env_over_aws_profile", creds="[p]\n" + keys("AKIDP"), env=dict(K, AWS_PROFILE="p",
                                                                          **R)),
    Case("explicit_profile_over_aws_profile", creds="[p]\n" + keys("AKIDP") + "[q]\n" + keys("AKIDQ"),
         env=dict(R, AWS_PROFILE="q"), args=["--profile", "p"]),
    Case("explicit_profile_over_env", creds="[p]\n" + keys("AKIDP"), env=dict(K, **R),
         args=["--profile", "p"]),
    # ---- static keys of a profile, one file at a time
    Case("creds_file_default", creds="[default]\n" + keys("AKIDFILE"), env=R),
    Case("config_file_keys", config="[default]\n" + keys("AKIDCONF"), env=R),
    Case("config_file_named_profile", config="[profile dev]\n" + keys("AKIDDEV"),
         env=dict(R, AWS_PROFILE="dev")),
    Case("creds_file_over_config_file", config="[default]\n" + keys("AKIDCONF"),
         creds="[default]\n" + keys("AKIDFILE"), env=R),
    Case("split_id_in_creds_secret_in_config",
         config=f"[default]\naws_secret_access_key = {SECRET}\n",
         creds="[default]\naws_access_key_id = AKIDFILE\n", env=R),
    Case("split_secret_in_creds_id_in_config", config="[default]\naws_access_key_id = AKIDC\n",
         creds=f"[default]\naws_secret_access_key = {SECRET}\n", env=R),
    Case("token_in_other_file_ignored", config="[default]\naws_session_token = conftok\n",
         creds="[default]\n" + keys("AKIDFILE"), env=R),
    Case("file_session_token", creds="[default]\n" + keys("AKIDFILE", "aws_session_token = t1\n"),
         env=R),
    Case("file_security_token_first", creds="[default]\n" + keys(
        "AKIDFILE", "aws_session_token = t1\naws_security_token = t2\n"), env=R),
    Case("file_empty_security_token", creds="[default]\n" + keys(
        "AKIDFILE", "aws_security_token =\naws_session_token = t1\n"), env=R),
    Case("partial_profile", creds="[default]\naws_access_key_id = AKIDFILE\n", env=R),
    Case("profile_not_found_env", creds="[default]\n" + keys("AKIDFILE"),
         env=dict(R, AWS_PROFILE="nope")),
    Case("profile_not_found_option", creds="[default]\n" + keys("AKIDFILE"), env=R,
         args=["--profile", "nope"]),
    Case("no_credentials", config="[default]\nregion = us-west-2\n"),
    Case("no_fallback_to_default_keys", config="[profile p]\nregion = us-west-2\n",
         creds="[default]\n" + keys("AKIDFILE"), env=dict(AWS_PROFILE="p")),
    Case("config_section_without_prefix_is_no_profile", config="[p]\n" + keys("AKIDP"),
         env=dict(R, AWS_PROFILE="p")),
    Case("section_name_trailing_space", creds="[default ]\n" + keys("AKIDSPACE"), env=R),
    Case("empty_key_id", creds=f"[default]\naws_access_key_id =\naws_secret_access_key = {SECRET}\n",
         env=R, differ="botocore signs with an empty access key id; asgswap refuses it",
         expect="error", doc="an empty aws_access_key_id"),
    Case("imds_role_credentials", env=dict(R, **IMDS)),
    Case("imds_after_profile_keys", creds="[default]\n" + keys("AKIDFILE"), env=dict(R, **IMDS)),
    Case("imds_as_credential_source", config=f"[default]\nrole_arn = {ROLE}a\n"
         "credential_source = Ec2InstanceMetadata\n", env=dict(R, **IMDS)),
    # ---- assume role: source_profile, credential_source, chains, loops
    Case("role_source_profile", config=f"[profile a]\nrole_arn = {ROLE}a\nsource_profile = b\n",
         creds="[b]\n" + keys("AKIDB"), env=dict(R, AWS_PROFILE="a")),
    Case("role_chain_two_hops", config=f"[profile a]\nrole_arn = {ROLE}a\nsource_profile = b\n"
         f"[profile b]\nrole_arn = {ROLE}b\nsource_profile = c\n",
         creds="[c]\n" + keys("AKIDC"), env=dict(R, AWS_PROFILE="a")),
    Case("role_source_static_keys_win", config=f"[profile a]\nrole_arn = {ROLE}a\n"
         f"source_profile = b\n[profile b]\nrole_arn = {ROLE}b\nsource_profile = c\n",
         creds="[b]\n" + keys("AKIDB") + "[c]\n" + keys("AKIDC"), env=dict(R, AWS_PROFILE="a")),
    Case("role_self_source", config=f"[profile a]\nrole_arn = {ROLE}a\nsource_profile = a\n",
         creds="[a]\n" + keys("AKIDA"), env=dict(R, AWS_PROFILE="a")),
    Case("role_loop", config=f"[profile a]\nrole_arn = {ROLE}a\nsource_profile = b\n"
         f"[profile b]\nrole_arn = {ROLE}b\nsource_profile = a\n", env=dict(R, AWS_PROFILE="a"),
         message="source_profile loop: a -> b -> a"),
    Case("role_loop_three", config=f"[profile a]\nrole_arn = {ROLE}a\nsource_profile = b\n"
         f"[profile b]\nrole_arn = {ROLE}b\nsource_profile = c\n"
         f"[profile c]\nrole_arn = {ROLE}c\nsource_profile = b\n", env=dict(R, AWS_PROFILE="a"),
         message="source_profile loop: a -> b -> c -> b"),
    Case("role_self_loop_without_keys", config=f"[profile a]\nrole_arn = {ROLE}a\n"
         "source_profile = a\n", env=dict(R, AWS_PROFILE="a")),
    Case("role_loop_broken_by_keys", config=f"[profile a]\nrole_arn = {ROLE}a\n"
         f"source_profile = b\n[profile b]\nrole_arn = {ROLE}b\nsource_profile = a\n",
         creds="[b]\n" + keys("AKIDB"), env=dict(R, AWS_PROFILE="a")),
    Case("role_source_missing", config=f"[profile a]\nrole_arn = {ROLE}a\nsource_profile = x\n",
         env=dict(R, AWS_PROFILE="a")),
    Case("role_source_without_keys", config=f"[profile a]\nrole_arn = {ROLE}a\n"
         "source_profile = b\n[profile b]\nregion = eu-west-1\n", env=dict(R, AWS_PROFILE="a"),
         message="source profile 'b' of profile 'a' has no credentials"),
    Case("role_source_partial_keys", config=f"[profile a]\nrole_arn = {ROLE}a\n"
         "source_profile = b\n", creds="[b]\naws_access_key_id = AKIDB\n",
         env=dict(R, AWS_PROFILE="a")),
    Case("role_source_and_credential_source", config=f"[profile a]\nrole_arn = {ROLE}a\n"
         "source_profile = b\ncredential_source = Environment\n",
         creds="[b]\n" + keys("AKIDB"), env=dict(R, AWS_PROFILE="a")),
    Case("role_without_source", config=f"[profile a]\nrole_arn = {ROLE}a\n",
         env=dict(R, AWS_PROFILE="a")),
    Case("role_empty_arn_beside_keys", creds="[default]\nrole_arn =\n" + keys("AKIDFILE"), env=R),
    Case("role_credential_source_environment", config=f"[profile a]\nrole_arn = {ROLE}a\n"
         "credential_source = Environment\n", env=dict(K, **R), args=["--profile", "a"]),
    Case("role_credential_source_case", config=f"[profile a]\nrole_arn = {ROLE}a\n"
         "credential_source = environment\n", env=dict(K, **R), args=["--profile", "a"]),
    Case("role_credential_source_unknown", config=f"[profile a]\nrole_arn = {ROLE}a\n"
         "credential_source = Somewhere\n", env=dict(K, **R), args=["--profile", "a"]),
    Case("role_external_id_and_session_name", config=f"[profile a]\nrole_arn = {ROLE}a\n"
         "source_profile = b\nexternal_id = ext-1\nrole_session_name = deploy\n",
         creds="[b]\n" + keys("AKIDB"), env=dict(R, AWS_PROFILE="a")),
    Case("role_in_credentials_file", creds=f"[a]\nrole_arn = {ROLE}a\nsource_profile = b\n"
         "[b]\n" + keys("AKIDB"), env=dict(R, AWS_PROFILE="a")),
    Case("role_source_keys_in_config", config=f"[profile a]\nrole_arn = {ROLE}a\n"
         "source_profile = b\n[profile b]\n" + keys("AKIDBCONF"), env=dict(R, AWS_PROFILE="a")),
    Case("role_source_split_keys", config=f"[profile a]\nrole_arn = {ROLE}a\n"
         f"source_profile = b\n[profile b]\naws_secret_access_key = {SECRET}\n",
         creds="[b]\naws_access_key_id = AKIDB\n", env=dict(R, AWS_PROFILE="a")),
    Case("role_chain_to_web_identity", config=f"[profile a]\nrole_arn = {ROLE}a\n"
         f"source_profile = b\n[profile b]\nrole_arn = {ROLE}b\n"
         "web_identity_token_file = {home}/wi-token\n", files=TOKEN,
         env=dict(R, AWS_PROFILE="a")),
    Case("role_credential_source_environment_without_key", config=f"[profile a]\nrole_arn = "
         f"{ROLE}a\ncredential_source = Environment\n",
         env=dict(R, AWS_SECRET_ACCESS_KEY=SECRET), args=["--profile", "a"]),
    Case("role_source_uses_its_web_identity", config=f"[profile a]\nrole_arn = {ROLE}a\n"
         f"source_profile = b\n[profile b]\nrole_arn = {ROLE}b\n"
         "web_identity_token_file = {home}/wi-token\n", creds="[b]\n" + keys("AKIDB"),
         files=TOKEN, env=dict(R, AWS_PROFILE="a")),
    Case("role_env_keys_not_used_for_source", config=f"[profile a]\nrole_arn = {ROLE}a\n"
         "source_profile = b\n[profile b]\nregion = eu-west-1\n", env=dict(K, **R),
         args=["--profile", "a"]),
    # ---- web identity
    Case("wi_env", env=dict(WI, **R), files=TOKEN),
    Case("wi_env_before_profile_keys", creds="[default]\n" + keys("AKIDFILE"),
         env=dict(WI, **R), files=TOKEN),
    Case("wi_env_with_aws_profile", creds="[p]\n" + keys("AKIDP"),
         env=dict(WI, AWS_PROFILE="p", **R), files=TOKEN),
    Case("wi_env_off_with_explicit_profile", creds="[p]\n" + keys("AKIDP"),
         env=dict(WI, **R), files=TOKEN, args=["--profile", "p"]),
    Case("wi_env_off_explicit_profile_no_keys", config="[profile p]\nregion = us-west-2\n",
         env=dict(WI, **R), files=TOKEN, args=["--profile", "p"]),
    Case("wi_env_after_env_keys", env=dict(WI, **K, **R), files=TOKEN),
    Case("wi_env_after_assume_role", config=f"[default]\nrole_arn = {ROLE}a\nsource_profile = b\n",
         creds="[b]\n" + keys("AKIDB"), env=dict(WI, **R), files=TOKEN),
    Case("wi_profile", config=f"[default]\nrole_arn = {ROLE}p\n"
         "web_identity_token_file = {home}/wi-token\nrole_session_name = ci\n",
         env=R, files=TOKEN),
    Case("wi_env_role_arn_over_profile", config=f"[default]\nrole_arn = {ROLE}p\n"
         "web_identity_token_file = {home}/wi-token\n",
         env=dict(R, AWS_ROLE_ARN=ROLE + "envrole"), files=TOKEN),
    Case("wi_env_without_role_arn", env=dict(R, AWS_WEB_IDENTITY_TOKEN_FILE="{home}/wi-token"),
         files=TOKEN),
    Case("wi_env_token_file_missing", env=dict(R, AWS_ROLE_ARN=ROLE + "wi",
                                               AWS_WEB_IDENTITY_TOKEN_FILE="{home}/none")),
    Case("wi_role_arn_without_token_file", creds="[default]\n" + keys("AKIDFILE"),
         env=dict(R, AWS_ROLE_ARN=ROLE + "wi")),
    Case("wi_env_not_for_source_profile", config=f"[profile a]\nrole_arn = {ROLE}a\n"
         "source_profile = b\n[profile b]\nregion = eu-west-1\n",
         env=dict(WI, AWS_PROFILE="a", **R), files=TOKEN),
    Case("wi_env_session_name_over_profile", config=f"[default]\nrole_arn = {ROLE}p\n"
         "web_identity_token_file = {home}/wi-token\nrole_session_name = fromfile\n",
         env=dict(R, AWS_ROLE_SESSION_NAME="fromenv"), files=TOKEN),
    Case("wi_env_session_name", env=dict(WI, AWS_ROLE_SESSION_NAME="runner-7", **R),
         files=TOKEN),
    Case("wi_env_empty_token_file_var", config=f"[default]\nrole_arn = {ROLE}p\n"
         "web_identity_token_file = {home}/wi-token\n",
         creds="[default]\n" + keys("AKIDFILE"),
         env=dict(R, AWS_WEB_IDENTITY_TOKEN_FILE=""), files=TOKEN),
    Case("wi_profile_before_static_keys", config=f"[default]\nrole_arn = {ROLE}p\n"
         "web_identity_token_file = {home}/wi-token\n",
         creds="[default]\n" + keys("AKIDFILE"), env=R, files=TOKEN),
    # ---- endpoints
    Case("ep_service_env_over_global", env=dict(
        K, **R, AWS_ENDPOINT_URL_AUTO_SCALING="{ep}/svc")),
    Case("ep_option_over_env", env=dict(K, **R), args=["--endpoint-url", "{ep}/opt"]),
    Case("ep_profile_endpoint_url", config="[default]\nendpoint_url = {ep}/profile\n",
         env=dict(K, **R), endpoint=False),
    Case("ep_services_section", config="[default]\nservices = s\n"
         "[services s]\nauto_scaling =\n  endpoint_url = {ep}/services\n",
         env=dict(K, **R), endpoint=False),
    Case("ep_env_over_services_section", config="[default]\nservices = s\n"
         "[services s]\nauto_scaling =\n  endpoint_url = {ep}/services\n",
         env=dict(K, **R, AWS_ENDPOINT_URL_AUTO_SCALING="{ep}/svc"), endpoint=False),
    Case("ep_services_section_missing", config="[default]\nservices = nope\n",
         env=dict(K, **R), endpoint=False),
    Case("ep_default", env=dict(K, **R), endpoint=False),
    Case("ep_empty_global_env", env=dict(K, **R, AWS_ENDPOINT_URL=""), endpoint=False),
    Case("ep_endpoint_url_in_credentials_file", creds="[default]\nendpoint_url = {ep}/crd\n",
         env=dict(K, **R), endpoint=False),
    Case("ep_ignore_configured_false", env=dict(K, **R, AWS_IGNORE_CONFIGURED_ENDPOINT_URLS="false")),
    Case("ep_default_china", env=dict(K, AWS_DEFAULT_REGION="cn-north-1"), endpoint=False),
    Case("ep_ignore_configured_env", env=dict(K, **R, AWS_IGNORE_CONFIGURED_ENDPOINT_URLS="true")),
    Case("ep_ignore_configured_profile", config="[default]\nignore_configured_endpoint_urls = "
         "TRUE\nendpoint_url = {ep}/profile\n", env=dict(K, **R), endpoint=False),
    Case("ep_sts_env", config=f"[default]\nrole_arn = {ROLE}a\nsource_profile = b\n",
         creds="[b]\n" + keys("AKIDB"), env=dict(R, AWS_ENDPOINT_URL_STS="{ep}/sts")),
    Case("ep_option_applies_to_sts", config=f"[default]\nrole_arn = {ROLE}a\n"
         "source_profile = b\n", creds="[b]\n" + keys("AKIDB"), env=R,
         args=["--endpoint-url", "{ep}/opt"], endpoint=False,
         differ="--endpoint-url applies to every service asgswap calls, STS included",
         expect={"sts": [("AssumeRole", "/opt")]}, doc="STS included"),
    # ---- where the files are
    Case("files_from_env_paths", env=dict(R, AWS_CONFIG_FILE="{home}/cfg",
                                          AWS_SHARED_CREDENTIALS_FILE="{home}/crd"),
         files={"crd": "[default]\n" + keys("AKIDPATH"), "cfg": "[default]\nregion = eu-west-1\n"},
         creds="[default]\n" + keys("AKIDHOME")),
    Case("files_env_path_tilde", env=dict(R, AWS_SHARED_CREDENTIALS_FILE="~/crd"),
         files={"crd": "[default]\n" + keys("AKIDTILDE")}),
    Case("files_env_path_empty", env=dict(R, AWS_SHARED_CREDENTIALS_FILE=""),
         creds="[default]\n" + keys("AKIDHOME")),
    Case("files_config_env_var_expanded", env=dict(R, AWS_CONFIG_FILE="$HOME/cfg"),
         files={"cfg": "[default]\n" + keys("AKIDVAR")}),
    # ---- container credentials, SSO, credential_process
    Case("container_full_uri", env=dict(CONTAINER, **R)),
    Case("container_after_profile_keys", creds="[default]\n" + keys("AKIDFILE"),
         env=dict(CONTAINER, **R)),
    Case("container_after_env_keys", env=dict(CONTAINER, **K, **R)),
    Case("container_as_credential_source", config=f"[default]\nrole_arn = {ROLE}a\n"
         "credential_source = EcsContainer\n", env=dict(CONTAINER, **R)),
    Case("sso_refused", config="[default]\nsso_start_url = https://example.awsapps.com/start\n"
         "sso_region = us-east-1\nsso_account_id = 123456789012\nsso_role_name = r\n",
         env=R, message="uses SSO, which asgswap does not support"),
    Case("credential_process_refused", config="[default]\n" + PROCESS, env=R, files=PROC_FILE,
         differ="credential_process is refused, never run", expect="error",
         doc="credential_process are refused",
         message="uses credential_process, which asgswap does not support"),
    Case("credential_process_after_creds_file_keys", config="[default]\n" + PROCESS,
         files=PROC_FILE,
         creds="[default]\n" + keys("AKIDFILE"), env=R),
    # ---- the ini format: comments, continuation lines, CRLF, BOM, case, duplicates
    Case("ini_comment_lines", config="# top\n[default]\n; note\n  # indented\nregion = eu-west-1\n",
         env=K),
    Case("ini_inline_comment_is_value", config="[default]\nregion = eu-west-1 # Ireland\n",
         env=K),
    Case("ini_continuation_line", config="[default]\nregion = eu-west-1\n  more\n", env=K),
    Case("ini_continuation_in_role_arn", config=f"[profile a]\nrole_arn = {ROLE}a\n"
         "  continued\nsource_profile = b\n", creds="[b]\n" + keys("AKIDB"),
         env=dict(R, AWS_PROFILE="a")),
    Case("ini_crlf", config="[default]\r\nregion = eu-west-1\r\n",
         creds="[default]\r\n" + keys("AKIDCRLF").replace("\n", "\r\n")),
    Case("ini_bom", creds="\ufeff[default]\n" + keys("AKIDBOM"), env=R),
    Case("ini_odd_case_keys", creds="[default]\nAWS_Access_Key_ID = AKIDCASE\n"
         f"Aws_Secret_Access_Key = {SECRET}\n", env=R),
    Case("ini_odd_case_section", creds="[Default]\n" + keys("AKIDCASE"), env=R),
    Case("ini_duplicate_section", creds="[default]\n" + keys("AKID1") + "[default]\nx = 1\n",
         env=R),
    Case("ini_duplicate_key", creds="[default]\n" + keys("AKID1") + "aws_access_key_id = AKID2\n",
         env=R),
    Case("ini_DEFAULT_section", creds="[DEFAULT]\n" + keys("AKIDDEF") + "[p]\nregion = x\n",
         env=dict(R, AWS_PROFILE="p")),
    Case("ini_colon_delimiter", config="[default]\nregion: eu-west-2\n", env=K),
    Case("ini_profile_prefix_spacing", config="[profile   dev]\nregion = eu-south-1\n",
         env=dict(K, AWS_PROFILE="dev")),
    Case("ini_profile_default_section", config="[profile default]\nregion = eu-west-3\n", env=K),
    Case("ini_profile_prefix_in_credentials", creds="[profile dev]\n" + keys("AKIDDEV"),
         env=dict(R, AWS_PROFILE="dev")),
    Case("ini_key_before_section", creds="aws_access_key_id = AKID\n[default]\n", env=R),
    Case("ini_blank_line_then_indent", config="[default]\nregion = eu-west-1\n\n  more\n", env=K),
]


class BotocoreDifferentialTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.server = ThreadingHTTPServer(("127.0.0.1", 0), Recorder)
        cls.server.daemon_threads = True
        cls.thread = threading.Thread(target=cls.server.serve_forever, daemon=True)
        cls.thread.start()
        cls.addClassCleanup(cls.server.server_close)
        cls.addClassCleanup(cls.server.shutdown)
        cls.ep = f"http://127.0.0.1:{cls.server.server_address[1]}"
        cls.imds = Imds(region="ap-northeast-3", role="inst-role")
        cls.addClassCleanup(cls.imds.stop)

    def setUp(self):
        self.home = tempfile.TemporaryDirectory()
        self.addCleanup(self.home.cleanup)

    def fill(self, s):
        return s.replace("{ep}", self.ep).replace("{home}", self.home.name).replace(
            "{imds}", self.imds.url)

    def environment(self, case):
        env = {"HOME": self.home.name, "AWS_EC2_METADATA_DISABLED": "true",
               "AWS_MAX_ATTEMPTS": "1", "HTTPS_PROXY": self.ep, "https_proxy": self.ep,
               "PATH": os.environ.get("PATH", "/usr/bin:/bin")}
        if case.endpoint:
            env["AWS_ENDPOINT_URL"] = self.ep + "/global"
        env.update({k: self.fill(v) for k, v in case.env.items() if v is not None})
        for k in [k for k, v in case.env.items() if v is None]:
            env.pop(k, None)
        return env

    def lay_out(self, case):
        aws = os.path.join(self.home.name, ".aws")
        os.makedirs(aws)
        for name, text in (("config", case.config), ("credentials", case.creds)):
            if text is not None:
                with open(os.path.join(aws, name), "w", encoding="utf-8", newline="") as f:
                    f.write(self.fill(text))
        for name, text in case.files.items():
            path = os.path.join(self.home.name, name)
            with open(path, "w") as f:
                f.write(text)
            if name.endswith(".sh"):
                os.chmod(path, 0o755)

    def take(self):
        with Recorder.lock:
            r = list(Recorder.records)
            Recorder.records.clear()
        return r

    def botocore_answer(self, case):
        args = [self.fill(a) for a in case.args]
        opt = dict(zip(args[::2], args[1::2]))
        self.take()
        error = None
        with mock.patch.dict(os.environ, self.environment(case), clear=True):
            try:
                s = botocore.session.Session(profile=opt.get("--profile"))
                c = s.create_client("autoscaling", region_name=opt.get("--region"),
                                    endpoint_url=opt.get("--endpoint-url"),
                                    config=botocore.config.Config(
                                        retries={"total_max_attempts": 1},
                                        connect_timeout=5, read_timeout=10))
                c.describe_auto_scaling_groups()
            except (botocore.exceptions.BotoCoreError, botocore.exceptions.ClientError,
                    ValueError, OSError) as e:
                error = type(e).__name__
        out = summary(self.take())
        if out["sent"] is None:
            out["error"] = error or "nothing sent"
        return out

    def asgswap_answer(self, case):
        self.take()
        env = self.environment(case)
        p = bed.run("asgswap", *[self.fill(a) for a in case.args], "status", "img", env=env)
        out = summary(self.take())
        if out["sent"] is None:
            out["error"] = "error"
        return out, p

    def check(self, case):
        self.lay_out(case)
        theirs = self.botocore_answer(case)
        ours, p = self.asgswap_answer(case)
        ctx = f"botocore: {theirs}\nasgswap: {ours}\nstderr: {p.stderr[-1500:]}"
        if "error" in ours:
            # a configuration error: exit 2, one lowercase line, no API action prefix
            self.assertEqual(p.returncode, 2, ctx)
            lines = [ln for ln in p.stderr.splitlines() if ln.strip()]
            self.assertEqual(len(lines), 1, ctx)
            self.assertNotRegex(lines[0], r"Describe\w+:", ctx)
            self.assertNotIn(SECRET, p.stderr)
            if case.message:
                self.assertIn(case.message, lines[0])
        if case.differ:
            self.assertNotEqual(self.comparable(ours), self.comparable(theirs), ctx)
            if case.expect == "error":
                self.assertIn("error", ours, ctx)
            else:
                for k, v in case.expect.items():
                    if isinstance(v, dict):
                        self.assertIsNotNone(ours[k], ctx)
                        self.assertEqual({x: ours[k].get(x) for x in v}, v, ctx)
                    else:
                        self.assertEqual(ours[k], v, ctx)
            return
        self.assertEqual(self.comparable(ours), self.comparable(theirs), ctx)

    def test_sts_refusal_is_a_failed_call(self):
        # not a configuration error: exit 4, as any call AWS refuses
        case = Case("sts_refusal", config=f"[default]\nrole_arn = {ROLE}denied\n"
                    "source_profile = b\n", creds="[b]\n" + keys("AKIDB"), env=R)
        self.lay_out(case)
        ours, p = self.asgswap_answer(case)
        self.assertEqual(p.returncode, 4, p.stderr)
        self.assertIn("AccessDenied", p.stderr)
        self.assertEqual(ours["sts"], [("AssumeRole", "/global")])
        self.assertIsNone(ours["sent"])

    def test_deliberate_differences_are_documented(self):
        with open(os.path.join(bed.TOP, "packaging", "man", "asgswap.1")) as f:
            page = f.read().replace("\\-", "-")
        section = page[page.index(".SS Deliberate differences from botocore"):]
        section = section[:section.index("\n.SH ")]
        # the words as a reader sees them: macro names and font escapes dropped
        words = []
        for line in section.splitlines()[1:]:
            if line.startswith("."):
                line = line.split(" ", 1)[1] if " " in line else ""
            words.append(re.sub(r"\\f[BIR]|\\\(bu", "", line))
        text = " ".join(" ".join(words).split())
        for c in CASES:
            if c.differ:
                self.assertIn(c.doc, text, c.name)

    @staticmethod
    def comparable(answer):
        # which exception botocore raised is not compared, only that one stopped it
        return {k: v for k, v in answer.items() if k != "error"} | \
            ({"error": True} if "error" in answer else {})


def make_test(case):
    def test(self):
        self.check(case)
    return test


for _case in CASES:
    setattr(BotocoreDifferentialTest, "test_" + _case.name, make_test(_case))

DELIBERATE = [(c.name, c.differ) for c in CASES if c.differ]

if __name__ == "__main__":
    unittest.main()
