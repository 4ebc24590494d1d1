"""Packaging: the systemd unit, agent.conf, the man pages, bash completion, the
IAM policies, the cloud-init user data and the CloudFormation template, each checked by
its ecosystem's own tool where that tool is installed (`make deps-packaging` installs
them; a missing tool skips its test and says so).

The IAM tests run the real binaries against moto with IAM enforcement on (about 2 min:
a release cycle, and an agent boot with dockerd, per action). Building the .deb and .rpm
takes about 25 s more: those tests run only under `make check-packaging`
(ASGSWAP_PACKAGING_SLOW=1)."""
import fnmatch
import glob
import json
import os
import re
import shutil
import signal
import subprocess
import tempfile
import time
import unittest

import bed

TOP = bed.TOP
BUILD = bed.BUILD
PKG = os.path.join(TOP, "packaging")
UNIT = os.path.join(PKG, "asgswap-agent.service")
AGENT_CONF = os.path.join(PKG, "agent.conf")
MAN = os.path.join(PKG, "man")
COMPLETION = os.path.join(PKG, "asgswap.bash-completion")
IAM = os.path.join(PKG, "iam")
CLOUD_INIT = os.path.join(TOP, "cloud-init")
CFN = os.path.join(CLOUD_INIT, "cloudformation", "service.yaml")
SLOW = os.environ.get("ASGSWAP_PACKAGING_SLOW") == "1"
# Under valgrind (make valgrind) one run per policy action would take far too long.
WRAPPED = bed.WRAPPED

try:
    import yaml
except ImportError:  # PyYAML comes with moto[server] and cfn-lint
    yaml = None

# The agent's keys and their defaults.
AGENT_KEYS = {
    "registry": "",
    "container_name": "app",
    "ports": "",
    "env_file": "",
    "restart": "always",
    "network": "bridge",
    "health_url": "",
    "health_timeout": "300",
    "tag_timeout": "600",
    "lifecycle_hook": "auto",
    "docker_socket": "/var/run/docker.sock",
    "registry_auth": "auto",
    "name_tag": "docker:image:name",
    "version_tag": "docker:image:version",
    "unhealthy_grace": "60",
    # The container's settings and its stop (agent/agent_container.c).
    "log_driver": "journald",
    "log_opts": "",
    "mounts": "",
    "memory": "",
    "cpus": "",
    "pids_limit": "",
    "user": "",
    "read_only": "false",
    "init": "false",
    "cap_drop": "",
    "cap_add": "",
    "extra_hosts": "",
    "labels": "",
    "command": "",
    "stop_timeout": "10",
    "stop_signal": "SIGTERM",
    "terminate_hook": "auto",
    "env_ssm": "",
    "env_secret": "",
}
# Keys of agent/agent_config.c that only the tests set, not documented for users.
AGENT_INTERNAL_KEYS = {"docker_config"}

# What each program calls (common/lifecycle.c and ecr.c for the agent; autoscaling.c,
# elb.c, ec2.c, cloudwatch.c and lifecycle.c's hooks lookup for the controller). ECR's
# pull actions are called by dockerd with the agent's token.
AGENT_ACTIONS = {
    "autoscaling:DescribeAutoScalingInstances", "autoscaling:DescribeLifecycleHooks",
    "autoscaling:DescribeTags", "autoscaling:CompleteLifecycleAction",
    "autoscaling:RecordLifecycleActionHeartbeat", "autoscaling:SetInstanceHealth",
    "ecr:GetAuthorizationToken", "ecr:BatchCheckLayerAvailability", "ecr:BatchGetImage",
    "ecr:GetDownloadUrlForLayer", "ssm:GetParametersByPath", "secretsmanager:GetSecretValue",
}
CONTROLLER_ACTIONS = {
    "autoscaling:DescribeAutoScalingGroups", "autoscaling:DescribeLifecycleHooks",
    "autoscaling:DescribePolicies", "autoscaling:DescribeScheduledActions",
    "cloudwatch:DescribeAlarms", "ec2:DescribeInstances",
    "elasticloadbalancing:DescribeInstanceHealth", "elasticloadbalancing:DescribeTargetGroups",
    "elasticloadbalancing:DescribeTargetHealth",
    "autoscaling:DeletePolicy", "autoscaling:DeleteScheduledAction", "autoscaling:EnterStandby",
    "autoscaling:ExitStandby", "autoscaling:PutScalingPolicy",
    "autoscaling:PutScheduledUpdateGroupAction", "autoscaling:ResumeProcesses",
    "autoscaling:SetInstanceProtection", "autoscaling:SuspendProcesses",
    "autoscaling:TerminateInstanceInAutoScalingGroup", "autoscaling:UpdateAutoScalingGroup",
    "autoscaling:CreateOrUpdateTags", "autoscaling:DeleteTags", "cloudwatch:PutMetricAlarm",
    "events:PutEvents",
    # the lock table's items, and what init-table needs
    "dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem",
    "dynamodb:Query", "dynamodb:CreateTable", "dynamodb:DescribeTable",
    "dynamodb:DescribeTimeToLive", "dynamodb:UpdateTimeToLive",
}
# Calls whose failure is a warning, never a failed command: publishing release events.
BEST_EFFORT_ACTIONS = {"events:PutEvents"}
# Calls that need no permission at all (STS: "No permissions are required to perform this
# operation", API_GetCallerIdentity).
NO_PERMISSION_ACTIONS = {"sts:GetCallerIdentity"}
# Calls made with the credentials being resolved, not with the program's own policy.
CREDENTIAL_ACTIONS = {"sts:AssumeRole", "sts:AssumeRoleWithWebIdentity"}
SERVICE_PREFIX = {"AWS_SVC_AUTOSCALING": "autoscaling", "AWS_SVC_ELB": "elasticloadbalancing",
                  "AWS_SVC_ELBV2": "elasticloadbalancing", "AWS_SVC_EC2": "ec2",
                  "AWS_SVC_CLOUDWATCH": "cloudwatch", "AWS_SVC_STS": "sts",
                  "AWS_SVC_ECR": "ecr", "AWS_SVC_SSM": "ssm",
                  "AWS_SVC_SECRETSMANAGER": "secretsmanager", "AWS_SVC_EVENTS": "events",
                  "AWS_SVC_DYNAMODB": "dynamodb"}


def read(path):
    with open(path, encoding="utf-8") as f:
        return f.read()


def run(argv, timeout=120, **kw):
    return subprocess.run(argv, capture_output=True, text=True, timeout=timeout, **kw)


def need(tool):
    path = shutil.which(tool)
    if not path:
        raise unittest.SkipTest(f"{tool} is not installed (make deps-packaging installs it)")
    return path


def make_env():
    """The environment for a sub-make: without the jobserver of the make running us."""
    return {k: v for k, v in os.environ.items()
            if k not in ("MAKEFLAGS", "MFLAGS", "MAKELEVEL", "MAKEOVERRIDES")}


def parse_unit(text):
    """{section: [(key, value), ...]} of a systemd unit file (keys may repeat)."""
    sections, cur = {}, None
    for line in text.splitlines():
        line = line.strip()
        if not line or line[0] in "#;":
            continue
        m = re.fullmatch(r"\[(\w+)\]", line)
        if m:
            cur = sections.setdefault(m.group(1), [])
            continue
        key, _, value = line.partition("=")
        cur.append((key.strip(), value.strip()))
    return sections


def unit_values(sections, section, key):
    return [v for k, v in sections.get(section, []) if k == key]


def agent_conf_defaults(text):
    """{key: default} of the commented-out `#key = value` lines of agent.conf."""
    return {m.group(1): m.group(2).strip()
            for m in re.finditer(r"^#([a-z_]+) =[ ]?(.*)$", text, re.M)}


def agent_source_keys():
    src = read(os.path.join(TOP, "agent", "agent_config.c"))
    m = re.search(r"static const char \*const keys\[\] = \{(.*?)\};", src, re.S)
    if not m:
        raise unittest.SkipTest("agent/agent_config.c has no keys[] table")
    keys = set(re.findall(r'"([a-z_]+)"', m.group(1)))
    container = read(os.path.join(TOP, "agent", "agent_container.c"))
    m = re.search(r"const char \*const agent_container_keys\[\] = \{(.*?)\};", container, re.S)
    if m:
        keys |= set(re.findall(r'"([a-z_]+)"', m.group(1)))
    return keys


def controller_long_options():
    src = read(os.path.join(TOP, "controller", "ctl_main.c"))
    return set(re.findall(r'\{ "([a-z-]+)", (?:no|required|optional)_argument', src))


def controller_commands():
    src = read(os.path.join(TOP, "controller", "ctl_main.c"))
    return re.findall(r'\{ "([a-z-]+)", (?:ctl_[a-z_]+|cmd_help),', src)


def source_actions():
    """Every AWS action that common/ can send: `service:Action`."""
    actions = set()
    for path in glob.glob(os.path.join(TOP, "common", "*.c")):
        src = read(path)
        for svc, action in re.findall(r"query_init(?:_sensitive)?\(&?q, (AWS_SVC_\w+), \"(\w+)\"",
                                      src):
            actions.add(f"{SERVICE_PREFIX[svc]}:{action}")
        # Auto Scaling helpers that take the action as an argument, on a client or a query
        # being built: instance_batches(c, "EnterStandby", ...), query_of_group(q, ...)
        if os.path.basename(path) in ("autoscaling.c", "lifecycle.c"):
            for action in re.findall(r"\b(?!query_add)\w+\((?:c|q), \"([A-Z]\w+)\"", src):
                actions.add(f"autoscaling:{action}")
        # JSON 1.1 calls: awsjson_call(c, AWS_SVC_X, "TargetPrefix", "Action", ...), and
        # awsjson_call_within() with a deadline
        for svc, action in re.findall(
                r"awsjson_call(?:_within)?\(\w+, (AWS_SVC_\w+), (?:\"[\w.]+\"|[A-Z_]+), "
                r"\"(\w+)\"", src):
            actions.add(f"{SERVICE_PREFIX[svc]}:{action}")
        # DynamoDB's JSON 1.0 calls go through one ddb_call(c, "Action", ...)
        if os.path.basename(path) == "dynamodb.c":
            for action in re.findall(r"\bddb_call\(\w+, \"([A-Z]\w+)\"", src):
                actions.add(f"dynamodb:{action}")
    return actions


def policy(name):
    with open(os.path.join(IAM, name), encoding="utf-8") as f:
        return json.load(f)


def policy_actions(doc):
    out = set()
    for st in doc["Statement"]:
        acts = st["Action"]
        out.update([acts] if isinstance(acts, str) else acts)
    return out


class CfnLoader(getattr(yaml, "SafeLoader", object)):
    """A YAML loader that reads CloudFormation's short tags (!Ref, !Sub, ...) as dicts."""


if yaml:
    def _cfn_tag(loader, suffix, node):
        name = "Ref" if suffix == "Ref" else "Fn::" + suffix
        if isinstance(node, yaml.ScalarNode):
            value = loader.construct_scalar(node)
        elif isinstance(node, yaml.SequenceNode):
            value = loader.construct_sequence(node, deep=True)
        else:
            value = loader.construct_mapping(node, deep=True)
        return {name: value}
    CfnLoader.add_multi_constructor("!", _cfn_tag)


def load_cfn():
    if not yaml:
        raise unittest.SkipTest("PyYAML is not installed")
    with open(CFN, encoding="utf-8") as f:
        return yaml.load(f, Loader=CfnLoader)  # noqa: S506 (a SafeLoader subclass)


def cfn_user_data(template, values=None):
    """The launch template's user data with its ${...} replaced by sample values."""
    sub = template["Resources"]["LaunchTemplate"]["Properties"]["LaunchTemplateData"][
        "UserData"]["Fn::Base64"]["Fn::Sub"]
    values = values or {"AWS::StackName": "web", "Registry": "registry.example:5000",
                        "AppPort": "80", "ContainerPort": "8080", "HealthCheckPath": "/healthz"}
    return re.sub(r"\$\{([A-Za-z:]+)\}", lambda m: values[m.group(1)], sub)


def written_agent_conf(cloud_config_text):
    """The content that a #cloud-config writes to /etc/asgswap/agent.conf."""
    doc = yaml.safe_load(cloud_config_text)
    files = [f for f in doc.get("write_files", []) if f["path"] == "/etc/asgswap/agent.conf"]
    return files[0]["content"] if files else None


class UnitFileTest(unittest.TestCase):
    """packaging/asgswap-agent.service has what the issue lists, and systemd accepts it."""

    @classmethod
    def setUpClass(cls):
        cls.unit = parse_unit(read(UNIT))

    def values(self, key, section="Service"):
        return unit_values(self.unit, section, key)

    def words(self, key, section="Unit"):
        return {w for v in self.values(key, section) for w in v.split()}

    def test_notify_service_started_by_systemd(self):
        self.assertEqual(self.values("Type"), ["notify"])
        self.assertEqual(self.values("NotifyAccess"), ["main"])
        self.assertEqual(self.values("ExecStart"), ["/usr/sbin/asgswap-agent"])
        self.assertEqual(self.values("WantedBy", "Install"), ["multi-user.target"])

    def test_after_and_requires_docker_and_network_online(self):
        for key in ("After", "Requires"):
            self.assertLessEqual({"docker.service", "network-online.target"}, self.words(key),
                                 key)

    def test_restart_timeouts_and_watchdog(self):
        self.assertEqual(self.values("Restart"), ["on-failure"])
        self.assertEqual(self.values("RestartPreventExitStatus"), ["2"],
                         "a configuration error (exit 2) must not restart in a loop")
        start = self.values("TimeoutStartSec")
        self.assertEqual(len(start), 1)
        m = re.fullmatch(r"(\d+)min", start[0])
        self.assertTrue(m, start)
        # Covers tag_timeout (600 s) plus health_timeout (300 s); pulls extend it.
        self.assertGreaterEqual(int(m.group(1)) * 60, 600 + 300)
        self.assertEqual(len(self.values("WatchdogSec")), 1)

    def test_sandboxing(self):
        want = {"NoNewPrivileges": "yes", "ProtectSystem": "strict",
                "ProtectHome": "read-only", "PrivateTmp": "yes", "PrivateDevices": "yes",
                "ProtectKernelTunables": "yes", "ProtectKernelModules": "yes",
                "ProtectKernelLogs": "yes", "ProtectControlGroups": "yes",
                "RestrictNamespaces": "yes", "LockPersonality": "yes",
                "MemoryDenyWriteExecute": "yes", "SystemCallArchitectures": "native",
                "CapabilityBoundingSet": ""}
        for key, value in want.items():
            self.assertEqual(self.values(key), [value], key)
        # IMDS and AWS over IP, dockerd, journald and the notify socket over AF_UNIX.
        self.assertEqual(self.words("RestrictAddressFamilies", "Service"),
                         {"AF_UNIX", "AF_INET", "AF_INET6"})
        self.assertIn("@system-service", self.values("SystemCallFilter"))

    def installed_unit(self, tmp):
        """`make install` into tmp; the unit copied with ExecStart on the installed binary."""
        p = run(["make", "-s", "-C", TOP, "-o", "all", "install", f"BUILD={BUILD}",
                 "PREFIX=/usr", f"DESTDIR={tmp}"], env=make_env())
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
        unit = os.path.join(tmp, "lib", "systemd", "system", "asgswap-agent.service")
        text = read(unit)
        self.assertIn("\nExecStart=/usr/sbin/asgswap-agent\n", text)
        agent = os.path.join(tmp, "usr", "sbin", "asgswap-agent")
        self.assertTrue(os.access(agent, os.X_OK))
        copy = os.path.join(tmp, "verify", "asgswap-agent.service")
        os.makedirs(os.path.dirname(copy))
        with open(copy, "w") as f:
            f.write(text.replace("ExecStart=/usr/sbin/asgswap-agent", f"ExecStart={agent}"))
        return copy

    def test_installed_unit_passes_systemd_analyze_verify(self):
        need("systemd-analyze")
        with tempfile.TemporaryDirectory() as tmp:
            unit = self.installed_unit(tmp)
            p = run(["systemd-analyze", "verify", "--man=no", unit])
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertNotIn("asgswap-agent.service:", p.stderr)

    def test_security_exposure_stays_low(self):
        need("systemd-analyze")
        with tempfile.TemporaryDirectory() as tmp:
            unit = self.installed_unit(tmp)
            p = run(["systemd-analyze", "security", "--offline=true", "--no-pager", unit])
        self.assertEqual(p.returncode, 0, p.stderr)
        m = re.search(r"Overall exposure level for asgswap-agent\.service: (\d+\.\d+)",
                      p.stdout)
        self.assertTrue(m, p.stdout[-500:])
        print(f"\n    systemd-analyze security: exposure {m.group(1)}", end=" ")
        self.assertLessEqual(float(m.group(1)), 2.5, p.stdout)


class AgentConfTest(unittest.TestCase):
    """Every agent key is documented with its default, in agent.conf and the man pages."""

    def test_issue_keys_are_the_agents_keys(self):
        self.assertEqual(agent_source_keys() - AGENT_INTERNAL_KEYS, set(AGENT_KEYS))

    def test_agent_conf_documents_every_key_with_its_default(self):
        self.assertEqual(agent_conf_defaults(read(AGENT_CONF)), AGENT_KEYS)

    def test_agent_conf_sets_nothing(self):
        # Shipped as a conffile: every line a comment, so the defaults are the agent's own.
        for n, line in enumerate(read(AGENT_CONF).splitlines(), 1):
            self.assertTrue(not line.strip() or line.startswith("#"), f"line {n}: {line}")

    def test_conf_man_page_documents_every_key_with_its_default(self):
        text = read(os.path.join(MAN, "asgswap-agent.conf.5"))
        for key, default in AGENT_KEYS.items():
            troff_default = default.replace("-", "\\-")
            if default:
                want = f'.BR {key} " (default: " {troff_default} )'
            else:
                want = f'.BR {key} " (default: empty)"'
            self.assertIn(want, text, key)

    def test_agent_man_page_lists_every_key(self):
        text = read(os.path.join(MAN, "asgswap-agent.8"))
        for key in AGENT_KEYS:
            self.assertRegex(text, rf"\n\.BR {key} [,.]\n", key)

    def agent_accepts(self, conf_text, what):
        """The built agent reads conf_text without a configuration error (exit 2): with
        IMDS on a closed port it fails later, at step 1."""
        agent = os.path.join(BUILD, "asgswap-agent")
        if not os.access(agent, os.X_OK):
            self.skipTest(f"{agent} is not built")
        with tempfile.NamedTemporaryFile("w", suffix=".conf") as f:
            f.write(conf_text)
            f.flush()
            env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "AWS_REGION": "us-east-1",
                   "AWS_EC2_METADATA_SERVICE_ENDPOINT": f"http://127.0.0.1:{bed.free_port()}",
                   "AWS_MAX_ATTEMPTS": "1", "HOME": tempfile.gettempdir()}
            proc = subprocess.Popen([agent, "--config", f.name, "--once"], env=env,
                                    stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                    start_new_session=True)
            try:
                out, err = proc.communicate(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                out, err = proc.communicate()
        if "not implemented" in err:
            self.skipTest("the agent is still a stub")
        self.assertNotEqual(proc.returncode, 2, f"{what}: {err}")
        self.assertNotIn("configuration", err, what)

    def test_agent_accepts_every_documented_default(self):
        text = "".join(f"{k} = {v}\n" for k, v in agent_conf_defaults(read(AGENT_CONF)).items())
        self.agent_accepts(text, "agent.conf's defaults uncommented")

    def test_agent_accepts_the_user_data_configs(self):
        if not yaml:
            self.skipTest("PyYAML is not installed")
        sources = {os.path.basename(p): read(p) for p in glob.glob(os.path.join(CLOUD_INIT,
                                                                              "*.yaml"))}
        sources["service.yaml user data"] = cfn_user_data(load_cfn())
        self.assertGreaterEqual(len(sources), 3)
        for name, text in sources.items():
            conf = written_agent_conf(text)
            self.assertTrue(conf, f"{name} writes no /etc/asgswap/agent.conf")
            self.agent_accepts(conf, name)


class ManPageTest(unittest.TestCase):
    PAGES = ["asgswap.1", "asgswap-agent.8", "asgswap-agent.conf.5"]

    def test_groff_is_clean(self):
        need("groff")
        for page in self.PAGES:
            p = run(["groff", "-ww", "-man", "-z", os.path.join(MAN, page)])
            self.assertEqual((p.returncode, p.stderr), (0, ""), page)

    def test_controller_page_has_every_command_option_and_exit_code(self):
        text = read(os.path.join(MAN, "asgswap.1")).replace("\\-", "-")
        for cmd in controller_commands():
            self.assertRegex(text, rf"\n\.B {cmd}\b", cmd)
        options = controller_long_options()
        self.assertGreaterEqual(len(options), 10)
        for opt in options:
            self.assertIn(f"--{opt}", text, opt)
        for code in range(6):
            self.assertIn(f"\n.TP\n.B {code}\n", text)

    def test_agent_page_has_every_option_and_exit_code(self):
        text = read(os.path.join(MAN, "asgswap-agent.8")).replace("\\-", "-")
        for opt in ("--config", "--once", "--verbose", "--help", "--version"):
            self.assertIn(opt, text)
        for code in range(4):
            self.assertIn(f"\n.TP\n.B {code}\n", text)


class CompletionTest(unittest.TestCase):
    """bash completion, driven without bash-completion's library (a stand-in for
    _init_completion)."""

    STUB = ('_init_completion() { words=("${COMP_WORDS[@]}"); cword=$COMP_CWORD; '
            'cur=${COMP_WORDS[COMP_CWORD]}; prev=${COMP_WORDS[COMP_CWORD-1]}; }\n')

    def complete(self, line):
        bash = need("bash")
        words = line.split(" ")
        script = (self.STUB + f"source {COMPLETION}\n"
                  + "COMP_WORDS=(" + " ".join(f"'{w}'" for w in words) + ")\n"
                  + f"COMP_CWORD={len(words) - 1}\n_asgswap\n"
                  + "printf '%s\\n' \"${COMPREPLY[@]}\"\n")
        p = run([bash, "--norc", "--noprofile", "-c", script],
                env={"PATH": os.environ["PATH"], "HOME": tempfile.gettempdir()})
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertEqual(p.stderr, "")
        return set(p.stdout.split())

    def test_syntax(self):
        p = run([need("bash"), "-n", COMPLETION])
        self.assertEqual(p.returncode, 0, p.stderr)

    def test_commands(self):
        self.assertEqual(self.complete("asgswap "), set(controller_commands()))
        self.assertEqual(self.complete("asgswap --region eu-west-1 d"), {"deploy"})
        self.assertEqual(self.complete("asgswap help "), set(controller_commands()))
        self.assertEqual(self.complete("asgswap deploy web "), set())

    def test_options(self):
        self.assertEqual(self.complete("asgswap --output "), {"text", "json"})
        deploy = self.complete("asgswap deploy web 1.0 --")
        self.assertLessEqual({"--prefix", "--timeout", "--poll", "--finalize-first", "--force",
                              "--dry-run", "--region"}, deploy)
        self.assertNotIn("--force", self.complete("asgswap rollback web --"))
        everything = set()
        for cmd in controller_commands():
            everything |= self.complete(f"asgswap {cmd} --")
        self.assertEqual(everything, {f"--{o}" for o in controller_long_options()})


class IamPolicyTest(unittest.TestCase):
    """The policies parse, list exactly what each program calls, and keep least privilege.
    moto's IAM enforcement checks the list of actions and ignores conditions, so the
    conditions are checked here, on the documents themselves."""

    def check_policy(self, doc, expected):
        self.assertEqual(doc["Version"], "2012-10-17")
        self.assertEqual(policy_actions(doc), expected)
        for st in doc["Statement"]:
            self.assertEqual(st["Effect"], "Allow")
            acts = st["Action"]
            for a in acts:
                self.assertNotIn("*", a, "no wildcard actions")
            if all(re.search(r":(Describe|Get)", a) for a in acts):
                self.assertNotIn("Condition", st, st["Sid"])
                continue
            if all(a.startswith("autoscaling:") for a in acts):
                self.assertEqual(st["Resource"], "*")
                self.assertIn("aws:ResourceTag/docker:image:name",
                              st["Condition"]["StringLike"], st["Sid"])

    def test_agent_policy(self):
        self.check_policy(policy("agent-policy.json"), AGENT_ACTIONS)

    def test_controller_policy(self):
        self.check_policy(policy("controller-policy.json"), CONTROLLER_ACTIONS)

    def test_describe_calls_have_resource_star(self):
        for name in ("agent-policy.json", "controller-policy.json"):
            for st in policy(name)["Statement"]:
                # DynamoDB's Describe calls take the table's ARN.
                if all(a.startswith("dynamodb:") for a in st["Action"]):
                    self.assertRegex(st["Resource"], r"^arn:aws:dynamodb:\*:\*:table/[\w.-]+$")
                    continue
                if any(":Describe" in a for a in st["Action"]):
                    self.assertEqual(st["Resource"], "*", f"{name} {st['Sid']}")

    def test_tags_the_controller_writes_are_the_allowed_ones(self):
        doc = policy("controller-policy.json")
        st = next(s for s in doc["Statement"] if "autoscaling:CreateOrUpdateTags" in s["Action"])
        allowed = st["Condition"]["ForAllValues:StringLike"]["aws:TagKeys"]
        ctl_h = read(os.path.join(TOP, "controller", "ctl.h"))
        # ctl.h names every tag the controller reads or writes; it writes all but the name.
        written = set(re.findall(r'#define TAG_\w+\s+"([^"]+)"', ctl_h)) - {"docker:image:name"}
        self.assertIn("docker:image:version", written)
        self.assertTrue(written)
        for tag in written:
            self.assertTrue(any(re.fullmatch(a.replace("*", ".*"), tag) for a in allowed), tag)
        self.assertFalse(any(re.fullmatch(a.replace("*", ".*"), "docker:image:name")
                             for a in allowed), "the controller must not rename a service")

    def test_container_secrets_are_scoped_by_name(self):
        """env_ssm and env_secret read only parameters under /asgswap/ and secrets named
        asgswap/...: the patterns of the JSON policy and, narrowed to the service, of the
        CloudFormation role."""
        def allowed(doc, action, arn):
            return any(action in st["Action"] and fnmatch.fnmatchcase(arn, st["Resource"])
                       for st in doc["Statement"])
        doc = policy("agent-policy.json")
        ssm, sm = "ssm:GetParametersByPath", "secretsmanager:GetSecretValue"
        acct = "arn:aws:ssm:eu-west-1:123456789012"
        self.assertTrue(allowed(doc, ssm, f"{acct}:parameter/asgswap/web/prod"))
        self.assertFalse(allowed(doc, ssm, f"{acct}:parameter/other/web"))
        self.assertFalse(allowed(doc, ssm, f"{acct}:parameter/asgswapx/web"))
        sec = "arn:aws:secretsmanager:eu-west-1:123456789012:secret"
        self.assertTrue(allowed(doc, sm, f"{sec}:asgswap/web/db-AbCdEf"))
        self.assertFalse(allowed(doc, sm, f"{sec}:prod/db-AbCdEf"))
        role = load_cfn()["Resources"]["InstanceRole"]["Properties"]["Policies"][0][
            "PolicyDocument"]
        subs = {st["Sid"]: st["Resource"] for st in role["Statement"]
                if st["Sid"] in ("ContainerParameters", "ContainerSecrets")}
        self.assertEqual(subs, {
            "ContainerParameters": [
                {"Fn::Sub": "arn:${AWS::Partition}:ssm:*:*:parameter/asgswap/${ServiceName}"},
                {"Fn::Sub":
                 "arn:${AWS::Partition}:ssm:*:*:parameter/asgswap/${ServiceName}/*"}],
            "ContainerSecrets": {"Fn::Sub":
                                 "arn:${AWS::Partition}:secretsmanager:*:*:secret:asgswap/"
                                 "${ServiceName}/*"}})

    def test_every_call_in_common_is_in_a_policy(self):
        actions = source_actions()
        self.assertGreater(len(actions), 20)
        self.assertIn("dynamodb:PutItem", actions)  # the JSON 1.0 calls are seen too
        self.assertIn("sts:GetCallerIdentity", actions)
        missing = (actions - CREDENTIAL_ACTIONS - NO_PERMISSION_ACTIONS - AGENT_ACTIONS
                   - CONTROLLER_ACTIONS)
        self.assertEqual(missing, set(), "calls in common/ that no policy allows")

    def test_cloudformation_policies_match_the_json_ones(self):
        t = load_cfn()["Resources"]
        role = t["InstanceRole"]["Properties"]["Policies"][0]["PolicyDocument"]
        operator = dict(t["OperatorPolicy"]["Properties"]["PolicyDocument"])
        # The lock table's statements exist when the stack names a table.
        operator["Statement"] = [st["Fn::If"][1] if "Fn::If" in st else st
                                 for st in operator["Statement"]]
        for st in t["OperatorPolicy"]["Properties"]["PolicyDocument"]["Statement"]:
            if "Fn::If" in st:
                self.assertEqual(st["Fn::If"][0], "UseLockTable")
                self.assertEqual(st["Fn::If"][2], {"Ref": "AWS::NoValue"})
        self.assertEqual(policy_actions(role), AGENT_ACTIONS)
        self.assertEqual(policy_actions(operator), CONTROLLER_ACTIONS)
        for doc in (role, operator):
            for st in doc["Statement"]:
                if st["Sid"].startswith("LockTable"):
                    self.assertEqual(st["Resource"], {"Fn::Sub": (
                        "arn:${AWS::Partition}:dynamodb:${AWS::Region}:${AWS::AccountId}:"
                        "table/${LockTableName}")})
                    if "Condition" in st:  # narrowed to the keys of the stack's service
                        self.assertEqual(st["Condition"], {"ForAllValues:StringEquals": {
                            "dynamodb:LeadingKeys": [
                                {"Fn::Sub": "lock#${ImageName} ${ServiceName}-"},
                                {"Fn::Sub": "release#${ImageName} ${ServiceName}-"}]}})
                    continue
                if "Condition" in st:  # narrowed to the stack's image
                    self.assertEqual(st["Condition"]["StringEquals"],
                                     {"aws:ResourceTag/docker:image:name": {"Ref": "ImageName"}})


class CloudInitTest(unittest.TestCase):
    def files(self):
        paths = sorted(glob.glob(os.path.join(CLOUD_INIT, "*.yaml")))
        self.assertEqual([os.path.basename(p) for p in paths],
                         ["user-data-apt.yaml", "user-data.yaml"])
        return paths

    def test_user_data_writes_the_config_and_enables_the_agent(self):
        if not yaml:
            self.skipTest("PyYAML is not installed")
        for path in self.files():
            text = read(path)
            self.assertTrue(text.startswith("#cloud-config\n"), path)
            doc = yaml.safe_load(text)
            conf = written_agent_conf(text)
            for key in ("registry", "ports", "health_url"):
                self.assertRegex(conf, rf"(?m)^{key} = ", path)
            self.assertIn(["systemctl", "enable", "--now", "--no-block", "asgswap-agent.service"],
                          doc["runcmd"], path)
        apt = yaml.safe_load(read(os.path.join(CLOUD_INIT, "user-data-apt.yaml")))
        self.assertIn("asgswap-agent", apt["packages"])
        self.assertTrue(apt["apt"]["sources"])

    def test_cloud_init_schema(self):
        tool = need("cloud-init")
        texts = {os.path.basename(p): read(p) for p in self.files()}
        if yaml:
            texts["service.yaml user data"] = cfn_user_data(load_cfn())
        for name, text in texts.items():
            with tempfile.NamedTemporaryFile("w", suffix=".yaml") as f:
                f.write(text)
                f.flush()
                p = run([tool, "schema", "--config-file", f.name])
            self.assertEqual(p.returncode, 0, f"{name}: {p.stdout}{p.stderr}")
            self.assertIn("Valid cloud-config", p.stdout, name)


class CloudFormationTest(unittest.TestCase):
    def test_cfn_lint_finds_no_errors(self):
        tool = need("cfn-lint")
        p = run([tool, CFN], timeout=300)
        # cfn-lint's exit code is a bit mask: 2 errors, 4 warnings, 8 informational.
        self.assertEqual(p.returncode & ~(4 | 8), 0, p.stdout + p.stderr)
        if p.returncode:
            print(f"\n    cfn-lint: {p.stdout}", end=" ")

    def test_optional_lock_table_is_what_init_table_creates(self):
        t = load_cfn()
        table = t["Resources"]["LockTable"]
        self.assertEqual(table["Condition"], "MakeLockTable")
        self.assertEqual(t["Conditions"]["UseLockTable"],
                         {"Fn::Not": [{"Fn::Equals": [{"Ref": "LockTableName"}, ""]}]})
        self.assertEqual(t["Parameters"]["LockTableName"]["Default"], "")
        self.assertEqual(t["Parameters"]["CreateLockTable"]["Default"], "false")
        props = table["Properties"]
        self.assertEqual(props["BillingMode"], "PAY_PER_REQUEST")
        self.assertEqual([(k["AttributeName"], k["KeyType"]) for k in props["KeySchema"]],
                         [("pk", "HASH"), ("sk", "RANGE")])
        self.assertEqual([(a["AttributeName"], a["AttributeType"])
                          for a in props["AttributeDefinitions"]], [("pk", "S"), ("sk", "N")])
        self.assertEqual(props["TimeToLiveSpecification"],
                         {"AttributeName": "expires", "Enabled": True})
        # The same schema and TTL attribute as init-table's, in its source.
        src = read(os.path.join(TOP, "controller", "ctl_init_table.c"))
        self.assertIn('#define TTL_ATTRIBUTE  "expires"', src)
        self.assertIn('ddb_create_table(ctx->aws, table, "pk", "sk", &err)', src)
        self.assertEqual(table["DeletionPolicy"], "Retain")

    def test_launch_template(self):
        t = load_cfn()
        data = t["Resources"]["LaunchTemplate"]["Properties"]["LaunchTemplateData"]
        meta = data["MetadataOptions"]
        self.assertEqual(meta["HttpTokens"], "required")
        self.assertEqual(meta["InstanceMetadataTags"], "enabled")
        self.assertEqual(meta["HttpPutResponseHopLimit"], {"Ref": "MetadataHopLimit"})
        self.assertEqual(t["Parameters"]["MetadataHopLimit"]["Default"], 1)
        self.assertTrue(cfn_user_data(t).startswith("#cloud-config\n"))

    def test_groups(self):
        res = load_cfn()["Resources"]
        groups = {r["Properties"]["AutoScalingGroupName"]["Fn::Sub"]: r["Properties"]
                  for r in res.values() if r["Type"] == "AWS::AutoScaling::AutoScalingGroup"}
        self.assertEqual(set(groups), {"${ServiceName}-blue", "${ServiceName}-green"})
        for name, g in groups.items():
            tags = {tag["Key"]: tag for tag in g["Tags"]}
            for key in ("docker:image:name", "docker:image:version"):
                self.assertIs(tags[key]["PropagateAtLaunch"], True, (name, key))
            self.assertEqual(tags["docker:image:name"]["Value"], {"Ref": "ImageName"})
            hooks = g["LifecycleHookSpecificationList"]
            self.assertEqual([h["LifecycleTransition"] for h in hooks],
                             ["autoscaling:EC2_INSTANCE_LAUNCHING",
                              "autoscaling:EC2_INSTANCE_TERMINATING"])
            # The agent completes it; without an agent the instance still leaves.
            self.assertEqual(hooks[1]["DefaultResult"], "CONTINUE")
            self.assertEqual(g["TargetGroupARNs"], [{"Ref": "TargetGroup"}])
            self.assertEqual(str(g["MinSize"]), "0")
        # Blue is live from the start, green at 0; neither carries a capacity on updates.
        self.assertNotIn("DesiredCapacity", groups["${ServiceName}-green"])
        self.assertEqual(groups["${ServiceName}-blue"]["DesiredCapacity"]["Fn::If"][2],
                         {"Ref": "AWS::NoValue"})
        for r in res.values():
            self.assertNotIn("UpdatePolicy", r)

    def test_target_group_deregistration_delay(self):
        tg = load_cfn()["Resources"]["TargetGroup"]["Properties"]
        attrs = {a["Key"]: a["Value"] for a in tg["TargetGroupAttributes"]}
        self.assertEqual(attrs["deregistration_delay.timeout_seconds"], "30")
        self.assertEqual(tg["HealthCheckPath"], {"Ref": "HealthCheckPath"})


# ---- the IAM policies with moto's IAM enforcement on ---------------------------------------
# moto names an action by the request's signing name: CloudWatch's is `monitoring`, so
# `cloudwatch:X` is granted to moto as `monitoring:X`. moto checks only the list of actions
# (Resource "*", no condition values): the conditions are checked above, not here.
def moto_action(action):
    return action.replace("cloudwatch:", "monitoring:", 1)


def DENIED_RE(action):  # noqa: N802
    """What a denied call prints: moto's AccessDenied message names the action. moto
    answers a JSON-protocol call (DynamoDB) denied by IAM with an XML body: the message then
    names the call and its HTTP 403."""
    if action.startswith("dynamodb:"):
        return re.escape(action.split(":")[1]) + r"\b[^\n]*: HTTP 403"
    return re.escape(f"is not authorized to perform: {moto_action(action)}")


def policy_without(doc, removed=()):
    """doc with the actions in `removed` taken out (and named as moto names them)."""
    out = {"Version": doc["Version"], "Statement": []}
    for st in doc["Statement"]:
        acts = [moto_action(a) for a in st["Action"] if a not in removed]
        if acts:
            out["Statement"].append(dict(st, Action=acts))
    return out


# Services whose calls moto authorises against resource "*" (it has no _determine_resource
# for them): their statements' resource patterns are checked by IamPolicyTest instead.
MOTO_STAR_RESOURCE = ("ssm:", "secretsmanager:", "dynamodb:")


def resources_as_moto_sees_them(doc):
    for st in doc["Statement"]:
        if all(a.startswith(MOTO_STAR_RESOURCE) for a in st["Action"]):
            st["Resource"] = "*"
    return doc


class HookCompleter:
    """Completes the launch hook of every instance in Pending:Wait, as the agent would,
    while a command runs."""

    def __init__(self, asg, groups):
        import threading
        self.asg, self.groups = asg, groups
        self.stop_event = threading.Event()
        self.thread = threading.Thread(target=self.loop, daemon=True)
        self.thread.start()

    def loop(self):
        while not self.stop_event.wait(0.1):
            try:
                out = self.asg.describe_auto_scaling_groups(AutoScalingGroupNames=self.groups)
                for g in out["AutoScalingGroups"]:
                    for i in g["Instances"]:
                        if i["LifecycleState"] == "Pending:Wait":
                            self.asg.complete_lifecycle_action(
                                AutoScalingGroupName=g["AutoScalingGroupName"],
                                LifecycleHookName="launch", InstanceId=i["InstanceId"],
                                LifecycleActionResult="CONTINUE")
            except Exception:  # noqa: BLE001 (retried on the next round)
                pass

    def stop(self):
        self.stop_event.set()
        self.thread.join(10)


class ControllerPolicyTest(unittest.TestCase):
    """A user holding only packaging/iam/controller-policy.json deploys, rolls back, deploys
    again, finalizes and reads the status of a service of three group pairs (a target
    group, a classic ELB, a launch hook only) with scaling policies, an alarm, a scheduled
    action and scale-in protection; every action in the policy is called on the way, and
    without any one of them the run fails with AccessDenied naming it."""
    IMAGE = "registry.example/web"
    TABLE = "asgswap-locks"  # the table the policy names
    # With the lock table: its creation, the lock's items and the history are covered too.
    FLOW = [("init-table", TABLE), ("deploy", IMAGE, "2.0"), ("rollback", IMAGE),
            ("deploy", IMAGE, "2.0"), ("finalize", IMAGE), ("status", IMAGE), ("history", IMAGE)]

    @classmethod
    def setUpClass(cls):
        import motobed
        if not os.access(bed.binary("asgswap"), os.X_OK):
            raise unittest.SkipTest("asgswap is not built")
        cls.policy = policy("controller-policy.json")
        cls.moto = motobed.Moto(zero_delays=True, auth_count=10**9)
        cls.addClassCleanup(cls.moto.stop)

    def client(self, service, key):
        import boto3
        from botocore.config import Config
        return boto3.session.Session().client(
            service, region_name="us-east-1", endpoint_url=self.moto.url,
            aws_access_key_id=key["AccessKeyId"], aws_secret_access_key=key["SecretAccessKey"],
            config=Config(retries={"mode": "standard", "max_attempts": 1}, proxies={}))

    def service(self, doc):
        """A fresh moto holding the service; returns the keys of a user holding doc only.
        IAM is enforced from then on; self.admin has boto3 clients of an allow-all user."""
        m = self.moto
        m.reset_auth(10**9)
        m.reset()
        iam = m.client("iam")
        keys = {}
        for user, pol in (("admin", {"Version": "2012-10-17", "Statement": [
                {"Effect": "Allow", "Action": "*", "Resource": "*"}]}), ("deployer", doc)):
            iam.create_user(UserName=user)
            iam.put_user_policy(UserName=user, PolicyName="p",
                                PolicyDocument=json.dumps(resources_as_moto_sees_them(pol)))
            keys[user] = iam.create_access_key(UserName=user)["AccessKey"]
        asg, ec2 = m.client("autoscaling"), m.client("ec2")
        elb, elbv2, cw = m.client("elb"), m.client("elbv2"), m.client("cloudwatch")
        ami = ec2.describe_images()["Images"][0]["ImageId"]
        vpc = ec2.describe_vpcs()["Vpcs"][0]["VpcId"]
        ec2.create_launch_template(LaunchTemplateName="svc-lt", LaunchTemplateData={
            "ImageId": ami, "InstanceType": "t3.micro"})
        tg = elbv2.create_target_group(Name="web-tg", Protocol="HTTP", Port=8080, VpcId=vpc,
                                       TargetType="instance")["TargetGroups"][0]["TargetGroupArn"]
        elb.create_load_balancer(LoadBalancerName="api-clb", AvailabilityZones=["us-east-1a"],
                                 Listeners=[{"Protocol": "HTTP", "LoadBalancerPort": 80,
                                             "InstancePort": 8080}])
        hook = [{"LifecycleHookName": "launch", "HeartbeatTimeout": 600,
                 "DefaultResult": "ABANDON",
                 "LifecycleTransition": "autoscaling:EC2_INSTANCE_LAUNCHING"}]
        for base, extra in (("web", {"TargetGroupARNs": [tg]}),
                            ("api", {"LoadBalancerNames": ["api-clb"]}),
                            ("worker", {"LifecycleHookSpecificationList": hook})):
            for colour, desired in (("blue", 2), ("green", 0)):
                name = f"{base}-{colour}"
                tags = [{"Key": "docker:image:name", "Value": self.IMAGE}]
                if colour == "blue":
                    tags.append({"Key": "docker:image:version", "Value": "1.0"})
                asg.create_auto_scaling_group(
                    AutoScalingGroupName=name, MinSize=min(desired, 1), MaxSize=4,
                    DesiredCapacity=desired, LaunchTemplate={"LaunchTemplateName": "svc-lt"},
                    AvailabilityZones=["us-east-1a"],
                    Tags=[dict(t, ResourceId=name, ResourceType="auto-scaling-group",
                               PropagateAtLaunch=True) for t in tags], **extra)
        for i in asg.describe_auto_scaling_groups(AutoScalingGroupNames=["worker-blue"])[
                "AutoScalingGroups"][0]["Instances"]:
            asg.complete_lifecycle_action(AutoScalingGroupName="worker-blue",
                                          LifecycleHookName="launch",
                                          InstanceId=i["InstanceId"],
                                          LifecycleActionResult="CONTINUE")
        web = [i["InstanceId"] for i in asg.describe_auto_scaling_groups(
            AutoScalingGroupNames=["web-blue"])["AutoScalingGroups"][0]["Instances"]]
        asg.set_instance_protection(AutoScalingGroupName="web-blue", InstanceIds=web[:1],
                                    ProtectedFromScaleIn=True)
        step = asg.put_scaling_policy(
            AutoScalingGroupName="web-blue", PolicyName="step", PolicyType="StepScaling",
            AdjustmentType="ChangeInCapacity", MetricAggregationType="Average",
            StepAdjustments=[{"MetricIntervalLowerBound": 0, "ScalingAdjustment": 1}])
        cw.put_metric_alarm(
            AlarmName="cpu-high", MetricName="CPUUtilization", Namespace="AWS/EC2",
            Statistic="Average", Period=60, EvaluationPeriods=2, Threshold=70,
            ComparisonOperator="GreaterThanThreshold", AlarmActions=[step["PolicyARN"]],
            Dimensions=[{"Name": "AutoScalingGroupName", "Value": "web-blue"}])
        # A one-off action: moto re-encodes a form body it has parsed before checking its
        # signature, so a value with blanks (a Recurrence) reads SignatureDoesNotMatch there.
        from datetime import datetime, timedelta, timezone
        asg.put_scheduled_update_group_action(
            AutoScalingGroupName="web-blue", ScheduledActionName="launch-day",
            StartTime=datetime.now(timezone.utc) + timedelta(days=2), DesiredCapacity=2)
        self.admin = self.client("autoscaling", keys["admin"])
        self.admin_key = keys["admin"]
        m.reset_auth(0)  # from now on every call is checked
        return keys["deployer"]

    def flow(self, key, endpoint=None, events="--events"):
        """Runs FLOW as the user of `key`, publishing release events (to the default bus)
        unless events is None; (the failed step or None, its process, the stderr of every
        step), the stderr also in self.stderr."""
        env = bed.base_env(AWS_ENDPOINT_URL=endpoint or self.moto.url,
                           AWS_ACCESS_KEY_ID=key["AccessKeyId"],
                           AWS_SECRET_ACCESS_KEY=key["SecretAccessKey"],
                           ASGSWAP_LOCK_TABLE=self.TABLE)
        hooks = HookCompleter(self.admin, ["worker-blue", "worker-green"])
        errs = ""
        try:
            for step in self.FLOW:
                p = bed.run("asgswap", *([events] if events else []), *step, "--poll", "0.05",
                            env=env, timeout=120)
                errs += p.stderr
                self.stderr = errs
                if p.returncode != 0:
                    return step, p, errs
        finally:
            hooks.stop()
        return None, p, errs

    def test_full_release_cycle_with_only_the_policy(self):
        from faultproxy import FaultProxy
        key = self.service(policy_without(self.policy))
        with FaultProxy(self.moto.url) as proxy:
            failed, p, errs = self.flow(key, proxy.url)
            called = {e["action"] for e in proxy.log()}
        self.assertIsNone(failed, f"{failed}: {p.stdout}{errs}")
        self.assertNotIn("warning", errs)
        g = self.admin.describe_auto_scaling_groups(AutoScalingGroupNames=["web-blue"])
        self.assertEqual(g["AutoScalingGroups"][0]["Instances"], [])  # finalized
        # The history (the last step) names the deployer, from STS.
        self.assertIn(":user/deployer", p.stdout)
        # Every action of the policy was called, and nothing else but what needs no
        # permission.
        granted = {a.split(":", 1)[1]: a for a in policy_actions(self.policy)}
        free = {a.split(":", 1)[1] for a in NO_PERMISSION_ACTIONS}
        self.assertEqual(called - free, set(granted), "calls made vs actions granted")
        self.assertLessEqual(free, called)

    @unittest.skipIf(WRAPPED, "one run per action is too slow under valgrind")
    def test_each_action_is_needed(self):
        for action in sorted(policy_actions(self.policy)):
            with self.subTest(action=action):
                key = self.service(policy_without(self.policy, {action}))
                failed, p, errs = self.flow(key)
                if action in BEST_EFFORT_ACTIONS:
                    # Denied, the events are not published: a warning, the cycle goes on.
                    self.assertIsNone(failed, f"{failed}: {p.stderr}")
                    self.assertRegex(errs, r"warning: publishing a release event .*"
                                     + DENIED_RE(action))
                    continue
                self.assertIsNotNone(failed, f"the cycle completed without {action}")
                if action == "dynamodb:DeleteItem":
                    # The release itself is done when its lock cannot be released: the
                    # error is said, and the next command finds the lock still held.
                    self.assertEqual((failed[0], p.returncode), ("rollback", 3), errs)
                    self.assertRegex(errs, DENIED_RE(action))
                    continue
                self.assertEqual(p.returncode, 4, f"{failed}: {p.stderr}")
                self.assertRegex(p.stderr, DENIED_RE(action))

    def test_events_go_to_the_default_bus_only(self):
        """The policy lets release events reach the default bus and no other: moto (patched)
        authorises PutEvents against its bus, as AWS does."""
        key = self.service(policy_without(self.policy))
        events, sqs = self.client("events", self.admin_key), self.client("sqs", self.admin_key)
        q = sqs.create_queue(QueueName="releases")["QueueUrl"]
        arn = sqs.get_queue_attributes(QueueUrl=q, AttributeNames=["QueueArn"])[
            "Attributes"]["QueueArn"]
        events.create_event_bus(Name="other")
        for bus in ("default", "other"):
            events.put_rule(Name=f"to-{bus}", EventBusName=bus,
                            EventPattern=json.dumps({"source": ["asgswap"]}))
            events.put_targets(Rule=f"to-{bus}", EventBusName=bus,
                               Targets=[{"Id": "q", "Arn": arn}])
        self.FLOW = [("init-table", self.TABLE), ("deploy", self.IMAGE, "2.0")]
        failed, p, _ = self.flow(key, events="--events=other")
        self.assertIsNone(failed, f"{failed}: {p.stderr}")
        self.assertRegex(self.stderr, r"warning: publishing a release event to event bus "
                         r"'other' failed: AccessDeniedException: .*" + DENIED_RE("events:PutEvents"))
        self.assertEqual(sqs.receive_message(QueueUrl=q).get("Messages", []), [])
        self.FLOW = [("rollback", self.IMAGE)]
        failed, p, _ = self.flow(key)
        self.assertIsNone(failed, f"{failed}: {p.stderr}")
        self.assertNotIn("warning", self.stderr)
        got = []
        deadline = time.monotonic() + 20
        while len(got) < 4 and time.monotonic() < deadline:
            for m in sqs.receive_message(QueueUrl=q, MaxNumberOfMessages=10).get("Messages", []):
                got.append(json.loads(m["Body"])["detail"])
                sqs.delete_message(QueueUrl=q, ReceiptHandle=m["ReceiptHandle"])
        self.assertEqual([d["outcome"] for d in got], [None, None, None, "rolled back"])


# Agent actions a boot in the test bed cannot call: the heartbeat goes out only while a
# pull outlasts half the hook's HeartbeatTimeout (a loopback pull does not), and dockerd,
# not the agent, calls ECR's pull actions, on a registry that is not ECR here.
AGENT_UNPROVABLE = {"autoscaling:RecordLifecycleActionHeartbeat", "ecr:BatchCheckLayerAvailability",
                    "ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer"}


class AgentPolicyTest(unittest.TestCase):
    """An instance whose credentials hold only packaging/iam/agent-policy.json boots:
    a launch with a hook (group from DescribeAutoScalingInstances, tags, hooks, an ECR
    token, CompleteLifecycleAction CONTINUE) and a failed launch without a hook
    (SetInstanceHealth Unhealthy); without any one of those actions the boot fails with
    AccessDenied naming it."""

    @classmethod
    def setUpClass(cls):
        import base64
        import dockerbed
        import motobed
        from imds import Imds
        missing = dockerbed.missing_tools()
        if missing:
            raise unittest.SkipTest(f"the Docker test bed needs {', '.join(missing)}")
        if not os.access(bed.binary("asgswap-agent"), os.X_OK):
            raise unittest.SkipTest("asgswap-agent is not built")
        cls.policy = policy("agent-policy.json")
        cls.tmp = tempfile.mkdtemp(prefix="asgswap-agent-iam-")
        cls.addClassCleanup(shutil.rmtree, cls.tmp, True)
        cls.moto = motobed.Moto(zero_delays=True, auth_count=10**9)
        cls.addClassCleanup(cls.moto.stop)
        token = cls.moto.client("ecr").get_authorization_token()["authorizationData"][0]
        user, password = base64.b64decode(token["authorizationToken"]).decode().split(":", 1)
        cls.docker = dockerbed.DockerBed(user=user, password=password)
        cls.addClassCleanup(cls.docker.stop)
        cls.imds = Imds()
        cls.addClassCleanup(cls.imds.stop)
        cls.config = os.path.join(cls.tmp, "agent.conf")
        with open(cls.config, "w") as f:
            f.write("network = none\nregistry_auth = ecr\nhealth_timeout = 30\n"
                    "log_driver = json-file\n"
                    "tag_timeout = 10\n")
        cls.n = 0

    def boot(self, removed=(), hook=True, version="1", endpoint=None):
        """A fresh group with one instance; the agent boots it with the policy less
        `removed`. Returns the agent's process and the admin's Auto Scaling client."""
        m = self.moto
        m.reset_auth(10**9)
        m.reset()
        # The agent does not pull an image it already has: every boot starts without it, so
        # that each one needs the registry (and so ECR) as a first boot does.
        self.docker.remove_image(self.docker.image_ref("app", version))
        type(self).n += 1
        name = f"iam{self.n}"
        self.addCleanup(self.docker.remove_container, name)
        self.addCleanup(self.docker.remove_container, name + "-asgswap-next")
        iam = m.client("iam")
        iam.create_user(UserName="instance")
        iam.put_user_policy(UserName="instance", PolicyName="p", PolicyDocument=json.dumps(
            resources_as_moto_sees_them(policy_without(self.policy, removed))))
        key = iam.create_access_key(UserName="instance")["AccessKey"]
        iam.create_user(UserName="admin")
        iam.put_user_policy(UserName="admin", PolicyName="p", PolicyDocument=json.dumps(
            {"Version": "2012-10-17",
             "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}))
        admin = iam.create_access_key(UserName="admin")["AccessKey"]
        asg, ec2 = m.client("autoscaling"), m.client("ec2")
        ec2.create_launch_template(LaunchTemplateName="agent-lt", LaunchTemplateData={
            "ImageId": ec2.describe_images()["Images"][0]["ImageId"],
            "InstanceType": "t3.micro"})
        kw = {}
        if hook:
            kw["LifecycleHookSpecificationList"] = [{
                "LifecycleHookName": "launch",
                "LifecycleTransition": "autoscaling:EC2_INSTANCE_LAUNCHING"}]
        asg.create_auto_scaling_group(
            AutoScalingGroupName=name, MinSize=0, MaxSize=2, DesiredCapacity=1,
            LaunchTemplate={"LaunchTemplateName": "agent-lt"},
            AvailabilityZones=["us-east-1a"], **kw)
        asg.create_or_update_tags(Tags=[
            {"ResourceId": name, "ResourceType": "auto-scaling-group", "Key": k, "Value": v,
             "PropagateAtLaunch": True}
            for k, v in (("docker:image:name", "app"), ("docker:image:version", version))])
        # The container's environment from SSM and Secrets Manager, under the policy's names.
        m.client("ssm").put_parameter(Name=f"/asgswap/{name}/A", Value="a", Type="SecureString")
        m.client("secretsmanager").create_secret(Name=f"asgswap/{name}/db",
                                                 SecretString='{"password": "p"}')
        (instance,) = [i["InstanceId"] for i in asg.describe_auto_scaling_groups(
            AutoScalingGroupNames=[name])["AutoScalingGroups"][0]["Instances"]]
        self.imds.configure(instance_id=instance, tags_enabled=False, tags={},
                            target_lifecycle_state="InService")
        m.reset_auth(0)  # from now on every call is checked
        env = bed.base_env(
            AWS_ENDPOINT_URL=endpoint or m.url, AWS_EC2_METADATA_SERVICE_ENDPOINT=self.imds.url,
            AWS_EC2_METADATA_DISABLED=None, AWS_ACCESS_KEY_ID=key["AccessKeyId"],
            AWS_SECRET_ACCESS_KEY=key["SecretAccessKey"],
            ASGSWAP_REGISTRY=self.docker.registry.host, ASGSWAP_CONTAINER_NAME=name,
            ASGSWAP_DOCKER_SOCKET=self.docker.socket,
            ASGSWAP_DOCKER_CONFIG=os.path.join(self.tmp, "no-docker-config.json"),
            ASGSWAP_ENV_SSM=f"/asgswap/{name}", ASGSWAP_ENV_SECRET=f"DB=asgswap/{name}/db:password")
        p = bed.run("asgswap-agent", "--config", self.config, "--once", env=env, timeout=120)
        self.admin_asg = self.client("autoscaling", admin)
        self.instance, self.group = instance, name
        return p

    def client(self, service, key):
        import boto3
        from botocore.config import Config
        return boto3.session.Session().client(
            service, region_name="us-east-1", endpoint_url=self.moto.url,
            aws_access_key_id=key["AccessKeyId"], aws_secret_access_key=key["SecretAccessKey"],
            config=Config(retries={"mode": "standard", "max_attempts": 1}, proxies={}))

    def health(self):
        out = self.admin_asg.describe_auto_scaling_instances(InstanceIds=[self.instance])
        return out["AutoScalingInstances"][0]["HealthStatus"]

    def test_boots_with_only_the_policy(self):
        from faultproxy import FaultProxy
        with FaultProxy(self.moto.url) as proxy:
            p = self.boot(endpoint=proxy.url)
            ok_calls = {e["action"] for e in proxy.log()}
            completed = [c["LifecycleActionResult"] for c in self.moto.lifecycle_calls()
                         if c["action"] == "CompleteLifecycleAction"]
            proxy.clear()
            failed = self.boot(hook=False, version="404", endpoint=proxy.url)
            failed_calls = {e["action"] for e in proxy.log()}
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertEqual(completed, ["CONTINUE"])
        self.assertEqual(failed.returncode, 1, failed.stderr)
        self.assertNotIn("AccessDenied", failed.stderr)
        self.assertEqual(self.health().upper(), "UNHEALTHY")
        granted = {a.split(":", 1)[1] for a in policy_actions(self.policy) - AGENT_UNPROVABLE}
        self.assertEqual(ok_calls | failed_calls, granted, "calls made vs actions granted")

    @unittest.skipIf(WRAPPED, "one run per action is too slow under valgrind")
    def test_each_action_is_needed(self):
        for action in sorted(policy_actions(self.policy) - AGENT_UNPROVABLE):
            with self.subTest(action=action):
                if action == "autoscaling:SetInstanceHealth":
                    # The failed launch without a hook: replaced only once marked Unhealthy.
                    p = self.boot({action}, hook=False, version="404")
                    self.assertEqual(self.health().upper(), "HEALTHY", p.stderr)
                else:
                    # A full boot: exit 0 and the launch hook completed with CONTINUE.
                    p = self.boot({action})
                    completed = [c["LifecycleActionResult"] for c in self.moto.lifecycle_calls()
                                 if c["action"] == "CompleteLifecycleAction" and not c["error"]]
                    self.assertFalse(p.returncode == 0 and completed == ["CONTINUE"],
                                     f"booted without {action}:\n{p.stderr}")
                if action.startswith(("ecr:", "ssm:", "secretsmanager:")):
                    # moto answers a JSON-protocol call denied by IAM with an XML body.
                    self.assertIn(f"{action.split(':')[1]}: HTTP 403", p.stderr)
                else:
                    self.assertRegex(p.stderr, DENIED_RE(action))


@unittest.skipUnless(SLOW, "builds packages (about 25 s): make check-packaging runs it")
class PackageBuildTest(unittest.TestCase):
    """make deb (dpkg-buildpackage, lintian without errors) and make rpm (rpmbuild)."""

    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix="asgswap-pkg-")
        cls.addClassCleanup(shutil.rmtree, cls.tmp, True)
        cls.version = re.search(r"^VERSION := (\S+)$", read(os.path.join(TOP, "Makefile")),
                                re.M).group(1)

    def build(self, target, *tools):
        for t in tools:
            need(t)
        p = run(["make", "-s", "-C", TOP, target, f"BUILD={self.tmp}"], timeout=600,
                env=make_env())
        self.assertEqual(p.returncode, 0, p.stdout[-3000:] + p.stderr[-3000:])
        return p.stdout

    def test_deb(self):
        out = self.build("deb", "dpkg-buildpackage", "dh", "lintian")
        arch = run(["dpkg", "--print-architecture"]).stdout.strip()
        debs = {p: os.path.join(self.tmp, f"{p}_{self.version}_{arch}.deb")
                for p in ("asgswap", "asgswap-agent")}
        warnings = [line for line in out.splitlines() if re.match(r"lintian: [WE]: ", line)]
        print("\n    " + ("\n    ".join(warnings) if warnings else "lintian: no warnings"),
              end=" ")
        files = {p: {line.split()[-1].lstrip(".") for line in
                     run(["dpkg-deb", "-c", d]).stdout.splitlines()}
                 for p, d in debs.items()}
        self.assertLessEqual({"/usr/bin/asgswap", "/usr/share/man/man1/asgswap.1.gz",
                              "/usr/share/bash-completion/completions/asgswap",
                              "/usr/share/asgswap/iam/agent-policy.json",
                              "/usr/share/asgswap/iam/controller-policy.json"}, files["asgswap"])
        self.assertLessEqual({"/usr/sbin/asgswap-agent", "/etc/asgswap/agent.conf",
                              "/lib/systemd/system/asgswap-agent.service",
                              "/usr/share/man/man5/asgswap-agent.conf.5.gz",
                              "/usr/share/man/man8/asgswap-agent.8.gz"}, files["asgswap-agent"])
        agent = debs["asgswap-agent"]
        self.assertEqual(run(["dpkg-deb", "-f", agent, "Depends"]).stdout.count("docker.io"), 1)
        with tempfile.TemporaryDirectory() as d:
            run(["dpkg-deb", "--control", agent, d])
            self.assertEqual(read(os.path.join(d, "conffiles")).split(),
                             ["/etc/asgswap/agent.conf"])
            # Installed disabled: nothing in the maintainer scripts enables or starts it.
            self.assertNotIn("deb-systemd-invoke start", read(os.path.join(d, "postinst")))
        if shutil.which("systemd-analyze"):
            with tempfile.TemporaryDirectory() as root:
                run(["dpkg-deb", "-x", agent, root])
                unit = os.path.join(root, "lib", "systemd", "system", "asgswap-agent.service")
                copy = os.path.join(root, "asgswap-agent.service")
                with open(copy, "w") as f:
                    f.write(read(unit).replace("ExecStart=/usr/sbin/",
                                               f"ExecStart={root}/usr/sbin/"))
                p = run(["systemd-analyze", "verify", "--man=no", copy])
                self.assertEqual((p.returncode, p.stderr), (0, ""))

    def test_rpm(self):
        self.build("rpm", "rpmbuild", "rpm")
        rpms = sorted(glob.glob(os.path.join(self.tmp, "*.rpm")))
        names = [os.path.basename(r) for r in rpms]
        self.assertEqual(len(rpms), 2, names)
        listing = {}
        for r in rpms:
            name = run(["rpm", "-qp", "--qf", "%{NAME}", r]).stdout
            listing[name] = set(run(["rpm", "-qlp", r]).stdout.split())
        self.assertLessEqual({"/usr/bin/asgswap", "/usr/share/man/man1/asgswap.1",
                              "/usr/share/bash-completion/completions/asgswap",
                              "/usr/share/asgswap/iam/agent-policy.json",
                              "/usr/share/asgswap/iam/controller-policy.json"},
                             listing["asgswap"])
        self.assertLessEqual({"/usr/sbin/asgswap-agent", "/etc/asgswap/agent.conf",
                              "/usr/lib/systemd/system/asgswap-agent.service",
                              "/usr/share/man/man5/asgswap-agent.conf.5",
                              "/usr/share/man/man8/asgswap-agent.8"}, listing["asgswap-agent"])
        agent = next(r for r in rpms if "asgswap-agent-" in os.path.basename(r))
        self.assertEqual(run(["rpm", "-qp", "--configfiles", agent]).stdout.split(),
                         ["/etc/asgswap/agent.conf"])


if __name__ == "__main__":
    unittest.main()
