"""asgswap-agent's env_ssm and env_secret on the real dockerd, with moto's SSM and Secrets
Manager set up by boto3: the values reach the container's Config.Env exactly, SSM is read
recursively and every page, a JSON key picks one field, and a missing parameter or secret
fails the boot with ABANDON and a message naming it, never a value."""
import json
import os
import secrets
import signal
import string
import unittest

import bed
import test_agent
from faultproxy import FaultProxy


# A mapping larger than this is not the agent's data: AddressSanitizer's shadow memory is
# terabytes of address space, mostly never touched.
MAPPING_MAX = 1 << 30
CHUNK = 16 << 20


def memory_holding(pid, needles):
    """{needle: [mapping, ...]} for each needle found in a readable mapping of pid."""
    found = {}
    longest = max(len(n) for n in needles)
    with open(f"/proc/{pid}/maps") as maps, open(f"/proc/{pid}/mem", "rb", 0) as mem:
        for line in maps:
            f = line.split()
            lo, hi = (int(x, 16) for x in f[0].split("-"))
            if "r" not in f[1] or f[-1] in ("[vvar]", "[vsyscall]") or hi - lo > MAPPING_MAX:
                continue
            # In chunks that overlap by a needle's length, so that none is cut in two.
            for at in range(lo, hi, CHUNK):
                try:
                    mem.seek(at)
                    data = mem.read(min(CHUNK + longest, hi - at))
                except OSError:
                    break
                for n in needles:
                    i = data.find(n.encode())
                    while 0 <= i < CHUNK:
                        found.setdefault(n, []).append(
                            f"{f[-1]}: {data[max(0, i - 120):i + len(n) + 40]!r}")
                        i = data.find(n.encode(), i + 1)
    return found


def value(n=24):
    return "v-" + "".join(secrets.choice(string.ascii_letters + string.digits + "+/=$ ")
                          for _ in range(n))


class SecretsAgentTest(test_agent.AgentTest):
    def setUp(self):
        super().setUp()
        self.ssm = self.moto.client("ssm")
        self.sm = self.moto.client("secretsmanager")
        self.path = f"/svc/{self.name}"

    def agent(self, *args, extra_env=None, **cfg):
        return bed.run("asgswap-agent", "--config", self.config, "--once", *args,
                       env=self.env(extra_env, **cfg), timeout=90)

    def env_of_container(self):
        c = self.docker.container(self.name)
        self.assertIsNotNone(c)
        return dict(e.split("=", 1) for e in c["Config"]["Env"] or [])

    def put(self, name, v, kind="SecureString"):
        self.ssm.put_parameter(Name=f"{self.path}/{name}", Value=v, Type=kind)
        return v

    def assertAbandoned(self, p, message, *values):
        self.assertRan(p, 1)
        self.assertIn(message, p.stderr)
        for v in values:
            self.assertNotIn(v, p.stderr)
        self.assertIsNone(self.docker.container(self.name))
        self.assertEqual(self.results(), [("ABANDON", None)])

    def test_values_reach_the_container_exactly(self):
        want = {"DB_PASS": self.put("DB_PASS", value()),
                "PLAIN": self.put("PLAIN", value(), kind="String"),
                "NESTED": self.put("deeper/down/NESTED", value())}
        # More than a page (GetParametersByPath gives 10 at most).
        for i in range(23):
            want[f"P{i:02d}"] = self.put(f"many/P{i:02d}", value(8))
        want["TOKEN"] = value(40)
        self.sm.create_secret(Name=f"{self.name}/token", SecretString=want["TOKEN"])
        doc = {"username": "svc-" + self.name, "password": value(32), "port": 5432}
        arn = self.sm.create_secret(Name=f"{self.name}/db", SecretString=json.dumps(doc))["ARN"]
        want["DB_USER"], want["DB_PASSWORD"] = doc["username"], doc["password"]
        self.group("app", "1")
        with FaultProxy(self.moto.url) as proxy:
            p = self.agent("--verbose", env_ssm=self.path, env_secret=",".join([
                f"TOKEN={self.name}/token", f"DB_USER={self.name}/db:username",
                f"DB_PASSWORD={arn}:password"]),
                extra_env={"AWS_ENDPOINT_URL_SSM": proxy.url,
                           "AWS_ENDPOINT_URL_SECRETS_MANAGER": proxy.url})
            calls = [e["action"] for e in proxy.log()]
        self.assertRan(p)
        env = self.env_of_container()
        for k, v in want.items():
            self.assertEqual(env.get(k), v, k)
        # Through the per-service endpoints, page by page (26 parameters: 3 pages).
        self.assertEqual(calls.count("GetParametersByPath"), 3, calls)
        self.assertEqual(calls.count("GetSecretValue"), 3, calls)
        self.assertIn(f"26 variables from SSM under '{self.path}'", p.stderr)
        self.assertIn(f"'DB_USER' from secret '{self.name}/db' (key 'username')", p.stderr)
        for v in want.values():
            self.assertNotIn(v, p.stderr)
        self.assertEqual(self.results(), [("CONTINUE", None)])

    @unittest.skipUnless(os.geteuid() == 0, "reading another process's memory needs root")
    def test_no_value_left_in_the_agents_memory(self):
        """Once Docker has the environment, the supervising agent's memory holds no copy of
        any value: every buffer that held one was wiped before it was freed."""
        want = {"DB_PASS": self.put("DB_PASS", value(40)),
                "OTHER": self.put("sub/OTHER", value(40))}
        want["TOKEN"] = value(40)
        self.sm.create_secret(Name=f"{self.name}/token", SecretString=want["TOKEN"])
        want["PW"] = value(40)
        self.sm.create_secret(Name=f"{self.name}/db", SecretString=json.dumps({"pw": want["PW"]}))
        self.group("app", "1")
        p = self.start_agent(once=False, env_ssm=self.path,
                             env_secret=f"TOKEN={self.name}/token,PW={self.name}/db:pw")
        bed.wait_until(lambda: "READY=1" in self.notify.fields(), timeout=60,
                       what="READY=1")
        self.assertEqual({k: self.env_of_container().get(k) for k in want}, want)
        found = memory_holding(p.pid, list(want.values()))
        self.maxDiff = None
        self.assertEqual(found, {}, "values left in the agent's memory")
        p.send_signal(signal.SIGTERM)
        self.assertEqual(p.wait(timeout=15), 0)

    def test_missing_secret_abandons_naming_it(self):
        self.put("A", value())
        self.group("app", "1")
        p = self.agent(env_ssm=self.path, env_secret=f"X={self.name}/nope")
        self.assertAbandoned(p, f"env_secret: secret '{self.name}/nope' does not exist")

    def test_missing_json_key_abandons_naming_it(self):
        secret = value()
        self.sm.create_secret(Name=f"{self.name}/db", SecretString=json.dumps({"user": secret}))
        self.group("app", "1")
        p = self.agent(env_secret=f"X={self.name}/db:password")
        self.assertAbandoned(p, f"secret '{self.name}/db' has no key 'password'", secret)

    def test_json_key_of_a_secret_that_is_not_json(self):
        secret = value()
        self.sm.create_secret(Name=f"{self.name}/plain", SecretString=secret)
        self.group("app", "1")
        p = self.agent(env_secret=f"X={self.name}/plain:k")
        self.assertAbandoned(p, f"secret '{self.name}/plain' does not hold a JSON object",
                             secret)

    def test_path_without_parameters_abandons_naming_it(self):
        self.group("app", "1")
        p = self.agent(env_ssm=f"{self.path}/none")
        self.assertAbandoned(p, f"env_ssm: no SSM parameter under '{self.path}/none'")

    def test_parameter_that_is_no_variable_name_abandons(self):
        secret = self.put("bad-name", value())
        self.group("app", "1")
        p = self.agent(env_ssm=self.path)
        self.assertAbandoned(p, f"parameter '{self.path}/bad-name' does not end in a variable "
                             "name", secret)

    def test_a_variable_set_twice_abandons(self):
        self.put("X", value())
        secret = self.put("sub/X", value())
        self.group("app", "1")
        p = self.agent(env_ssm=self.path)
        self.assertAbandoned(p, "sets 'X' twice", secret)

    def test_bad_entries_are_configuration_errors(self):
        for key, v in (("env_ssm", "relative/path"), ("env_ssm", "/a//b"),
                       ("env_ssm", "/a b"), ("env_secret", "NOEQUALS"),
                       ("env_secret", "1X=id"), ("env_secret", "X="),
                       ("env_secret", "X=id:"), ("env_secret", "X=a b"),
                       ("env_secret", "X=arn:aws:secretsmanager:us-east-1:1:secret")):
            with self.subTest(key=key, v=v):
                p = self.agent(**{key: v})
                self.assertRan(p, 2)
                self.assertIn(f"ASGSWAP_{key.upper()}: bad value", p.stderr)


# Only the cases above: the inherited ones run in test_agent.
for _n in dir(test_agent.AgentTest):
    if _n.startswith("test_"):
        setattr(SecretsAgentTest, _n, None)

if __name__ == "__main__":
    unittest.main()
