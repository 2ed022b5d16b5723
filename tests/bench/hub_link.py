#!/usr/bin/python3
"""Hub-link benchmark: the real monsys-agent connected to the reference hub (tests/hub/) over wss,
with 10 tracked apps in a private systemd user manager and podman (scripts/testenv/), measuring
in one run:

1. action latency: N restarts of a real systemd user unit requested over the hub's REST API (with
   a TOTP code), carried out by the agent through monsys-action. Per action: the agent's own
   share ("agent overhead" from its log line), monsys-action's run time, and the hub-side round
   trip (action frame written -> action_result frame read, timed inside the hub process before
   the hub stores anything). Interleaved with the same restart done directly, in the same run:
   `monsys-action restart-app` with a freshly minted token, and `systemctl --user restart`.
2. idle cost: after a warm-up, the agent's VmRSS/VmHWM (/proc/PID/status) and CPU time
   (utime+stime of /proc/PID/stat) over --idle-secs with the default intervals (observe 15 s,
   state 60 s); for reference the CPU of podman's API service and of the user manager.
3. wire bytes: bytes_sent/bytes_received of the agent's TCP connection (`ss -tinp`: TCP payload,
   i.e. TLS records, WebSocket framing, pings) at the start and end of the idle window, scaled to
   one hour.

Needs root (monsys-action only trusts root-owned files under /run), the built binaries
(cmake --build build/default --target monsys-agent monsys-action), podman, busybox, ss, and the
Debian python3 (/usr/bin/python3: python3-websockets, aiohttp, pyotp, jwt, cryptography).
Everything it starts is stopped, and its directories removed, when it ends (also on Ctrl-C).

Usage: tests/bench/hub_link.py [--actions N] [--warmup-actions N] [--pause-secs S]
                               [--idle-secs S] [--warmup-secs S] [--sample-secs S]
                               [--build-dir DIR] [--keep]
       scripts/bench-hub-link.sh [same options]
Exit status: 0 figures printed, 1 something failed (the message says what), 2 bad usage.
"""

import argparse
import base64
import datetime
import json
import math
import os
import platform
import re
import secrets
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
HUB_DIR = os.path.join(REPO, "tests", "hub")
TOOLS_DIR = os.path.join(REPO, "tests", "tools")
THIS_FILE = os.path.abspath(__file__)
PYTHON = "/usr/bin/python3"
AGENT_ID = "bench-host"
CLK_TCK = os.sysconf("SC_CLK_TCK")
ACTION_LINE = re.compile(
    r"action (?P<jti>\S+): app (?P<app>\S+) (?P<status>\S+) \(reported by (?P<by>[^)]+)\); "
    r"frame to result (?P<total>-?\d+) us, monsys-action (?P<wrapper>-?\d+) us, "
    r"agent overhead (?P<overhead>-?\d+) us")


class BenchError(Exception):
    """A precondition or a step failed; the message says which."""


# ====================================================================== the timing hub shim
#
# `hub_link.py --hub-shim TIMING_FILE HUB_ARGS...` runs tests/hub/hub.py unchanged, with two of
# its methods wrapped to write CLOCK_MONOTONIC timestamps (system-wide, so comparable with this
# process) of every action frame it sends and every action_result frame it receives. The frame
# is timed on arrival, before the hub validates and fsyncs it; the hub's frames log
# (/api/v1/agents/ID/frames) has only milliseconds and times a received frame after its storage.

def run_hub_shim(timing_file, hub_args):
    sys.path.insert(0, HUB_DIR)
    import asyncio
    import logging

    import agent_link
    import hub

    fd = os.open(timing_file, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)

    def record(direction, kind, jti, t_ns):
        line = json.dumps({"dir": direction, "type": kind, "jti": jti, "t_ns": t_ns})
        os.write(fd, (line + "\n").encode())

    def token_jti(token):
        try:
            payload = token.split(".")[1]
            payload += "=" * (-len(payload) % 4)
            return json.loads(base64.urlsafe_b64decode(payload)).get("jti")
        except (IndexError, ValueError, AttributeError):
            return None

    original_on_frame = agent_link.AgentLink.on_frame
    original_send_raw = agent_link.AgentLink.send_raw

    async def on_frame(self, frame):
        t_ns = time.monotonic_ns()
        if isinstance(frame, str) and '"action_result"' in frame:
            try:
                msg = json.loads(frame)
            except ValueError:
                msg = None
            if isinstance(msg, dict) and msg.get("type") == "action_result":
                record("in", "action_result", msg.get("jti"), t_ns)
        return await original_on_frame(self, frame)

    async def send_raw(self, data, kind):
        sent = await original_send_raw(self, data, kind)
        if sent and kind == "action":
            t_ns = time.monotonic_ns()   # the frame is in the kernel's socket buffer
            try:
                eat = json.loads(data).get("eat")
            except ValueError:
                eat = None
            record("out", "action", token_jti(eat) if isinstance(eat, str) else None, t_ns)
        return sent

    agent_link.AgentLink.on_frame = on_frame
    agent_link.AgentLink.send_raw = send_raw

    args = hub.build_parser().parse_args(hub_args)
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr,
                        format="%(asctime)s %(name)s %(levelname)s %(message)s")
    try:
        return asyncio.run(hub.main(args))
    except (OSError, ValueError) as e:
        print(f"hub.py (bench shim): {e}", file=sys.stderr)
        return 2


# ====================================================================== small helpers

def percentile(values, p):
    """Nearest-rank percentile (p in 0..100) of a non-empty list."""
    ordered = sorted(values)
    rank = max(1, math.ceil(p / 100 * len(ordered)))
    return ordered[rank - 1]


def loadavg():
    with open("/proc/loadavg") as f:
        return " ".join(f.read().split()[:3])


def proc_cpu_ticks(pid):
    """(utime+stime, cutime+cstime) of a process, in clock ticks."""
    with open(f"/proc/{pid}/stat") as f:
        text = f.read()
    fields = text[text.rindex(")") + 2:].split()
    # fields[0] is field 3 (state); utime is field 14, stime 15, cutime 16, cstime 17
    return int(fields[11]) + int(fields[12]), int(fields[13]) + int(fields[14])


def proc_status_kib(pid):
    """The kB fields of /proc/PID/status (VmRSS, VmHWM, RssAnon, ...) as KiB integers."""
    out = {}
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            name, _, value = line.partition(":")
            parts = value.split()
            if len(parts) == 2 and parts[1] == "kB":
                out[name] = int(parts[0])
    return out


def resident_mappings(pid):
    """[(name, KiB)] of the resident memory of a process per mapped file ("[anon]" for anonymous
    memory, "[heap]", "[stack]"...), largest first, and its Pss in KiB."""
    sizes, name = {}, None
    with open(f"/proc/{pid}/smaps") as f:
        for line in f:
            first = line.split(None, 1)[0]
            if "-" in first and not first.endswith(":"):   # a mapping's header line
                parts = line.split(None, 5)
                name = os.path.basename(parts[5].strip()) if len(parts) > 5 else "[anon]"
                name = name or "[anon]"
            elif first == "Rss:" and name is not None:
                sizes[name] = sizes.get(name, 0) + int(line.split()[1])
    pss = None
    with open(f"/proc/{pid}/smaps_rollup") as f:
        for line in f:
            if line.startswith("Pss:"):
                pss = int(line.split()[1])
    return sorted(sizes.items(), key=lambda kv: -kv[1]), pss


def parse_iso(ts):
    """Unix time of the hub's RFC 3339 UTC timestamps (2026-11-28T09:14:02.950Z)."""
    return datetime.datetime.strptime(ts, "%Y-%m-%dT%H:%M:%S.%fZ").replace(
        tzinfo=datetime.timezone.utc).timestamp()


def iso(unix):
    return datetime.datetime.fromtimestamp(unix, datetime.timezone.utc).strftime(
        "%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def read_pid_file(path):
    try:
        with open(path) as f:
            pid = int(f.read().strip())
        os.kill(pid, 0)
        return pid
    except (OSError, ValueError):
        return None


def machine_description():
    model = "?"
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    model = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    total = "?"
    with open("/proc/meminfo") as f:
        for line in f:
            if line.startswith("MemTotal:"):
                total = f"{int(line.split()[1]) / 1048576:.1f} GiB"
                break
    return f"{os.cpu_count()} CPUs ({model}), {total} RAM, Linux {platform.release()}"


def ms(us):
    return us / 1000.0


# ====================================================================== the benchmark

class Bench:
    def __init__(self, options):
        self.o = options
        self.build = os.path.abspath(options.build_dir)
        self.agent_bin = os.path.join(self.build, "agent", "monsys-agent")
        self.action_bin = os.path.join(self.build, "action-wrapper", "monsys-action")
        self.work = None
        self.envfile = None
        self.testenv = None
        self.env = None
        self.hub = None
        self.agent = None
        self.agent_log = None
        self.process_app = None
        self.units = []
        self.containers = []
        self.failures = []
        self.notes = []

    # ------------------------------------------------------------------ preconditions

    def check_preconditions(self):
        if os.geteuid() != 0:
            raise BenchError("must run as root: monsys-action only trusts root-owned config and "
                             "policy files under /run")
        missing = [b for b in (self.agent_bin, self.action_bin) if not os.access(b, os.X_OK)]
        if missing:
            raise BenchError("not built: " + ", ".join(missing) + "\n  build them with: cmake "
                             "--build build/default -j2 --target monsys-agent monsys-action")
        for tool in ("podman", "systemctl", "ss", "busybox", "openssl", "curl"):
            if shutil.which(tool) is None:
                raise BenchError(f"'{tool}' is not installed (scripts/install-deps.sh)")
        if not os.path.isdir("/run") or not os.access("/run", os.W_OK):
            raise BenchError("/run is not writable")
        sys.path.insert(0, HUB_DIR)
        sys.path.insert(0, TOOLS_DIR)
        try:
            global testkit, mint_eat
            import mint_eat  # noqa: F401
            import testkit  # noqa: F401
        except ImportError as e:
            raise BenchError(f"cannot import the hub's test kit ({e}); run with /usr/bin/python3 "
                             "(Debian's python3-websockets, aiohttp, pyotp, jwt, cryptography)")

    # ------------------------------------------------------------------ setup

    def run(self, cmd, check=True, timeout=120, input_text=None, env=None):
        proc = subprocess.run(cmd, env=env or self.env, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True, timeout=timeout,
                              input=input_text,
                              stdin=None if input_text is not None else subprocess.DEVNULL)
        if check and proc.returncode != 0:
            raise BenchError(f"{' '.join(cmd)} exited {proc.returncode}:\n{proc.stdout}"
                             f"{proc.stderr}")
        return proc

    def write_trusted(self, path, text, mode=0o600):
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
        os.chmod(path, mode)
        return path

    def start_testenv(self):
        self.envfile = os.path.join(self.work, "testenv.env")
        start = subprocess.run([os.path.join(REPO, "scripts", "testenv", "start.sh"),
                                self.envfile], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                               text=True, timeout=300)
        if start.returncode != 0:
            raise BenchError(f"scripts/testenv/start.sh failed:\n{start.stdout}")
        env = {}
        with open(self.envfile) as f:
            for line in f:
                name, sep, value = line.rstrip("\n").partition("=")
                if sep and name and not line.startswith("#"):
                    env[name] = value
        self.testenv = env
        self.env = {k: v for k, v in os.environ.items() if k != "JOURNAL_STREAM"}
        self.env.update(env)

    def make_units(self, count):
        unit_dir = self.testenv["MONSYS_TEST_USER_UNIT_DIR"]
        for n in range(1, count + 1):
            unit = f"bench-web-{n}.service"
            with open(os.path.join(unit_dir, unit), "w") as f:
                # No start rate limit: the benchmark restarts one of them many times.
                f.write("[Unit]\nDescription=monsys hub-link bench unit\n"
                        "StartLimitIntervalSec=0\n\n[Service]\nExecStart=/bin/sleep 100000\n")
            self.units.append(unit)
        self.run(["systemctl", "--user", "daemon-reload"])
        self.run(["systemctl", "--user", "start", *self.units])

    def make_container(self, name, labels=()):
        args = []
        for label in labels:
            args += ["--label", label]
        self.containers.append(name)
        # A process that stops on SIGTERM, so a restart does not wait out the stop grace.
        self.run(["podman", "run", "-d", "--network", "none", "--name", name, *args,
                  self.testenv["MONSYS_TEST_IMAGE"], "sh", "-c",
                  "trap 'exit 0' TERM; sleep 100000 & wait"], timeout=180)

    def make_process_app(self):
        exe = os.path.join(self.work, "bin", "bench-worker")
        os.makedirs(os.path.dirname(exe), mode=0o755, exist_ok=True)
        shutil.copy2("/bin/sleep", exe)
        os.chmod(exe, 0o755)
        restart = self.write_trusted(os.path.join(self.work, "bin", "bench-worker-restart"),
                                     "#!/bin/sh\nexit 0\n", 0o755)
        self.process_app = subprocess.Popen([exe, "100000"], stdin=subprocess.DEVNULL,
                                            stdout=subprocess.DEVNULL,
                                            stderr=subprocess.DEVNULL, start_new_session=True)
        return exe, restart

    def start_hub(self):
        bench = self

        class TimedHub(testkit.HubProcess):
            def command(self):
                cmd = super().command()
                assert cmd[:2] == [testkit.PYTHON, testkit.HUB_SCRIPT], cmd
                return [PYTHON, THIS_FILE, "--hub-shim", bench.timing_file, *cmd[2:]]

        self.timing_file = os.path.join(self.work, "hub-timing.jsonl")
        self.hub = TimedHub.create(os.path.join(self.work, "hub"),
                                   {AGENT_ID: secrets.token_urlsafe(24)}, tls=True)
        self.hub.start()

    def write_agent_config(self):
        self.config_path = os.path.join(self.work, "agent.json")
        self.policy_path = os.path.join(self.work, "policy.json")
        token_file = os.path.join(self.work, "agent.token")
        testkit.write_agent_token(token_file, self.hub.agents[AGENT_ID])
        state_dir = os.path.join(self.work, "state")
        os.makedirs(state_dir, mode=0o700, exist_ok=True)
        config = {
            "agent_id": AGENT_ID,
            "issuer": self.hub.issuer,
            "hub_keys": {self.hub.kid: self.hub.public_key},
            "systemd_bus": "user",
            "docker_socket": self.testenv["MONSYS_TEST_DOCKER_SOCKET"],
            "state_dir": state_dir,
            "hub_state_dir": os.path.join(self.work, "agent-hub-state"),
            "action_socket": "",  # no socket: the agent runs action_command itself
            "action_command": [self.action_bin, "--config", self.config_path, "--policy",
                               self.policy_path],
            "hub_url": f"wss://localhost:{self.hub.ws_port}/agent",
            "hub_ca_file": self.hub.ca_file,
            "hub_token_file": token_file,
            "observe_interval_secs": 15,   # the defaults, written out
            "state_interval_secs": 60,
            "restart_timeout_secs": 30,
        }
        self.write_trusted(self.config_path, json.dumps(config, indent=2) + "\n", 0o600)
        self.write_trusted(self.policy_path, json.dumps(
            {"allowed_types": ["systemd", "docker", "compose", "process"]}) + "\n", 0o644)
        # monsys-action's environment as the agent gives it (agent_setup.cpp)
        self.action_env = {"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "LANG": "C.UTF-8",
                           "DBUS_SESSION_BUS_ADDRESS": self.env["DBUS_SESSION_BUS_ADDRESS"],
                           "XDG_RUNTIME_DIR": self.env["XDG_RUNTIME_DIR"]}

    def start_agent(self):
        stat = os.stat(self.agent_bin)
        head = subprocess.run(["git", "-C", REPO, "log", "-1", "--format=%h %cI"],
                              stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        self.binary_info = (f"built {iso(stat.st_mtime)[:-1]} UTC, source tree at "
                            f"{head.stdout.strip() or '?'}")
        self.agent_log = os.path.join(self.work, "agent.log")
        with open(self.agent_log, "ab") as log:
            self.agent = subprocess.Popen([self.agent_bin, "--config", self.config_path],
                                          stdin=subprocess.DEVNULL, stdout=log, stderr=log,
                                          env=self.env)

    def check_agent_alive(self, what):
        if self.agent.poll() is not None:
            raise BenchError(f"the agent exited with {self.agent.returncode} during {what}; "
                             f"its log ends:\n{testkit.file_tail(self.agent_log)}")

    def wait(self, predicate, timeout, what, interval=0.1):
        deadline = time.monotonic() + timeout
        while True:
            value = predicate()
            if value:
                return value
            self.check_agent_alive(what)
            if time.monotonic() > deadline:
                raise BenchError(f"timed out after {timeout} s waiting for {what}; the agent's "
                                 f"log ends:\n{testkit.file_tail(self.agent_log)}")
            time.sleep(interval)

    def setup(self):
        self.work = tempfile.mkdtemp(prefix="monsys-bench-hub-link.", dir="/run")
        os.chmod(self.work, 0o755)
        say(f"setting up in {self.work}: test environment (systemd --user, podman) ...")
        self.start_testenv()
        self.make_units(5)
        for n in (1, 2, 3):
            self.make_container(f"bench-db-{n}")
        for n in (1, 2):
            self.make_container(f"bench-shop-web-{n}",
                                ("com.docker.compose.project=bench-shop",
                                 "com.docker.compose.service=web"))
        exe, restart = self.make_process_app()
        self.start_hub()
        apps = [(f"web-{n}", "systemd", self.units[n - 1], {}) for n in range(1, 6)]
        apps += [(f"db-{n}", "docker", f"bench-db-{n}", {}) for n in (1, 2, 3)]
        apps += [("shop-web", "compose", "bench-shop::web", {})]
        apps += [("worker", "process", exe, {"restart_command": restart})]
        self.apps = [self.hub.create_app(AGENT_ID, name, app_type, identifier, **extra)
                     for name, app_type, identifier, extra in apps]
        self.restart_app = self.apps[0]
        self.write_agent_config()
        say(f"starting the agent with {len(self.apps)} tracked apps "
            "(5 systemd units, 3 containers, 1 compose service of 2 containers, 1 process) ...")
        self.start_agent()
        self.wait(lambda: self.hub.agent(AGENT_ID)["connected"], 60, "the agent to connect")
        # Every app observed once, as the hub sees it; the first inventory acked.
        self.wait(lambda: all(self.hub.app(a["id"])["observed"] is not None for a in self.apps),
                  60, "a state report covering every tracked app")
        self.wait(lambda: self.hub.agent(AGENT_ID)["last_inventory"] is not None, 120,
                  "the first inventory")

    # ------------------------------------------------------------------ 1. actions

    def timing_records(self):
        try:
            with open(self.timing_file) as f:
                return [json.loads(line) for line in f if line.strip()]
        except FileNotFoundError:
            return []

    def agent_action_line(self, jti):
        with open(self.agent_log, encoding="utf-8", errors="replace") as f:
            for line in f:
                if f"action {jti}:" in line:
                    match = ACTION_LINE.search(line)
                    if match:
                        return match
        return None

    def action_via_hub(self, i):
        app = self.restart_app
        answer = self.hub.restart(app["id"], f"hub-link benchmark, restart {i}")
        jti = answer["jti"]
        if answer.get("status") != "sent":
            raise BenchError(f"the hub did not send the action at once: {answer}")

        def done():
            records = [r for r in self.timing_records() if r.get("jti") == jti]
            sent = [r for r in records if r["dir"] == "out"]
            got = [r for r in records if r["dir"] == "in"]
            line = self.agent_action_line(jti)
            return (sent, got, line) if sent and got and line else None
        sent, got, line = self.wait(done, 90, f"the result of action {jti}", interval=0.02)
        record = self.wait(lambda: self.hub.result(jti), 30, f"the stored result of {jti}")
        result = record["result"]
        if result.get("status") != "succeeded" or record.get("reported_by") != "monsys-action":
            self.failures.append(f"action {jti} via the hub: {record.get('reported_by')} "
                                 f"{result.get('status')} {result.get('reason')}: "
                                 f"{result.get('message')}")
            return None
        return {
            "jti": jti,
            "hub_rtt_us": (got[0]["t_ns"] - sent[0]["t_ns"]) / 1000.0,
            "wrapper_us": int(line["wrapper"]),
            "agent_total_us": int(line["total"]),
            "agent_overhead_us": int(line["overhead"]),
            "action_duration_ms": result.get("duration_ms"),
        }

    def action_direct(self, i):
        app = self.restart_app
        key = mint_eat.load_private_key(self.hub.signing_key)
        claims = mint_eat.default_claims(int(time.time()))
        claims.update(iss=self.hub.issuer, sub=AGENT_ID, reason=f"hub-link benchmark, direct {i}",
                      app={"id": app["id"], "type": app["app_type"],
                           "identifier": app["identifier"]})
        token = mint_eat.mint(key, self.hub.kid, claims)
        cmd = [self.action_bin, "--config", self.config_path, "--policy", self.policy_path,
               "restart-app", app["id"]]
        t0 = time.perf_counter_ns()
        proc = subprocess.run(cmd, input=token + "\n", stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True, env=self.action_env,
                              timeout=120)
        wall_us = (time.perf_counter_ns() - t0) / 1000.0
        try:
            result = json.loads(proc.stdout)
        except ValueError:
            result = {}
        if proc.returncode != 0 or result.get("status") != "succeeded":
            self.failures.append(f"direct monsys-action run {i}: exit {proc.returncode} "
                                 f"{proc.stdout.strip()[:300]} {proc.stderr.strip()[:300]}")
            return None
        return wall_us

    def systemctl_restart(self, i):
        t0 = time.perf_counter_ns()
        proc = subprocess.run(["systemctl", "--user", "restart", self.restart_app["identifier"]],
                              stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True, env=self.env, timeout=120)
        wall_us = (time.perf_counter_ns() - t0) / 1000.0
        if proc.returncode != 0:
            self.failures.append(f"systemctl --user restart run {i}: exit {proc.returncode} "
                                 f"{proc.stderr.strip()[:300]}")
            return None
        return wall_us

    def measure_actions(self):
        n = self.o.actions
        say(f"1. action latency: {self.o.warmup_actions} warm-up round(s), then {n} rounds of "
            f"(hub restart, direct monsys-action, systemctl --user restart) on "
            f"{self.restart_app['identifier']} ...")
        self.via_hub, self.direct, self.systemctl, self.rounds = [], [], [], []
        for i in range(-self.o.warmup_actions + 1, n + 1):
            values = []
            for step, sink in ((self.action_via_hub, self.via_hub),
                               (self.action_direct, self.direct),
                               (self.systemctl_restart, self.systemctl)):
                value = step(i)
                values.append(value)
                if i >= 1 and value is not None:
                    sink.append(value)
                time.sleep(self.o.pause_secs)   # the unit settles; the agent goes idle again
            self.rounds.append((i, *values))
        self.frames_log_rtt = self.frames_log_round_trips()

    def frames_log_round_trips(self):
        """The same round trips from the hub's own frames log, for comparison: millisecond
        timestamps, and a received frame is logged only after the hub has stored it (fsync)."""
        parse = parse_iso
        frames = self.hub.frames(AGENT_ID)
        out = []
        for action in self.via_hub:
            for k, frame in enumerate(frames):
                if frame["dir"] == "in" and frame.get("jti") == action["jti"]:
                    sent = [f for f in frames[:k] if f["dir"] == "out" and f["type"] == "action"]
                    if sent:
                        out.append((parse(frame["ts"]) - parse(sent[-1]["ts"])) * 1e6)
                    break
        return out

    # ------------------------------------------------------------------ 2./3. idle window

    def agent_socket(self):
        """(local address, bytes_sent, bytes_received, segs_out, segs_in) of the agent's TCP
        connection to the hub, from `ss -tinp`."""
        proc = self.run(["ss", "-tinpH", "state", "established",
                         f"( dport = :{self.hub.ws_port} )"], env=os.environ)
        records = []   # one per socket: its line, then its indented tcp-info line(s)
        for line in proc.stdout.splitlines():
            if not line.strip():
                continue
            if line[0].isspace() and records:
                records[-1] += " " + line.strip()
            else:
                records.append(line)
        mine = [r for r in records if f"pid={self.agent.pid}," in r]
        if len(mine) != 1:
            raise BenchError(f"expected one TCP connection of the agent (pid {self.agent.pid}) "
                             f"to port {self.hub.ws_port}, ss shows:\n{proc.stdout}")
        text = mine[0]
        fields = text.split()   # Recv-Q Send-Q Local Peer users:... (no State: it is filtered)
        local = fields[2] if len(fields) > 2 else "?"

        def number(name):
            m = re.search(rf"\b{name}:(\d+)", text)
            return int(m.group(1)) if m else 0
        if "segs_out:" not in text:
            raise BenchError(f"ss -i shows no TCP counters for the agent's connection:\n{text}")
        sent = number("bytes_sent")
        return {"local": local, "sent": sent, "received": number("bytes_received"),
                "segs_out": number("segs_out"), "segs_in": number("segs_in")}

    def reference_pids(self):
        root = self.testenv["MONSYS_TESTENV_ROOT"]
        pids = {"podman API service": read_pid_file(os.path.join(root, "podman.pid")),
                "systemd --user": read_pid_file(os.path.join(root, "systemd.pid")),
                "hub (python)": self.hub.proc.pid}
        bus = self.bus_daemon_pid()
        if bus:
            pids["session bus daemon"] = bus
        return {k: v for k, v in pids.items() if v}

    def bus_daemon_pid(self):
        """The pid of the test manager's session bus daemon (dbus.service), 0 when not running."""
        for unit in ("dbus.service", "dbus-broker.service"):
            proc = self.run(["systemctl", "--user", "show", "-p", "MainPID", "--value", unit],
                            check=False)
            pid = proc.stdout.strip()
            if pid.isdigit() and int(pid) > 0:
                return int(pid)
        return 0

    def cpu_snapshot(self, pids):
        out = {}
        for name, pid in pids.items():
            try:
                out[name] = proc_cpu_ticks(pid)
            except OSError:
                pass
        return out

    def measure_idle(self):
        say(f"2./3. idle: {self.o.warmup_secs:g} s warm-up, then a {self.o.idle_secs:g} s window "
            f"(RSS sampled every {self.o.sample_secs:g} s) ...")
        deadline = time.monotonic() + self.o.warmup_secs
        while time.monotonic() < deadline:
            self.check_agent_alive("the warm-up")
            time.sleep(min(1.0, max(0.0, deadline - time.monotonic())))

        pid = self.agent.pid
        ref_pids = self.reference_pids()
        bus_pid = ref_pids.get("session bus daemon", 0)
        if not bus_pid:
            self.notes.append("the session bus daemon (dbus.service) was not running at the start "
                              "of the idle window")
        self.connections_before = self.hub.agent(AGENT_ID)["counters"]["connections"]
        frames_before = len(self.hub.frames(AGENT_ID))
        self.load_idle_start = loadavg()
        sock0 = self.agent_socket()
        cpu0, child0 = proc_cpu_ticks(pid)
        ref0 = self.cpu_snapshot(ref_pids)
        t0 = time.monotonic()
        self.window_wall = [time.time(), None]
        samples = [proc_status_kib(pid)]
        end = t0 + self.o.idle_secs
        while True:
            now = time.monotonic()
            if now >= end:
                break
            time.sleep(min(self.o.sample_secs, end - now))
            self.check_agent_alive("the idle window")
            samples.append(proc_status_kib(pid))
            if bus_pid and not os.path.exists(f"/proc/{bus_pid}"):
                self.notes.append(f"the session bus daemon (pid {bus_pid}) went away at about "
                                  f"{iso(time.time())}, {time.monotonic() - t0:.0f} s into the "
                                  "window (its socket starts it again on the next connection)")
                bus_pid = 0
        cpu1, child1 = proc_cpu_ticks(pid)
        ref1 = self.cpu_snapshot(ref_pids)
        sock1 = self.agent_socket()
        t1 = time.monotonic()
        self.window_wall[1] = time.time()
        samples.append(proc_status_kib(pid))
        self.load_idle_end = loadavg()
        window = t1 - t0

        self.idle = {
            "window": window,
            "rss_max": max(s["VmRSS"] for s in samples),
            "rss_min": min(s["VmRSS"] for s in samples),
            "rss_final": samples[-1]["VmRSS"],
            "hwm": samples[-1]["VmHWM"],
            "anon": samples[-1].get("RssAnon"),
            "file": samples[-1].get("RssFile"),
            "shmem": samples[-1].get("RssShmem"),
            "threads": None,
            "samples": len(samples),
            "cpu_ticks": cpu1 - cpu0,
            "child_ticks": child1 - child0,
            "ref": {name: (ref1[name][0] - ref0[name][0]) for name in ref0 if name in ref1},
            "sock0": sock0, "sock1": sock1,
        }
        self.idle["mappings"], self.idle["pss"] = resident_mappings(pid)
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("Threads:"):
                    self.idle["threads"] = int(line.split()[1])
        self.connections_after = self.hub.agent(AGENT_ID)["counters"]["connections"]
        frames = self.hub.frames(AGENT_ID)
        if len(frames) >= 2000:
            self.notes.append("the hub's frame history (2000) overflowed; frame counts are "
                              "partial")
        self.window_frames = frames[frames_before:] if len(frames) < 2000 else frames

    # ------------------------------------------------------------------ health

    def health(self):
        """What the agent did wrong, as far as the run can tell."""
        issues = []
        views = {a["id"]: self.hub.app(a["id"]) for a in self.apps}
        for app in self.apps:
            view = views[app["id"]]
            if view["observed"] != "running":
                issues.append(f"{app['id']} ({app['app_type']} {app['identifier']}) observed "
                              f"{view['observed']!r} ({view.get('detail')}), expected running")
        try:
            if os.readlink(f"/proc/{self.agent.pid}/exe").endswith(" (deleted)"):
                self.notes.append(f"{self.agent_bin} was replaced (rebuilt) during the run; the "
                                  "figures are for the binary the run started")
        except OSError:
            pass
        counters = self.hub.agent(AGENT_ID)["counters"]
        for name in ("bad_messages", "unknown_types", "seq_conflicts", "duplicate_jti"):
            if counters.get(name):
                issues.append(f"hub counter {name} = {counters[name]}")
        if self.connections_after != self.connections_before:
            issues.append(f"the agent reconnected during the idle window "
                          f"({self.connections_before} -> {self.connections_after} connections)")
        if self.idle["sock0"]["local"] != self.idle["sock1"]["local"]:
            issues.append("the agent's TCP connection changed during the idle window")
        # A state report is due every 60 s (state_interval_secs); say so when one was skipped.
        stamps = [self.window_wall[0]] + sorted(
            parse_iso(f["ts"]) for f in self.window_frames
            if f["dir"] == "in" and f["type"] == "state") + [self.window_wall[1]]
        gaps = [b - a for a, b in zip(stamps, stamps[1:])]
        inner = gaps[1:-1]
        self.notes.append(f"{len(stamps) - 2} state reports in the {self.idle['window']:.0f} s "
                          "window" + (f", {min(inner):.1f} to {max(inner):.1f} s apart"
                                      if inner else ""))
        for a, gap in zip(stamps, gaps):
            if gap > 75:
                issues.append(f"no state report for {gap:.1f} s from "
                              f"{iso(a)} (state_interval_secs is 60)")
        with open(self.agent_log, encoding="utf-8", errors="replace") as f:
            bad = [line.rstrip() for line in f if line.startswith(("warning:", "error:"))]
        return issues, bad

    # ------------------------------------------------------------------ report

    def report(self, load_start, load_end):
        o, idle = self.o, self.idle
        print()
        print("=" * 96)
        print("monsys-agent hub-link benchmark")
        print(f"machine: {machine_description()}")
        print(f"load average (1/5/15 min): start {load_start} | idle window start "
              f"{self.load_idle_start}, end {self.load_idle_end} | end {load_end}")
        print(f"agent: {self.agent_bin} (pid {self.agent.pid}; {self.binary_info}), hub: "
              f"tests/hub over wss on loopback, {len(self.apps)} tracked apps")
        print()

        # --- 1 ---
        n_hub = len(self.via_hub)
        print(f"1. Action latency: restarts of systemd user unit {self.restart_app['identifier']}"
              f" ({o.actions} rounds after {o.warmup_actions} warm-up, interleaved)")
        header = f"   {'':<58}{'n':>3}{'median':>10}{'p90':>10}{'min':>10}{'max':>10}"
        print(header + "   (ms)")

        def row(label, values_us):
            if not values_us:
                print(f"   {label:<58}{0:>3}{'-':>10}{'-':>10}{'-':>10}{'-':>10}")
                return
            vals = [ms(v) for v in values_us]
            print(f"   {label:<58}{len(vals):>3}{statistics.median(vals):>10.1f}"
                  f"{percentile(vals, 90):>10.1f}{min(vals):>10.1f}{max(vals):>10.1f}")
        hub_rtt = [a["hub_rtt_us"] for a in self.via_hub]
        wrapper = [a["wrapper_us"] for a in self.via_hub]
        overhead = [a["agent_overhead_us"] for a in self.via_hub]
        outside = [a["hub_rtt_us"] - a["wrapper_us"] for a in self.via_hub]
        row("via hub: hub round trip (action out -> action_result in)", hub_rtt)
        row("  same, hub frames log (1 ms ticks, after hub's fsync)", self.frames_log_rtt)
        row("via hub: monsys-action run, spawned by the agent [log]", wrapper)
        row("via hub: agent overhead [agent log]  (a)", overhead)
        row("via hub: hub round trip - monsys-action run  (b)", outside)
        row("direct:  monsys-action restart-app, fresh token (wall)", self.direct)
        row("direct:  systemctl --user restart (wall)", self.systemctl)
        if hub_rtt and self.direct:
            d = statistics.median(self.direct)
            row("hub round trip - median direct monsys-action", [v - d for v in hub_rtt])
        if self.direct and self.systemctl:
            print(f"   monsys-action vs systemctl (medians): "
                  f"{ms(statistics.median(self.direct) - statistics.median(self.systemctl)):+.1f}"
                  " ms")
        if overhead:
            med, p90 = ms(statistics.median(overhead)), ms(percentile(overhead, 90))
            med_b, p90_b = ms(statistics.median(outside)), ms(percentile(outside, 90))
            verdict = "MET" if p90 < 20 else "NOT MET"
            print(f"   target agent overhead < 20 ms: {verdict} (a: median {med:.2f}, p90 "
                  f"{p90:.2f} ms; b: median {med_b:.2f}, p90 {p90_b:.2f} ms)")
        print("   (a) the agent's log line: from its action handling (after the token check) to "
              "the result\n       handed to the link, minus the monsys-action child's run "
              "(spawn to exit)\n   (b) everything the hub path adds around that child: TLS + "
              "WebSocket both ways, frame\n       parsing, the agent's token verification and "
              "replay lookup, outbox fsync, scheduling")
        if n_hub < o.actions:
            print(f"   ! only {n_hub} of {o.actions} hub actions succeeded")
        print("   per round (ms): round: hub round trip / monsys-action run / agent overhead | "
              "direct monsys-action | systemctl")

        def cell(value):
            return f"{ms(value):7.1f}" if value is not None else f"{'failed':>7}"
        for i, hub, direct, systemctl in self.rounds:
            via = (f"{cell(hub['hub_rtt_us'])} /{cell(hub['wrapper_us'])} /"
                   f"{cell(hub['agent_overhead_us'])}" if hub else f"{'failed':>25}")
            label = f"{i:>3}" if i >= 1 else "  w"
            print(f"     {label}: {via} |{cell(direct)} |{cell(systemctl)}")
        print("     (w: warm-up, not counted)")
        print()

        # --- 2 ---
        w = idle["window"]
        cpu_s = idle["cpu_ticks"] / CLK_TCK
        cpu_pct = 100.0 * cpu_s / w
        rss_ok = idle["rss_max"] <= 10 * 1024
        print(f"2. Idle cost over {w:.0f} s (after a {o.warmup_secs:g} s warm-up; observe 15 s, "
              f"state 60 s; {idle['samples']} RSS samples)")
        print(f"   VmRSS max      {idle['rss_max'] / 1024:8.2f} MiB   "
              f"(min {idle['rss_min'] / 1024:.2f}, final {idle['rss_final'] / 1024:.2f}; "
              f"target <= 10 MiB: {'MET' if rss_ok else 'NOT MET'})")
        print(f"   final VmRSS by kind:  anon {idle['anon'] / 1024:.2f} MiB, file "
              f"{idle['file'] / 1024:.2f} MiB, shmem {idle['shmem'] / 1024:.2f} MiB; "
              f"{idle['threads']} threads")
        top = ", ".join(f"{name} {kib / 1024:.1f}" for name, kib in idle["mappings"][:6])
        print(f"   largest resident mappings (MiB): {top}; Pss {idle['pss'] / 1024:.2f} MiB")
        print(f"   VmHWM          {idle['hwm'] / 1024:8.2f} MiB   (peak since the agent started, "
              "includes start-up, the inventory and the actions)")
        print(f"   CPU            {cpu_pct:8.4f} %     of one core ({cpu_s:.2f} s user+system in "
              f"{w:.0f} s; target < 0.1 %: {'MET' if cpu_pct < 0.1 else 'NOT MET'})")
        if idle["child_ticks"]:
            print(f"   (children reaped in the window: {idle['child_ticks'] / CLK_TCK:.2f} s)")
        for name, ticks in idle["ref"].items():
            print(f"   for reference: {name:<36} {100.0 * ticks / CLK_TCK / w:8.4f} % "
                  f"({ticks / CLK_TCK:.2f} s)")
        print()

        # --- 3 ---
        s0, s1 = idle["sock0"], idle["sock1"]
        sent, received = s1["sent"] - s0["sent"], s1["received"] - s0["received"]
        segs = (s1["segs_out"] - s0["segs_out"]) + (s1["segs_in"] - s0["segs_in"])
        per_hour = 3600.0 / w
        print(f"3. Wire bytes of the agent's TCP connection ({s1['local']} -> hub), idle window "
              f"{w:.0f} s, ss -tinp")
        print(f"   {'':<28}{'in window':>12}{'per hour':>14}")
        print(f"   {'sent by the agent':<28}{sent:>12,}{sent * per_hour:>14,.0f}  bytes")
        print(f"   {'received by the agent':<28}{received:>12,}{received * per_hour:>14,.0f}  bytes")
        print(f"   {'total':<28}{sent + received:>12,}{(sent + received) * per_hour:>14,.0f}  "
              f"bytes ({(sent + received) * per_hour / 1024:.1f} KiB/h)")
        print(f"   {'TCP segments, both ways':<28}{segs:>12,}{segs * per_hour:>14,.0f}  "
              f"(TCP payload only; IP+TCP headers add ~52 bytes per segment: "
              f"~{segs * per_hour * 52 / 1024:.1f} KiB/h)")
        kinds = {}
        for f in self.window_frames:
            key = (f["dir"], f["type"])
            count, size = kinds.get(key, (0, 0))
            kinds[key] = (count + 1, size + (f.get("bytes") or 0))
        listing = ", ".join(f"{d} {t} x{c} ({b:,} B JSON)" for (d, t), (c, b) in sorted(
            kinds.items(), key=lambda kv: (kv[0][0], str(kv[0][1]))))
        print(f"   frames in the window (hub's log; pings not listed): {listing or 'none'}")
        print()

        # --- health ---
        issues, bad_lines = self.health()
        print("Agent health")
        for issue in issues:
            print(f"   ! {issue}")
        for failure in self.failures:
            print(f"   ! {failure}")
        for note in self.notes:
            print(f"   note: {note}")
        print(f"   agent log: {len(bad_lines)} warning/error lines"
              + (":" if bad_lines else ""))
        for line in bad_lines[:15]:
            print(f"     {line[:200]}")
        if len(bad_lines) > 15:
            print(f"     ... and {len(bad_lines) - 15} more")
        print("=" * 96)
        return not self.failures

    # ------------------------------------------------------------------ cleanup

    def cleanup(self):
        if self.agent is not None and self.agent.poll() is None:
            self.agent.send_signal(signal.SIGTERM)
            try:
                self.agent.wait(20)
            except subprocess.TimeoutExpired:
                self.agent.kill()
                self.agent.wait()
        if self.hub is not None:
            try:
                self.hub.stop()
            except Exception as e:  # keep cleaning up
                print(f"hub-link bench: stopping the hub: {e}", file=sys.stderr)
        if self.process_app is not None and self.process_app.poll() is None:
            self.process_app.kill()
            self.process_app.wait()
        if self.testenv is not None:
            for name in self.containers:
                subprocess.run(["podman", "rm", "-f", "-t", "0", name], env=self.env,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=120)
            if self.units:
                subprocess.run(["systemctl", "--user", "stop", *self.units], env=self.env,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=60)
        if self.envfile is not None:
            subprocess.run([os.path.join(REPO, "scripts", "testenv", "stop.sh"), self.envfile],
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=300)
        if self.work is not None:
            if self.o.keep:
                say(f"kept {self.work} (agent.log, hub/hub.log, hub-timing.jsonl)")
            else:
                shutil.rmtree(self.work, ignore_errors=True)


def say(text):
    print(f"hub-link bench: {text}", file=sys.stderr, flush=True)


def parse_args(argv):
    parser = argparse.ArgumentParser(
        description="Hub-link benchmark of monsys-agent: action latency overhead, idle RSS and "
                    "CPU, wire bytes per hour, with 10 tracked apps.")
    parser.add_argument("--actions", type=int, default=10,
                        help="restarts through the hub (and of each direct way); default 10")
    parser.add_argument("--warmup-actions", type=int, default=1,
                        help="uncounted rounds before them; default 1")
    parser.add_argument("--pause-secs", type=float, default=0.5,
                        help="pause after each restart; default 0.5")
    parser.add_argument("--idle-secs", type=float, default=600,
                        help="the idle window; default 600 (10 minutes)")
    parser.add_argument("--warmup-secs", type=float, default=30,
                        help="wait before the idle window; default 30")
    parser.add_argument("--sample-secs", type=float, default=5,
                        help="RSS sampling period in the idle window; default 5")
    parser.add_argument("--build-dir", default=os.path.join(REPO, "build", "default"),
                        help="where monsys-agent and monsys-action are built; "
                             "default build/default")
    parser.add_argument("--keep", action="store_true",
                        help="keep the work directory under /run (logs) afterwards")
    options = parser.parse_args(argv)
    if options.actions < 1 or options.warmup_actions < 0 or options.idle_secs <= 0 \
            or options.warmup_secs < 0 or options.sample_secs <= 0 or options.pause_secs < 0:
        parser.error("--actions >= 1, --idle-secs > 0, --sample-secs > 0, others >= 0")
    return options


def main(argv):
    if argv[:1] == ["--hub-shim"]:
        return run_hub_shim(argv[1], argv[2:])
    options = parse_args(argv)
    bench = Bench(options)

    def on_signal(signum, _frame):
        raise KeyboardInterrupt(f"signal {signum}")
    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGHUP, on_signal)
    try:
        bench.check_preconditions()
        load_start = loadavg()
        bench.setup()
        bench.measure_actions()
        bench.measure_idle()
        load_end = loadavg()
        ok = bench.report(load_start, load_end)
        return 0 if ok else 1
    except BenchError as e:
        print(f"hub-link bench: {e}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("hub-link bench: interrupted; cleaning up", file=sys.stderr)
        return 1
    except Exception:
        if bench.agent_log:
            print("hub-link bench: the agent's log ends:\n" + testkit.file_tail(bench.agent_log),
                  file=sys.stderr)
        if bench.hub is not None:
            print(f"hub-link bench: the hub's log ends:\n{bench.hub.log_tail()}",
                  file=sys.stderr)
        raise
    finally:
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        signal.signal(signal.SIGHUP, signal.SIG_IGN)
        bench.cleanup()


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
