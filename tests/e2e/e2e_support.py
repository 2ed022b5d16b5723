"""Harness for the end-to-end tests: the real monsys-agent (and, through it, monsys-action)
against the reference hub (tests/hub/), a real systemd user manager and podman, all from the
`testenv` CTest fixture (scripts/testenv/start.sh).

Run with /usr/bin/python3 (Debian's python3-websockets, aiohttp, pyotp, jwt). The tests skip only
when not running as root or when the testenv env file is missing.

Environment:
  MONSYS_AGENT_BINARY   default <source>/build/default/agent/monsys-agent
  MONSYS_ACTION_BINARY  default <source>/build/default/action-wrapper/monsys-action
  MONSYS_TESTENV_FILE   default <source>/build/default/testenv/env
  MONSYS_SOURCE_DIR     default: two directories above this file
  MONSYS_E2E_KEEP=1     keep the per-class directories under /run (their paths are printed)

Each test class hard-links (or copies) both binaries into its directory once they have
settled, so that a concurrent rebuild cannot swap them out in the middle of a class.
"""

import http.client
import json
import os
import pwd
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import unittest

SOURCE_DIR = os.environ.get("MONSYS_SOURCE_DIR") or os.path.dirname(
    os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(SOURCE_DIR, "tests", "hub"))
sys.path.insert(0, os.path.join(SOURCE_DIR, "tests", "tools"))

import mint_eat  # noqa: E402
import testkit  # noqa: E402

AGENT_BINARY = os.environ.get("MONSYS_AGENT_BINARY") or os.path.join(
    SOURCE_DIR, "build", "default", "agent", "monsys-agent")
ACTION_BINARY = os.environ.get("MONSYS_ACTION_BINARY") or os.path.join(
    SOURCE_DIR, "build", "default", "action-wrapper", "monsys-action")
TESTENV_FILE = os.environ.get("MONSYS_TESTENV_FILE") or os.path.join(
    SOURCE_DIR, "build", "default", "testenv", "env")
AGENT_ID = "e2e-host"
KEEP = os.environ.get("MONSYS_E2E_KEEP") == "1"


# ---------------------------------------------------------------- environment

def load_testenv():
    """KEY=VALUE lines of the testenv env file, or None when it is missing."""
    try:
        with open(TESTENV_FILE, encoding="utf-8") as f:
            lines = f.read().splitlines()
    except FileNotFoundError:
        return None
    env = {}
    for line in lines:
        name, sep, value = line.partition("=")
        if sep and name and not line.startswith("#"):
            env[name] = value
    return env


def skip_reason():
    if os.geteuid() != 0:
        return "the end-to-end tests need root (trusted files under /run, monsys-action)"
    if load_testenv() is None:
        return f"no test environment: {TESTENV_FILE} is missing (run the testenv fixture)"
    return None


def ipv6_loopback_works():
    """Whether this host can listen on ::1 (a container without IPv6 cannot)."""
    try:
        with socket.socket(socket.AF_INET6, socket.SOCK_STREAM) as probe:
            probe.bind(("::1", 0))
        return True
    except OSError:
        return False


def unique(prefix):
    return f"{prefix}-{secrets.token_hex(4)}"


def run(cmd, env, check=True, timeout=60, input_text=None):
    proc = subprocess.run(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                          text=True, timeout=timeout, input=input_text,
                          stdin=None if input_text is not None else subprocess.DEVNULL)
    if check and proc.returncode != 0:
        raise AssertionError(f"{' '.join(cmd)} exited {proc.returncode}:\n{proc.stdout}"
                             f"{proc.stderr}")
    return proc


def snapshot_binaries(directory, timeout=300):
    """Hard links (or copies) of the agent and monsys-action in `directory`, taken once each
    binary exists and has not changed for 2 s, so that a relink by a concurrent build cannot
    pull a binary away in the middle of a test class. Returns (agent, action)."""
    os.makedirs(directory, mode=0o755, exist_ok=True)
    deadline = time.monotonic() + timeout
    copies = []
    for source in (AGENT_BINARY, ACTION_BINARY):
        while True:
            try:
                info = os.stat(source)
                settled = (os.access(source, os.X_OK) and time.time() - info.st_mtime > 2)
            except FileNotFoundError:
                settled = False
            if settled:
                break
            if time.monotonic() > deadline:
                raise AssertionError(f"not built (or still being linked after {timeout} s): "
                                     f"{source}")
            time.sleep(1)
        target = os.path.join(directory, os.path.basename(source))
        try:
            os.link(source, target)
        except OSError:
            shutil.copy2(source, target)
        copies.append(target)
    return tuple(copies)


# ---------------------------------------------------------------- Docker Engine API (podman)

class _UnixHTTPConnection(http.client.HTTPConnection):
    def __init__(self, path, timeout=30):
        super().__init__("localhost", timeout=timeout)
        self.socket_path = path

    def connect(self):
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.settimeout(self.timeout)
        sock.connect(self.socket_path)
        self.sock = sock


def docker_get(socket_path, path):
    """(status, JSON) of GET `path` on the Docker-compatible API socket."""
    conn = _UnixHTTPConnection(socket_path)
    try:
        conn.request("GET", path)
        response = conn.getresponse()
        body = response.read()
        return response.status, (json.loads(body) if body else None)
    finally:
        conn.close()


# ---------------------------------------------------------------- the agent process

class AgentProcess:
    """One monsys-agent daemon. Its stdout and stderr go to `log_file` (appended)."""

    def __init__(self, config_path, env, log_file, binary=AGENT_BINARY):
        self.binary = binary
        self.config_path = config_path
        self.env = env
        self.log_file = log_file
        self.proc = None
        self.starts = 0
        self.should_run = False   # False while a test has stopped it on purpose

    def start(self):
        assert self.proc is None or self.proc.poll() is not None, "the agent is already running"
        with open(self.log_file, "ab") as log:
            log.write(f"===== start {self.starts + 1} =====\n".encode())
            log.flush()
            self.proc = subprocess.Popen([self.binary, "--config", self.config_path],
                                         stdin=subprocess.DEVNULL, stdout=log, stderr=log,
                                         env=self.env)
        self.starts += 1
        self.should_run = True
        return self

    @property
    def pid(self):
        return self.proc.pid if self.proc else None

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def terminate(self, timeout=20):
        """SIGTERM and wait; returns the exit status (None when it had to be killed)."""
        self.should_run = False
        if self.proc is None:
            return None
        if self.proc.poll() is not None:
            return self.proc.returncode
        self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.kill()
            return None

    def kill(self):
        """SIGKILL: a crash, as far as the agent is concerned."""
        self.should_run = False
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()

    def log_text(self):
        return testkit.file_text(self.log_file)

    def log_tail(self, lines=60):
        return testkit.file_tail(self.log_file, lines)


# ---------------------------------------------------------------- test case base

class E2ETestCase(unittest.TestCase):
    """One directory per class under /run (root-owned, mode 0700), one subdirectory per test;
    a fresh hub and agent per test, always stopped in the cleanups, their log tails printed
    when the test failed."""

    class_dir = None
    testenv = None

    @classmethod
    def setUpClass(cls):
        reason = skip_reason()
        if reason:
            print(f"e2e: skipped: {reason}", file=sys.stderr)
            raise unittest.SkipTest(reason)
        cls.testenv = load_testenv()
        cls.env = {**os.environ, **cls.testenv}
        cls.class_dir = tempfile.mkdtemp(prefix=f"monsys-e2e-{cls.__name__}.", dir="/run")
        os.chmod(cls.class_dir, 0o700)
        try:
            cls.agent_binary, cls.action_binary = snapshot_binaries(
                os.path.join(cls.class_dir, "bin"))
        except BaseException:
            shutil.rmtree(cls.class_dir, ignore_errors=True)
            raise
        if KEEP:
            print(f"\ne2e: {cls.__name__} keeps {cls.class_dir}", file=sys.stderr)

    @classmethod
    def tearDownClass(cls):
        if cls.class_dir and not KEEP:
            shutil.rmtree(cls.class_dir, ignore_errors=True)

    def setUp(self):
        self.workdir = os.path.join(self.class_dir, self._testMethodName)
        os.makedirs(self.workdir, mode=0o700)
        self.hub = None
        self.agents = []
        self.expect_agent_alive = True
        # Registered first, so it runs last, after everything has been stopped.
        self.addCleanup(self._report_on_failure)

    # --- failure reporting ---

    def _failed(self):
        outcome = getattr(self, "_outcome", None)
        if outcome is None:
            return False
        if not getattr(outcome, "success", True):
            return True
        result = getattr(outcome, "result", None)
        for _test, _info in (getattr(result, "errors", []) + getattr(result, "failures", [])):
            if _test is self:
                return True
        return False

    def _report_on_failure(self):
        if not self._failed():
            return
        out = [f"\n======== {self.id()}: logs ({self.workdir})"]
        for n, agent in enumerate(self.agents, start=1):
            out.append(f"---- agent {n} ({agent.log_file}), last lines:\n{agent.log_tail(80)}")
        if self.hub is not None:
            try:
                with open(self.hub.log_file, encoding="utf-8", errors="replace") as f:
                    lines = [line for line in f if " hub http method=GET " not in line]
            except FileNotFoundError:
                lines = []
            out.append(f"---- hub ({self.hub.log_file}), last lines but REST GETs:\n"
                       + "".join(lines[-60:]))
            out.append(self._inventory_problems())
        print("\n".join(out), file=sys.stderr)

    def _inventory_problems(self):
        path = os.path.join(self.hub.state_dir, f"inventory-{AGENT_ID}.json")
        try:
            with open(path, encoding="utf-8") as f:
                message = json.load(f)
        except (OSError, ValueError):
            return "---- no inventory stored at the hub"
        inventory = message.get("inventory", {})
        failed = {name: section.get("error") for name, section in inventory.items()
                  if isinstance(section, dict) and section.get("ok") is False}
        timings = {name: section.get("duration_ms") for name, section in inventory.items()
                   if isinstance(section, dict) and "duration_ms" in section}
        return (f"---- latest inventory at the hub: seq {message.get('seq')}, failed sections "
                f"{failed or 'none'}, durations (ms) {timings}")

    # --- waiting ---

    def wait(self, predicate, timeout, what, interval=0.1):
        """Polls predicate() until it returns something truthy (which is returned). Fails at
        once when an agent that should be running has died."""
        deadline = time.monotonic() + timeout
        while True:
            value = predicate()
            if value:
                return value
            if self.expect_agent_alive:
                for agent in self.agents:
                    if agent.should_run and agent.proc.poll() is not None:
                        self.fail(f"the agent died (exit status {agent.proc.returncode}) while "
                                  f"waiting for {what}")
            if time.monotonic() > deadline:
                self.fail(f"timed out after {timeout} s waiting for {what}")
            time.sleep(interval)

    # --- hub ---

    def start_hub(self, tls=True, **options):
        """The reference hub, started (tls=False: a ws:// hub)."""
        self.hub = testkit.HubProcess.create(os.path.join(self.workdir, "hub"),
                                             {AGENT_ID: secrets.token_urlsafe(24)},
                                             tls=tls, **options)
        self.addCleanup(self.hub.kill)
        self.hub.start()
        return self.hub

    def hub_url(self, hub=None):
        """The agent's hub URL: wss with the host name localhost (the certificate names it)."""
        hub = hub or self.hub
        return f"wss://localhost:{hub.ws_port}/agent"

    # --- trusted files ---

    def write_trusted(self, path, text, mode=0o600):
        """A file monsys-action trusts: root-owned, not writable by group or others."""
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
        os.chmod(path, mode)
        return path

    def write_script(self, name, body):
        path = os.path.join(self.workdir, name)
        return self.write_trusted(path, "#!/bin/sh\n" + body, 0o755)

    # --- agent ---

    def agent_config(self, hub=None, **overrides):
        hub = hub or self.hub
        state_dir = os.path.join(self.workdir, "state")
        os.makedirs(state_dir, mode=0o700, exist_ok=True)
        config_path = os.path.join(self.workdir, "agent.json")
        policy_path = os.path.join(self.workdir, "policy.json")
        token_file = os.path.join(self.workdir, "agent.token")
        result_dir = self.install_restart_unit(policy_path)
        testkit.write_agent_token(token_file, hub.agents[AGENT_ID])
        config = {
            "agent_id": AGENT_ID,
            "issuer": hub.issuer,
            "hub_keys": {hub.kid: hub.public_key},
            "systemd_bus": "user",
            "docker_socket": self.testenv["MONSYS_TEST_DOCKER_SOCKET"],
            "state_dir": state_dir,
            "hub_state_dir": os.path.join(self.workdir, "agent-hub-state"),
            # "": no action socket (the default is the packaged one); the agent runs this itself
            "action_socket": "",
            "action_command": [self.action_binary, "--config", config_path, "--policy",
                               policy_path],
            "hub_url": self.hub_url(hub),
            "hub_ca_file": hub.ca_file,
            "hub_token_file": token_file,
            # observe_interval_secs stays at its default (15 s): changes reach the hub through
            # the event path, the rounds are only the safety net.
            "state_interval_secs": 5,
            "restart_timeout_secs": 30,
            "restart_result_dir": result_dir,
            "restart_settle_ms": 500,
            "source_timeout_secs": 10,
            "tags": ["e2e"],
        }
        config.update(overrides)
        config = {k: v for k, v in config.items() if v is not None}
        self.write_trusted(config_path, json.dumps(config, indent=2) + "\n", 0o600)
        self.policy_path = policy_path
        self.restart_commands = {}
        self.write_policy()
        self.config = config
        self.config_path = config_path
        # monsys-action's signing key, made as the packages' postinst makes it, so the agent's
        # first hello already reports it and the hub verifies every result. A test that writes a
        # broken configuration on purpose gets no key (init-key refuses the config as well).
        run([self.action_binary, "--config", config_path, "init-key"], self.env, check=False)
        return config

    def write_policy(self):
        self.write_trusted(self.policy_path, json.dumps(
            {"allowed_types": ["systemd", "docker", "compose", "process"],
             "restart_commands": self.restart_commands}, indent=2) + "\n", 0o644)

    # --- process apps ---

    def allow_process_restart(self, app_path, command, entry=None):
        """The operator's one step: a restart_commands entry for this app and command, run as
        the current user (the test's systemd manager is this user's, not root's PID 1).
        Returns the entry name."""
        entry = entry or unique("e2e-proc")
        self.restart_commands[entry] = {"app": app_path, "command": command,
                                        "user": pwd.getpwuid(os.geteuid()).pw_name}
        self.write_policy()
        return entry

    def install_restart_unit(self, policy_path):
        """monsys-restart@.service in the test's user manager: the packaged template, its
        ExecStart pointed at this class's monsys-action, this test's policy and a result
        directory of its own. Removed in the cleanups. Returns the result directory."""
        result_dir = os.path.join(self.workdir, "restart-results")
        os.makedirs(result_dir, mode=0o750, exist_ok=True)
        os.chmod(result_dir, 0o750)
        with open(os.path.join(SOURCE_DIR, "systemd", "monsys-restart@.service"),
                  encoding="utf-8") as f:
            template = f.read()
        exec_start = (f"ExecStart={self.action_binary} --policy {policy_path} "
                      f"run-restart-command --result-dir {result_dir} %i")
        text, count = re.subn(r"(?m)^ExecStart=.*$", lambda _m: exec_start, template)
        assert count == 1, "systemd/monsys-restart@.service has no single ExecStart="
        path = os.path.join(self.testenv["MONSYS_TEST_USER_UNIT_DIR"], "monsys-restart@.service")
        with open(path, "w", encoding="utf-8") as f:
            f.write(text)
        self.systemctl("daemon-reload")

        def remove():
            units = self.systemctl("list-units", "--all", "--plain", "--no-legend",
                                   "monsys-restart@*", check=False).stdout.split()
            for unit in (u for u in units if u.startswith("monsys-restart@")):
                self.systemctl("stop", unit, check=False)
                self.systemctl("reset-failed", unit, check=False)
            try:
                os.unlink(path)
            except FileNotFoundError:
                pass
            self.systemctl("daemon-reload", check=False)
        self.addCleanup(remove)
        return result_dir

    def start_process(self, *argv):
        """Starts argv detached (own session, no output), as an operator would have started the
        app; killed in the cleanups. Returns the pid."""
        proc = subprocess.Popen(list(argv), stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                stderr=subprocess.DEVNULL, start_new_session=True, env=self.env)
        self.addCleanup(proc.wait)  # cleanups run last first: the kill, then this
        self.addCleanup(self._kill_quietly, proc.pid)
        return proc.pid

    def kill_path_at_cleanup(self, path):
        """Whatever runs `path` when the test ends (a restart command's daemon outlives its
        unit) is killed."""
        self.addCleanup(lambda: [self._kill_quietly(pid) for pid in self.pids_running(path)])

    def pids_running(self, path):
        """The pids whose exe, or whose script (argv[1] of an interpreter), is `path`."""
        pids = []
        for name in os.listdir("/proc"):
            if not name.isdigit():
                continue
            try:
                with open(f"/proc/{name}/cmdline", "rb") as f:
                    argv = f.read().split(b"\0")
                exe = os.readlink(f"/proc/{name}/exe")
            except OSError:
                continue
            if exe == path or (len(argv) > 1 and argv[1].decode(errors="replace") == path):
                pids.append(int(name))
        return sorted(pids)

    @staticmethod
    def _kill_quietly(pid):
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass

    def start_agent(self, log_name="agent.log"):
        agent = AgentProcess(self.config_path, self.env, os.path.join(self.workdir, log_name),
                             self.agent_binary)
        self.agents.append(agent)
        self.addCleanup(agent.terminate, 10)
        return agent.start()

    def start_hub_and_agent(self, apps=(), hub_options=None, **config_overrides):
        """A hub, the apps registered there (dicts of create_app's arguments: name, app_type,
        identifier, ...; the agent learns them from the welcome), then the agent, connected.
        The registered apps are in self.apps."""
        self.start_hub(**(hub_options or {}))
        self.apps = [self.hub.create_app(AGENT_ID, **app) for app in apps]
        self.agent_config(**config_overrides)
        agent = self.start_agent()
        self.wait(lambda: self.hub.agent(AGENT_ID)["connected"], 30, "the agent to connect")
        return agent

    @property
    def outbox_dir(self):
        return os.path.join(self.config["hub_state_dir"], "outbox")

    def outbox_messages(self):
        """The data messages pending in the agent's outbox (one file per message, the frame as
        sent; a wrapper object holding the frame under "text" is understood too)."""
        messages = []
        try:
            names = sorted(os.listdir(self.outbox_dir))
        except FileNotFoundError:
            return messages
        for name in names:
            path = os.path.join(self.outbox_dir, name)
            if not os.path.isfile(path):
                continue
            try:
                with open(path, encoding="utf-8") as f:
                    value = json.loads(f.read())
            except (OSError, ValueError):
                continue
            if isinstance(value, dict) and isinstance(value.get("text"), str):
                try:
                    value = json.loads(value["text"])
                except ValueError:
                    continue
            if isinstance(value, dict):
                messages.append(value)
        return messages

    # --- hub views ---

    def hub_agent(self):
        return self.hub.agent(AGENT_ID)

    def frames_in(self, kind=None, since=0):
        frames = [f for f in self.hub.frames(AGENT_ID) if f["dir"] == "in"]
        frames = frames[since:] if since else frames
        return [f for f in frames if kind is None or f["type"] == kind]

    def wait_app_observed(self, app_id, observed, timeout=30):
        return self.wait(lambda: self.hub.app(app_id)["observed"] == observed and
                         self.hub.app(app_id), timeout, f"{app_id} observed {observed} at the hub")

    def wait_result(self, jti, timeout=60):
        return self.wait(lambda: self.hub.result(jti), timeout, f"the result of {jti}")

    def results_for(self, jti):
        return [r for r in self.hub.api("GET", "/api/v1/results")["results"]
                if r.get("jti") == jti]

    def wait_new_inventory(self, after_seq, timeout=30):
        def newer():
            last = self.hub_agent()["last_inventory"]
            return last if last and last["seq"] > after_seq else None
        return self.wait(newer, timeout, f"an inventory with seq > {after_seq}")

    def wait_new_state(self, after_seq, timeout=20):
        def newer():
            last = self.hub_agent()["last_state"]
            return last if last and last["seq"] > after_seq else None
        return self.wait(newer, timeout, f"a state with seq > {after_seq}")

    def assert_transparency_verifies(self, min_entries):
        verdict = self.hub.verify_transparency()
        self.assertTrue(verdict.get("ok"), verdict)
        self.assertGreaterEqual(verdict["entries"], min_entries, verdict)
        path = os.path.join(self.hub.state_dir, "transparency.jsonl")
        check = subprocess.run([testkit.PYTHON, testkit.VERIFY_SCRIPT, path],
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        self.assertEqual(check.returncode, 0, check.stdout)
        self.assertRegex(check.stdout, r"^ok: \d+ entries")
        with open(path, encoding="utf-8") as f:
            return [json.loads(line) for line in f if line.strip()]

    # --- tokens ---

    def mint(self, app, *, key_path=None, kid=None, now=None, **claims):
        """A token for this agent signed with the hub's key (or `key_path`), minted by
        tests/tools/mint_eat.py (PyJWT)."""
        key = mint_eat.load_private_key(key_path or self.hub.signing_key)
        base = mint_eat.default_claims(int(time.time()) if now is None else now)
        base.update(iss=self.hub.issuer, sub=AGENT_ID, app=app, reason="e2e test token")
        base.update(claims)
        return mint_eat.mint(key, kid or self.hub.kid, base), base["jti"]

    # --- systemd user units ---

    def systemctl(self, *args, check=True):
        return run(["systemctl", "--user", *args], self.env, check=check)

    def assert_unit_restarted(self, jti, unit, first_pid):
        """The result of `jti` is monsys-action's `succeeded`, and the unit really runs again: active,
        with another MainPID than `first_pid`. Returns the hub's result record."""
        record = self.wait_result(jti)
        self.assertEqual(record["reported_by"], "monsys-action", record)
        self.assertEqual(record["result"]["status"], "succeeded", record)
        props = self.unit_props(unit)
        self.assertEqual(props["ActiveState"], "active")
        self.assertNotEqual(props["MainPID"], first_pid)
        return record

    def unit_props(self, unit):
        out = self.systemctl("show", "-p", "ActiveState,SubState,MainPID", unit).stdout
        props = dict(line.split("=", 1) for line in out.splitlines() if "=" in line)
        props["MainPID"] = int(props.get("MainPID", "0") or 0)
        return props

    def make_unit(self, prefix="e2e-unit", extra_service=""):
        """A user unit file <name>.service running sleep, started; stopped and removed in the
        cleanups. Returns the unit name."""
        name = unique(prefix)
        unit = f"{name}.service"
        path = os.path.join(self.testenv["MONSYS_TEST_USER_UNIT_DIR"], unit)
        with open(path, "w", encoding="utf-8") as f:
            f.write("[Unit]\nDescription=monsys end-to-end test unit\n"
                    "StartLimitIntervalSec=0\n\n"
                    "[Service]\nExecStart=/bin/sleep 100000\n" + extra_service)

        def remove():
            self.systemctl("stop", unit, check=False)
            try:
                os.unlink(path)
            except FileNotFoundError:
                pass
            self.systemctl("daemon-reload", check=False)
        self.addCleanup(remove)
        self.systemctl("daemon-reload")
        self.systemctl("start", unit)
        self.wait(lambda: self.unit_props(unit)["MainPID"] > 0, 10, f"{unit} to run")
        return unit

    # --- containers (podman CLI for setup, the Docker API for checks) ---

    def podman(self, *args, check=True):
        return run(["podman", *args], self.env, check=check, timeout=120)

    def make_container(self, name=None, labels=None):
        """A running container that stops promptly on SIGTERM; removed in the cleanups."""
        name = name or unique("e2e-ctr")
        label_args = []
        for key, value in (labels or {}).items():
            label_args += ["--label", f"{key}={value}"]
        self.addCleanup(self.podman, "rm", "-f", "-t", "0", name, check=False)
        self.podman("run", "-d", "--network", "none", "--name", name, *label_args,
                    self.testenv["MONSYS_TEST_IMAGE"], "sh", "-c",
                    "trap 'exit 0' TERM; sleep 100000 & wait")
        return name

    def inspect_container(self, name):
        status, data = docker_get(self.testenv["MONSYS_TEST_DOCKER_SOCKET"],
                                  f"/containers/{name}/json")
        self.assertEqual(status, 200, data)
        return data


def iso_regex():
    return re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$")
