#!/usr/bin/python3
"""Soak benchmark (not in CI): the real monsys-agent for --minutes against a scripted hostile hub,
recording every --sample-secs the agent's RSS, open fds, threads, outbox files and bytes, and CPU.
All of them should stay flat: the bounds of docs/protocol.md ("The outbox") hold them.

The hub is the reference hub (tests/hub/) driven through its REST test hooks by a script that
each second draws one of: an app-list change (an app created or deleted), a collect, a valid
restart (REST, TOTP), a signed but expired token (a verified refusal), a burst of junk action
frames (unverifiable tokens, up to 400 at once), garbage frames (not JSON, a binary frame, a
known type with missing fields), an oversize frame (1.5 MiB: the agent must drop the connection
and come back), a disconnect (a close or an abort), and withheld acks (for one to four minutes).
Meanwhile the tracked systemd units and containers are stopped and started and the tracked
process is killed and started again.

Runs a private test environment (scripts/testenv/start.sh: its own systemd user manager and
podman), so it needs root, podman, busybox and the Debian python3 (/usr/bin/python3:
python3-websockets, aiohttp, pyotp, jwt, cryptography), and the built binaries.

Usage: tests/bench/soak/soak.py [--minutes N] [--sample-secs S] [--seed N]
                                [--build-dir DIR] [--json FILE] [--keep]
Exit status: 0 the figures stayed within their bounds, 1 something failed or grew (the message
says what), 2 bad usage.
"""

import argparse
import json
import os
import random
import secrets
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__)))))
sys.path.insert(0, os.path.join(REPO, "tests", "hub"))
sys.path.insert(0, os.path.join(REPO, "tests", "tools"))

import mint_eat  # noqa: E402
import testkit  # noqa: E402

AGENT_ID = "soak-host"
CLK_TCK = os.sysconf("SC_CLK_TCK")
# docs/protocol.md, "The outbox": 1,000 results and 16 MiB; one inventory and one state beside
# them. A sample over these means a bound does not hold.
MAX_OUTBOX_FILES = 1000 + 2
MAX_OUTBOX_BYTES = (16 << 20) + (8 << 20)


class SoakError(Exception):
    """A precondition or a step failed; the message says which."""


def say(text):
    print(f"soak: {text}", file=sys.stderr, flush=True)


def proc_status(pid):
    out = {}
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            name, _, value = line.partition(":")
            out[name] = value.split()
    return out


def proc_cpu_ticks(pid):
    with open(f"/proc/{pid}/stat") as f:
        text = f.read()
    fields = text[text.rindex(")") + 2:].split()
    return int(fields[11]) + int(fields[12])


def directory_usage(path):
    """(regular files, bytes) directly under `path` and its corrupt/ subdirectory."""
    files = size = 0
    for root in (path, os.path.join(path, "corrupt")):
        try:
            entries = list(os.scandir(root))
        except FileNotFoundError:
            continue
        for entry in entries:
            if entry.is_file(follow_symlinks=False):
                files += 1
                size += entry.stat(follow_symlinks=False).st_size
    return files, size


class Soak:
    def __init__(self, options):
        self.o = options
        self.rng = random.Random(options.seed)
        self.work = self.envfile = self.testenv = self.hub = self.agent = None
        self.agent_log = None
        self.env = dict(os.environ)
        self.units, self.containers, self.apps = [], [], []
        self.extra_apps = []
        self.process = None
        self.process_exe = None
        self.acks_back_at = None
        self.events = {}
        self.samples = []

    # ------------------------------------------------------------------ setup

    def run(self, cmd, check=True, timeout=120):
        done = subprocess.run(cmd, env=self.env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                              text=True, timeout=timeout)
        if check and done.returncode != 0:
            raise SoakError(f"{' '.join(cmd)} failed ({done.returncode}):\n{done.stdout}")
        return done

    def write_trusted(self, path, text, mode=0o600):
        with open(path, "w") as f:
            f.write(text)
        os.chmod(path, mode)
        return path

    def setup(self):
        self.agent_bin = os.path.join(self.o.build_dir, "agent", "monsys-agent")
        self.action_bin = os.path.join(self.o.build_dir, "action-wrapper", "monsys-action")
        for binary in (self.agent_bin, self.action_bin):
            if not os.access(binary, os.X_OK):
                raise SoakError(f"{binary} is not built")
        if os.geteuid() != 0:
            raise SoakError("needs root (monsys-action trusts only root-owned files)")
        self.work = tempfile.mkdtemp(prefix="monsys-soak.", dir="/run")
        os.chmod(self.work, 0o755)
        # Copies, so a rebuild during the run does not swap the binaries.
        for name in ("agent_bin", "action_bin"):
            copy = os.path.join(self.work, os.path.basename(getattr(self, name)))
            shutil.copy2(getattr(self, name), copy)
            setattr(self, name, copy)
        say(f"setting up in {self.work}: test environment (systemd --user, podman) ...")
        self.envfile = os.path.join(self.work, "testenv.env")
        start = subprocess.run([os.path.join(REPO, "scripts", "testenv", "start.sh"),
                                self.envfile], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                               text=True, timeout=300)
        if start.returncode != 0:
            raise SoakError(f"scripts/testenv/start.sh failed:\n{start.stdout}")
        self.testenv = {}
        with open(self.envfile) as f:
            for line in f:
                name, sep, value = line.rstrip("\n").partition("=")
                if sep and name and not line.startswith("#"):
                    self.testenv[name] = value
        self.env = {k: v for k, v in os.environ.items() if k != "JOURNAL_STREAM"}
        self.env.update(self.testenv)

        unit_dir = self.testenv["MONSYS_TEST_USER_UNIT_DIR"]
        for n in (1, 2, 3):
            unit = f"soak-web-{n}.service"
            self.write_trusted(os.path.join(unit_dir, unit),
                               "[Unit]\nDescription=monsys soak unit\nStartLimitIntervalSec=0\n\n"
                               "[Service]\nExecStart=/bin/sleep 100000\n", 0o644)
            self.units.append(unit)
        self.run(["systemctl", "--user", "daemon-reload"])
        self.run(["systemctl", "--user", "start", *self.units])
        for n in (1, 2):
            name = f"soak-db-{n}"
            self.run(["podman", "run", "-d", "--network", "none", "--name", name,
                      self.testenv["MONSYS_TEST_IMAGE"], "sh", "-c",
                      "trap 'exit 0' TERM; sleep 100000 & wait"], timeout=180)
            self.containers.append(name)
        self.process_exe = os.path.join(self.work, "bin", "soak-worker")
        os.makedirs(os.path.dirname(self.process_exe), mode=0o755)
        shutil.copy2("/bin/sleep", self.process_exe)
        self.start_process()

        self.hub = testkit.HubProcess.create(os.path.join(self.work, "hub"),
                                             {AGENT_ID: secrets.token_urlsafe(24)}, tls=True)
        self.hub.start()
        apps = [(f"web-{n}", "systemd", self.units[n - 1]) for n in (1, 2, 3)]
        apps += [(f"db-{n}", "docker", self.containers[n - 1]) for n in (1, 2)]
        apps += [("worker", "process", self.process_exe)]
        self.apps = [self.hub.create_app(AGENT_ID, name, app_type, identifier)
                     for name, app_type, identifier in apps]
        self.write_agent_config()
        self.agent_log = os.path.join(self.work, "agent.log")
        with open(self.agent_log, "ab") as log:
            self.agent = subprocess.Popen([self.agent_bin, "--config", self.config_path],
                                          stdin=subprocess.DEVNULL, stdout=log, stderr=log,
                                          env=self.env)
        self.wait(lambda: self.hub.agent(AGENT_ID)["connected"], 60, "the agent to connect")
        self.wait(lambda: self.hub.agent(AGENT_ID)["last_inventory"] is not None, 180,
                  "the first inventory")

    def write_agent_config(self):
        self.config_path = os.path.join(self.work, "agent.json")
        policy_path = os.path.join(self.work, "policy.json")
        token_file = os.path.join(self.work, "agent.token")
        testkit.write_agent_token(token_file, self.hub.agents[AGENT_ID])
        state_dir = os.path.join(self.work, "state")
        os.makedirs(state_dir, mode=0o700)
        self.hub_state_dir = os.path.join(self.work, "agent-hub-state")
        config = {
            "agent_id": AGENT_ID,
            "issuer": self.hub.issuer,
            "hub_keys": {self.hub.kid: self.hub.public_key},
            "systemd_bus": "user",
            "docker_socket": self.testenv["MONSYS_TEST_DOCKER_SOCKET"],
            "state_dir": state_dir,
            "hub_state_dir": self.hub_state_dir,
            "action_socket": "",
            "action_command": [self.action_bin, "--config", self.config_path, "--policy",
                               policy_path],
            "hub_url": f"wss://localhost:{self.hub.ws_port}/agent",
            "hub_ca_file": self.hub.ca_file,
            "hub_token_file": token_file,
            "observe_interval_secs": 15,
            "state_interval_secs": 60,
            "restart_timeout_secs": 30,
        }
        self.write_trusted(self.config_path, json.dumps(config, indent=2) + "\n")
        self.write_trusted(policy_path, json.dumps(
            {"allowed_types": ["systemd", "docker", "compose", "process"]}) + "\n", 0o644)

    def start_process(self):
        self.process = subprocess.Popen([self.process_exe, "100000"], stdin=subprocess.DEVNULL,
                                        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                        start_new_session=True)

    def wait(self, predicate, timeout, what):
        deadline = time.monotonic() + timeout
        while True:
            try:
                value = predicate()
            except testkit.ApiError:
                value = None
            if value:
                return value
            self.check_alive(what)
            if time.monotonic() > deadline:
                raise SoakError(f"timed out after {timeout} s waiting for {what}; the agent's "
                                f"log ends:\n{testkit.file_tail(self.agent_log)}")
            time.sleep(0.2)

    def check_alive(self, what):
        if self.agent is not None and self.agent.poll() is not None:
            raise SoakError(f"the agent exited with {self.agent.returncode} during {what}; its "
                            f"log ends:\n{testkit.file_tail(self.agent_log)}")

    # ------------------------------------------------------------------ the hostile hub

    def count(self, event):
        self.events[event] = self.events.get(event, 0) + 1

    def hub_call(self, event, fn, *args, **kwargs):
        """A test hook; 409 (the agent is not connected right now) is part of the game."""
        try:
            fn(*args, **kwargs)
            self.count(event)
        except testkit.ApiError as e:
            if e.status != 409:
                raise
            self.count(event + " (agent away)")

    def junk_burst(self):
        for i in range(self.rng.randint(50, 400)):
            token = secrets.token_urlsafe(self.rng.randint(10, 300))
            if i % 3 == 0:   # a token-shaped junk: three parts, claims of another agent
                token = ".".join(secrets.token_urlsafe(40) for _ in range(3))
            try:
                self.hub.test_send(AGENT_ID, text=json.dumps({"type": "action", "eat": token}))
            except testkit.ApiError as e:
                if e.status != 409:
                    raise
                break
        self.count("junk action burst")

    def expired_token(self):
        app = self.rng.choice(self.apps)
        key = mint_eat.load_private_key(self.hub.signing_key)
        claims = mint_eat.default_claims(int(time.time()) - 3600)
        claims.update(iss=self.hub.issuer, sub=AGENT_ID, reason="soak: expired",
                      app={"id": app["id"], "type": app["app_type"],
                           "identifier": app["identifier"]})
        token = mint_eat.mint(key, self.hub.kid, claims)
        self.hub_call("expired signed token", self.hub.test_send, AGENT_ID,
                      text=json.dumps({"type": "action", "eat": token}))

    def garbage(self):
        kind = self.rng.randrange(4)
        if kind == 0:
            self.hub_call("garbage frame", self.hub.test_send, AGENT_ID, text="{not json")
        elif kind == 1:
            self.hub_call("garbage frame", self.hub.test_send, AGENT_ID,
                          binary=os.urandom(self.rng.randint(1, 4096)))
        elif kind == 2:
            self.hub_call("garbage frame", self.hub.test_send, AGENT_ID,
                          text='{"type":"apps","apps":"no"}')
        else:
            self.hub_call("garbage frame", self.hub.test_send, AGENT_ID,
                          text='{"type":"ack"}')

    def oversize(self):
        self.hub_call("oversize frame", self.hub.test_send, AGENT_ID,
                      text='{"type":"collect","pad":"' + "x" * (3 << 19) + '"}')

    def app_list_change(self):
        if self.extra_apps and self.rng.random() < 0.5:
            self.hub.delete_app(self.extra_apps.pop()["id"])
            self.count("app deleted")
        elif len(self.extra_apps) < 20:
            unit = f"soak-absent-{secrets.token_hex(3)}.service"
            self.extra_apps.append(self.hub.create_app(AGENT_ID, unit, "systemd", unit))
            self.count("app created")

    def valid_restart(self):
        app = self.rng.choice(self.apps[:5])  # units and containers
        try:
            self.hub.restart(app["id"], "soak: restart")
            self.count("valid restart")
        except testkit.ApiError as e:
            if e.status not in (409, 429):
                raise
            self.count("valid restart (refused by the hub)")

    def withhold_acks(self):
        if self.acks_back_at is None:
            self.hub.test_acks(AGENT_ID, False)
            self.acks_back_at = time.monotonic() + self.rng.uniform(60, 240)
            self.count("acks withheld")

    def disconnect(self):
        self.hub_call("disconnect", self.hub.test_disconnect, AGENT_ID,
                      abort=self.rng.random() < 0.5)

    def churn_host(self):
        choice = self.rng.randrange(3)
        if choice == 0:
            unit = self.rng.choice(self.units)
            self.run(["systemctl", "--user", "stop", unit])
            time.sleep(self.rng.uniform(0, 2))
            self.run(["systemctl", "--user", "start", unit])
            self.count("unit stopped and started")
        elif choice == 1:
            name = self.rng.choice(self.containers)
            self.run(["podman", "stop", "-t", "1", name], check=False)
            self.run(["podman", "start", name], check=False)
            self.count("container stopped and started")
        else:
            self.process.kill()
            self.process.wait()
            time.sleep(self.rng.uniform(0, 2))
            self.start_process()
            self.count("process killed and started")

    def step(self):
        if self.acks_back_at is not None and time.monotonic() >= self.acks_back_at:
            self.hub.test_acks(AGENT_ID, True)
            self.acks_back_at = None
        moves = [(self.junk_burst, 10), (self.expired_token, 10), (self.garbage, 10),
                 (self.oversize, 2), (self.app_list_change, 8), (self.valid_restart, 3),
                 (self.withhold_acks, 1), (self.disconnect, 3), (self.churn_host, 10),
                 (lambda: self.hub_call("collect", self.hub.test_collect, AGENT_ID), 3)]
        move = self.rng.choices([m for m, _ in moves], [w for _, w in moves])[0]
        move()

    # ------------------------------------------------------------------ measuring

    def sample(self, started, cpu_before, at_before):
        pid = self.agent.pid
        status = proc_status(pid)
        cpu = proc_cpu_ticks(pid)
        now = time.monotonic()
        outbox_files, outbox_bytes = directory_usage(os.path.join(self.hub_state_dir, "outbox"))
        row = {
            "minute": round((now - started) / 60, 1),
            "rss_kib": int(status["VmRSS"][0]),
            "hwm_kib": int(status["VmHWM"][0]),
            "fds": len(os.listdir(f"/proc/{pid}/fd")),
            "threads": int(status["Threads"][0]),
            "outbox_files": outbox_files,
            "outbox_bytes": outbox_bytes,
            "cpu_pct": round(100.0 * (cpu - cpu_before) / CLK_TCK / max(now - at_before, 1e-3),
                             1),
        }
        self.samples.append(row)
        say("minute {minute:5.1f}: RSS {rss_kib} KiB, fds {fds}, threads {threads}, outbox "
            "{outbox_files} files / {outbox_bytes} B, CPU {cpu_pct} %".format(**row))
        return cpu, now

    def soak(self):
        say(f"soaking for {self.o.minutes} min, a sample every {self.o.sample_secs} s ...")
        started = time.monotonic()
        end = started + self.o.minutes * 60
        cpu, at = self.sample(started, proc_cpu_ticks(self.agent.pid), started)
        next_sample = started + self.o.sample_secs
        while time.monotonic() < end:
            self.check_alive("the soak")
            self.step()
            if time.monotonic() >= next_sample:
                cpu, at = self.sample(started, cpu, at)
                next_sample += self.o.sample_secs
            time.sleep(self.rng.uniform(0.2, 1.5))
        # The hub acks again and the agent is left alone for a moment. After a run of short
        # connections its back-off may be minutes long (its cap), so no reconnect is required.
        if self.acks_back_at is not None:
            self.hub.test_acks(AGENT_ID, True)
        time.sleep(min(30, self.o.sample_secs))
        self.check_alive("the end of the soak")
        self.sample(started, cpu, at)

    def report(self):
        rows = self.samples
        say("events: " + ", ".join(f"{k} {v}" for k, v in sorted(self.events.items())))
        print("| minute | RSS KiB | fds | threads | outbox files | outbox bytes | CPU % |")
        print("|---:|---:|---:|---:|---:|---:|---:|")
        for r in rows:
            print(f"| {r['minute']} | {r['rss_kib']} | {r['fds']} | {r['threads']} | "
                  f"{r['outbox_files']} | {r['outbox_bytes']} | {r['cpu_pct']} |")
        problems = []
        if max(r["outbox_files"] for r in rows) > MAX_OUTBOX_FILES:
            problems.append("the outbox held more files than its bound")
        if max(r["outbox_bytes"] for r in rows) > MAX_OUTBOX_BYTES:
            problems.append("the outbox held more bytes than its bound")
        if len(rows) >= 8:
            # Flat: the last quarter's median is not far above the second quarter's (the first
            # quarter is warm-up: the first inventory, arenas filling).
            quarter = len(rows) // 4
            for name, slack in (("rss_kib", 1.25), ("fds", 1.0), ("threads", 1.0)):
                early = statistics.median(r[name] for r in rows[quarter:2 * quarter])
                late = statistics.median(r[name] for r in rows[-quarter:])
                if late > early * slack + (4 if name != "rss_kib" else 2048):
                    problems.append(f"{name} grew: median {early} -> {late}")
        summary = {"minutes": self.o.minutes, "seed": self.o.seed, "events": self.events,
                   "samples": rows, "problems": problems}
        if self.o.json:
            with open(self.o.json, "w") as f:
                json.dump(summary, f, indent=2)
        for problem in problems:
            say("NOT FLAT: " + problem)
        return not problems

    def cleanup(self):
        if self.agent is not None and self.agent.poll() is None:
            self.agent.send_signal(signal.SIGTERM)
            try:
                self.agent.wait(30)
            except subprocess.TimeoutExpired:
                self.agent.kill()
                self.agent.wait()
        if self.hub is not None:
            try:
                self.hub.stop()
            except Exception as e:  # keep cleaning up
                say(f"stopping the hub: {e}")
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait()
        if self.testenv is not None:
            for name in self.containers:
                subprocess.run(["podman", "rm", "-f", "-t", "0", name], env=self.env,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=120)
        if self.envfile is not None:
            subprocess.run([os.path.join(REPO, "scripts", "testenv", "stop.sh"), self.envfile],
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=300)
        if self.work is not None:
            if self.o.keep:
                say(f"kept {self.work} (agent.log, hub/)")
            else:
                shutil.rmtree(self.work, ignore_errors=True)


def parse_args(argv):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--minutes", type=float, default=60, help="default 60")
    parser.add_argument("--sample-secs", type=float, default=60, help="default 60")
    parser.add_argument("--seed", type=int, default=1, help="of the hub's script; default 1")
    parser.add_argument("--build-dir", default=os.path.join(REPO, "build", "default"),
                        help="where monsys-agent and monsys-action are built")
    parser.add_argument("--json", help="also write the samples and events here")
    parser.add_argument("--keep", action="store_true",
                        help="keep the work directory under /run (logs) afterwards")
    options = parser.parse_args(argv)
    if options.minutes <= 0 or options.sample_secs <= 0:
        parser.error("--minutes and --sample-secs must be positive")
    return options


def main(argv):
    options = parse_args(argv)
    soak = Soak(options)

    def on_signal(signum, _frame):
        raise KeyboardInterrupt(f"signal {signum}")
    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGHUP, on_signal)
    try:
        soak.setup()
        soak.soak()
        return 0 if soak.report() else 1
    except SoakError as e:
        say(str(e))
        if soak.samples:
            soak.report()
        return 1
    except KeyboardInterrupt:
        say("interrupted; cleaning up")
        if soak.samples:
            soak.report()
        return 1
    finally:
        soak.cleanup()


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
