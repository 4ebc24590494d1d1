"""Secrets kept out of output: every command of both programs at --verbose, with
session credentials (access key id, secret key, session token), a registry password in a
Docker config.json, an ECR authorization token, SSM SecureString parameters and Secrets
Manager secrets (whole and as a JSON key) for the container's environment in play, also on
the agent's failure paths, and none of those strings in
stdout, stderr, the journal fields or the sd_notify messages, whole or base64-encoded
(standard and URL-safe alphabets, each of the three alignments a secret can have inside
a longer encoded text).

The journal: common/log.c talks to journald through sd_journal_sendv() when JOURNAL_STREAM
names its stderr. libsystemd sends to the fixed path /run/systemd/journal/socket, so each
program runs in a private mount namespace (unshare(1), root only) where that path is a
datagram socket of the test's, with JOURNAL_STREAM set to the device and inode of the
program's stderr: exactly what journald would receive, and nothing on the host changes.
Without root the journal half is skipped and only stdout and stderr are checked."""
import array
import base64
import json
import os
import secrets
import shutil
import socket
import string
import subprocess
import tempfile
import threading
import unittest

import bed
from fakedocker import FakeDocker
from imds import Imds
from test_ctl_support import AZ, IMAGE, CtlCase

REGISTRY = "registry.example:5000"
ECR_REGISTRY = "123456789012.dkr.ecr.us-east-1.amazonaws.com"
CAN_NAMESPACE = os.geteuid() == 0 and shutil.which("unshare") and shutil.which("mount")


def rand(alphabet, n):
    return "".join(secrets.choice(alphabet) for _ in range(n))


def encoded_forms(secret):
    """The secret and the parts of its base64 encodings that depend on it alone, for each
    of the three offsets (mod 3) at which it may start in a longer encoded text."""
    raw = secret.encode()
    forms = {secret}
    for k in range(3):
        for enc in (base64.b64encode, base64.urlsafe_b64encode):
            e = enc(b"\0" * k + raw).decode().rstrip("=")
            start = (0, 2, 3)[k]   # the first chars also carry the k bytes before it
            end = len(e) - 2       # the last ones may carry the bytes after it
            if end - start >= 8:
                forms.add(e[start:end])
    return forms


class Journal:
    """A datagram socket standing in for journald's: native protocol entries, also those
    that libsystemd passes as a memfd (SCM_RIGHTS) when they are too big for a datagram."""

    def __init__(self, directory):
        self.dir = os.path.join(directory, "journal")
        os.makedirs(self.dir, exist_ok=True)
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(os.path.join(self.dir, "socket"))
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 << 20)
        self.sock.settimeout(0.1)
        self.datagrams, self.stopping = [], threading.Event()
        self.thread = threading.Thread(target=self.drain, daemon=True)
        self.thread.start()

    def drain(self):
        while not self.stopping.is_set():
            try:
                data, anc, _, _ = self.sock.recvmsg(1 << 20, socket.CMSG_SPACE(4 * 4))
            except socket.timeout:
                continue
            except OSError:
                return
            for level, kind, payload in anc:
                if level == socket.SOL_SOCKET and kind == socket.SCM_RIGHTS:
                    fds = array.array("i")
                    fds.frombytes(payload[:len(payload) - len(payload) % fds.itemsize])
                    for fd in fds:
                        with os.fdopen(fd, "rb") as f:
                            f.seek(0)
                            data += f.read()
            self.datagrams.append(data)

    def text(self):
        return b"\n".join(self.datagrams).decode(errors="replace")

    def entries(self):
        return len(self.datagrams)

    def stop(self):
        self.stopping.set()
        self.thread.join()
        self.sock.close()


class Notify:
    def __init__(self, directory):
        self.path = os.path.join(directory, "notify")
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(self.path)
        self.sock.setblocking(False)
        self.messages = []

    def text(self):
        while True:
            try:
                self.messages.append(self.sock.recv(65536).decode(errors="replace"))
            except BlockingIOError:
                return "\n".join(self.messages)

    def stop(self):
        self.sock.close()


class SecretsTest(CtlCase):
    def setUp(self):
        super().setUp()
        self.tmp = tempfile.TemporaryDirectory(prefix="asgswap-secrets-")
        self.addCleanup(self.tmp.cleanup)
        up, al = string.ascii_uppercase + string.digits, string.ascii_letters + string.digits
        self.creds = {"AWS_ACCESS_KEY_ID": "ASIA" + rand(up, 16),
                      "AWS_SECRET_ACCESS_KEY": rand(al + "+/", 40),
                      "AWS_SESSION_TOKEN": "IQoJb3JpZ2luX2Vj" + rand(al + "+/", 300) + "=="}
        self.registry_password = "pw-" + rand(al, 29)
        token = self.moto.client("ecr").get_authorization_token()["authorizationData"][0]
        self.ecr_token = token["authorizationToken"]
        self.ecr_password = base64.b64decode(self.ecr_token).decode().split(":", 1)[1]
        self.secrets = dict(self.creds, registry_password=self.registry_password,
                            ecr_token=self.ecr_token, ecr_password=self.ecr_password)

    # -- the programs ---------------------------------------------------------------------
    def run_one(self, argv, env, journal=None):
        """(returncode, stdout, stderr) of one program run; with a Journal, in a private
        mount namespace where journald's socket is the journal's."""
        argv = list(argv)
        with tempfile.TemporaryFile() as err:
            if journal:
                st = os.fstat(err.fileno())
                env = dict(env, JOURNAL_STREAM=f"{st.st_dev}:{st.st_ino}")
                argv = ["unshare", "--mount", "--propagation", "private", "sh", "-c",
                        'mount -t tmpfs tmpfs /run && mkdir -p /run/systemd/journal && '
                        'mount --bind "$0" /run/systemd/journal && exec "$@"',
                        journal.dir] + argv
            p = subprocess.run(argv, env=env, stdout=subprocess.PIPE, stderr=err,
                               stdin=subprocess.DEVNULL, timeout=120)
            err.seek(0)
            return p.returncode, p.stdout.decode(errors="replace"), \
                err.read().decode(errors="replace")

    def agent_setup(self):
        """A group whose instance IMDS serves, for the agent's boots."""
        self.group("app", mn=0, mx=1, desired=1, version="1", image="app")
        (instance,) = [i["InstanceId"] for i in self.describe("app")["Instances"]]
        imds = Imds(instance_id=instance, tags={"aws:autoscaling:groupName": "app"})
        self.addCleanup(imds.stop)
        config = os.path.join(self.tmp.name, "config.json")
        auth = base64.b64encode(f"deploy:{self.registry_password}".encode()).decode()
        with open(config, "w") as f:
            json.dump({"auths": {REGISTRY: {"auth": auth}}}, f)
        return imds, config

    def commands(self, imds, docker_config, docker, notify):
        """(name, argv, env) of every command of both programs."""
        ctl_env = self.env(**self.creds)
        ctl = [bed.binary("asgswap"), "--verbose"]
        fast = ["--poll", "0.05"]
        agent_env = dict(ctl_env, AWS_EC2_METADATA_DISABLED=None,
                         AWS_EC2_METADATA_SERVICE_ENDPOINT=imds.url,
                         DOCKER_HOST="unix://" + docker.path, NOTIFY_SOCKET=notify.path,
                         ASGSWAP_LIFECYCLE_HOOK="none", ASGSWAP_HEALTH_TIMEOUT="10",
                         ASGSWAP_DOCKER_CONFIG=docker_config, ASGSWAP_CONTAINER_NAME="app")
        agent_env = {k: v for k, v in agent_env.items() if v is not None}
        agent = [bed.binary("asgswap-agent"), "--config", "/dev/null", "--once", "--verbose"]
        return [
            ("status", ctl + ["status", IMAGE], ctl_env),
            ("dry-run deploy", ctl + ["--dry-run", "deploy", IMAGE, "2.0"] + fast, ctl_env),
            ("deploy", ctl + ["deploy", IMAGE, "2.0"] + fast, ctl_env),
            ("status after deploy", ctl + ["--output", "json", "status", IMAGE], ctl_env),
            ("rollback", ctl + ["rollback", IMAGE] + fast, ctl_env),
            ("deploy again", ctl + ["deploy", IMAGE, "3.0"] + fast, ctl_env),
            ("finalize", ctl + ["finalize", IMAGE], ctl_env),
            ("unlock", ctl + ["unlock", IMAGE], ctl_env),
            ("agent docker-config", agent, dict(agent_env, ASGSWAP_REGISTRY=REGISTRY,
                                                ASGSWAP_REGISTRY_AUTH="docker-config")),
            ("agent ecr", agent, dict(agent_env, ASGSWAP_REGISTRY=ECR_REGISTRY,
                                      ASGSWAP_REGISTRY_AUTH="ecr",
                                      ASGSWAP_CONTAINER_NAME="app-ecr")),
            ("agent env secrets", agent, dict(
                agent_env, ASGSWAP_REGISTRY=REGISTRY, ASGSWAP_REGISTRY_AUTH="docker-config",
                ASGSWAP_CONTAINER_NAME="app-env", ASGSWAP_ENV_SSM="/asgswap/app",
                ASGSWAP_ENV_SECRET="TOKEN=asgswap/app/token,DB_PASSWORD=asgswap/app/db:password")),
            # Failure paths: each fails the boot after values were read or parsed.
            ("agent fails: missing key", agent, dict(
                agent_env, ASGSWAP_REGISTRY=REGISTRY, ASGSWAP_REGISTRY_AUTH="docker-config",
                ASGSWAP_CONTAINER_NAME="app-f1", ASGSWAP_ENV_SSM="/asgswap/app",
                ASGSWAP_ENV_SECRET="X=asgswap/app/db:nokey")),
            ("agent fails: not a variable name", agent, dict(
                agent_env, ASGSWAP_REGISTRY=REGISTRY, ASGSWAP_REGISTRY_AUTH="docker-config",
                ASGSWAP_CONTAINER_NAME="app-f2", ASGSWAP_ENV_SSM="/asgswap/bad")),
            ("agent fails: set twice", agent, dict(
                agent_env, ASGSWAP_REGISTRY=REGISTRY, ASGSWAP_REGISTRY_AUTH="docker-config",
                ASGSWAP_CONTAINER_NAME="app-f3", ASGSWAP_ENV_SSM="/asgswap/app,/asgswap/again")),
        ]

    def env_secrets_setup(self):
        """SSM parameters and Secrets Manager secrets (created with boto3) that the agent's
        env_ssm and env_secret read."""
        al = string.ascii_letters + string.digits
        ssm, sm = self.moto.client("ssm"), self.moto.client("secretsmanager")
        values = {"ssm_db_url": "postgres://u:" + rand(al, 24) + "@db/app",
                  "ssm_nested": "nested-" + rand(al, 24),
                  "ssm_bad_name": "bad-" + rand(al, 24),
                  "secret_token": "tok-" + rand(al, 32),
                  "secret_json_password": "pw-" + rand(al + "!#%&*", 28)}
        for name, v in (("/asgswap/app/DB_URL", values["ssm_db_url"]),
                        ("/asgswap/app/deeper/NESTED", values["ssm_nested"]),
                        ("/asgswap/bad/not-a-name", values["ssm_bad_name"]),
                        ("/asgswap/again/DB_URL", "again-" + rand(al, 24))):
            ssm.put_parameter(Name=name, Value=v, Type="SecureString")
        sm.create_secret(Name="asgswap/app/token", SecretString=values["secret_token"])
        sm.create_secret(Name="asgswap/app/db", SecretString=json.dumps(
            {"username": "app", "password": values["secret_json_password"]}))
        self.secrets.update(values)
        return values

    def sweep(self, journal):
        """Runs every command once; returns [(name, rc, {channel: text})]."""
        self.moto.reset()
        CtlCase.setUp(self)
        self.pair("web", live=2, mn=1, mx=4)
        imds, docker_config = self.agent_setup()
        env_values = self.env_secrets_setup()
        docker = FakeDocker(self.tmp.name)
        self.addCleanup(docker.stop)
        notify = Notify(tempfile.mkdtemp(dir=self.tmp.name))
        self.addCleanup(notify.stop)
        out = []
        for name, argv, env in self.commands(imds, docker_config, docker, notify):
            before = len(journal.datagrams) if journal else 0
            rc, stdout, stderr = self.run_one(argv, env, journal)
            channels = {"stdout": stdout, "stderr": stderr, "notify": notify.text()}
            if journal:
                bed.wait_until(lambda: journal.entries() > before or stderr, timeout=5,
                               what=f"journal entries of {name}")
                channels["journal"] = b"\n".join(journal.datagrams[before:]).decode(
                    errors="replace")
            out.append((name, rc, channels))
        # The secrets were in play: the registry saw each credential on its way to a pull.
        auths = [base64.urlsafe_b64decode(h["X-Registry-Auth"] + "==").decode()
                 for _, path, h in docker.requests if "X-Registry-Auth" in h]
        self.assertTrue(any(self.registry_password in a for a in auths), auths)
        self.assertTrue(any(self.ecr_password in a for a in auths), auths)
        # And the container's environment reached Docker, exactly.
        env = dict(e.split("=", 1) for e in docker.containers["app-env"]["Config"]["Env"])
        self.assertEqual(env, {"DB_URL": env_values["ssm_db_url"],
                               "NESTED": env_values["ssm_nested"],
                               "TOKEN": env_values["secret_token"],
                               "DB_PASSWORD": env_values["secret_json_password"]})
        return out

    def check(self, results, journal):
        for name, rc, channels in results:
            with self.subTest(command=name):
                # Each command ran for real: controller commands 0 or a state refusal (3),
                # the agent's boots 0.
                want = (1,) if name.startswith("agent fails") else \
                    (0,) if name.startswith("agent") else (0, 3)
                self.assertIn(rc, want, f"{name}: {channels}")
                if name.startswith("agent fails"):
                    self.assertIn("env_s", channels.get("journal") or channels["stderr"])
                if journal:
                    # Log lines went to the journal; the controller's progress lines
                    # ("green: 2/2 healthy") are output, not log, and stay on stderr.
                    logged = [line for line in channels["stderr"].splitlines()
                              if line.startswith(("asgswap:", "asgswap-agent:"))]
                    self.assertEqual(logged, [], "logged to stderr, not the journal")
                    self.assertIn("MESSAGE=", channels["journal"])
                for secret_name, secret in self.secrets.items():
                    for form in encoded_forms(secret):
                        for channel, text in channels.items():
                            self.assertNotIn(form, text,
                                             f"{secret_name} on {channel} of {name}")

    def test_no_secret_in_any_output(self):
        results = self.sweep(None)
        # --verbose does say things: the check looks at real output.
        self.assertIn("DescribeAutoScalingGroups", "".join(c["stderr"] for _, _, c in results))
        self.check(results, None)

    @unittest.skipUnless(CAN_NAMESPACE, "needs root and unshare(1) to stand in for journald")
    def test_no_secret_in_journal_fields(self):
        journal = Journal(self.tmp.name)
        self.addCleanup(journal.stop)
        results = self.sweep(journal)
        text = "\n".join(c["journal"] for _, _, c in results)
        self.assertIn("SYSLOG_IDENTIFIER=asgswap-agent", text)
        self.assertIn("AWS_ACTION=", text)
        self.check(results, journal)


if __name__ == "__main__":
    unittest.main()
