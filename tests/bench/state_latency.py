#!/usr/bin/python3
"""State-change latency and flood benchmark: the real monsys-agent against the reference hub
(tests/hub/), with apps in the test environment's systemd user manager and podman, measuring in
one run:

1. latency: for each kind of change (unit stop, unit crash by SIGKILL of its main pid, container
   kill, container stop, process kill), the time from the change to the hub's receipt of the
   `state` message that shows the app stopped (the hub stamps every frame it reads). p50, p99 and
   max over --changes changes of each kind, with the event path on (the default) and off
   (`observe_events: false`, rounds every observe_interval_secs, default 15 s) in the same run.
   Each kind has --apps apps used in turn, so an app changed back (started again) has time to be
   seen running before its next change; the changes of one iteration go out a random 0.2-1 s
   apart, in a random order.
2. flood: a unit in a restart loop (Restart=always, RestartSec=100ms) tracked for --flood-secs:
   state messages per second at the hub, and the agent's CPU (utime+stime) over that time.

The latency of one change is (the hub's receipt time, in ms, of the newest state message when a
poll every 20 ms first sees the app stopped) - (the time just before the change: systemctl stop,
kill(2) of the main pid or the process, the engine's API kill or stop?t=1 on its socket). Two state
messages within 20 ms of each other would overstate it; the agent sends at most one per 250 ms.

Needs the test environment (scripts/testenv/start.sh FILE, or ctest's testenv.start fixture) and
the variables the e2e tests get: MONSYS_AGENT_BINARY, MONSYS_ACTION_BINARY, MONSYS_TESTENV_FILE,
MONSYS_SOURCE_DIR. For example:
  flock /tmp/monsys-integration.lock sh -c 'ctest --test-dir BUILD -R testenv.start &&
    MONSYS_AGENT_BINARY=BUILD/agent/monsys-agent MONSYS_ACTION_BINARY=BUILD/action-wrapper/monsys-action
    MONSYS_TESTENV_FILE=BUILD/testenv/env MONSYS_SOURCE_DIR=$PWD tests/bench/state_latency.py;
    ctest --test-dir BUILD -R testenv.stop'
Options (environment): MONSYS_BENCH_CHANGES (20), MONSYS_BENCH_APPS (4), MONSYS_BENCH_FLOOD_SECS
(20). Prints the figures; exit status 0 when it ran.
"""

import datetime
import os
import random
import signal
import sys
import threading
import time
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
                                "e2e"))
from e2e_support import AGENT_ID, E2ETestCase, _UnixHTTPConnection  # noqa: E402

CHANGES = int(os.environ.get("MONSYS_BENCH_CHANGES", "20"))
APPS_PER_KIND = int(os.environ.get("MONSYS_BENCH_APPS", "4"))
FLOOD_SECS = float(os.environ.get("MONSYS_BENCH_FLOOD_SECS", "20"))
KINDS = ("unit stop", "unit crash", "container kill", "container stop", "process kill")
CLK_TCK = os.sysconf("SC_CLK_TCK")
RESULTS = {}


def parse_iso(text):
    return datetime.datetime.strptime(text, "%Y-%m-%dT%H:%M:%S.%fZ").replace(
        tzinfo=datetime.timezone.utc).timestamp()


def percentile(values, p):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(p * len(ordered)))]


def docker_post(socket_path, path):
    """POST on the engine's API: a container change without the CLI's start-up time."""
    conn = _UnixHTTPConnection(socket_path)
    try:
        conn.request("POST", path)
        response = conn.getresponse()
        response.read()
        return response.status
    finally:
        conn.close()


class StatePoller(threading.Thread):
    """Reads the hub's last state every 20 ms and keeps, for each app, the hub's receipt time of
    the first state message that showed it stopped (since it was last seen otherwise). The only
    caller of the hub's API while it runs."""

    def __init__(self, hub):
        super().__init__(daemon=True)
        self.hub = hub
        self.lock = threading.Lock()
        self.states = {}
        self.stopped_at = {}
        self.done = threading.Event()

    def run(self):
        while not self.done.is_set():
            state = self.hub.agent(AGENT_ID)["last_state"]
            if state:
                received = parse_iso(state["received_at"])
                with self.lock:
                    for app in state["apps"]:
                        if app["observed"] == "stopped" and app["id"] not in self.stopped_at:
                            self.stopped_at[app["id"]] = received
                        elif app["observed"] != "stopped":
                            self.stopped_at.pop(app["id"], None)
                        self.states[app["id"]] = app["observed"]
            time.sleep(0.02)

    def get(self, app_id):
        with self.lock:
            return self.states.get(app_id), self.stopped_at.get(app_id)


def cpu_secs(pid):
    with open(f"/proc/{pid}/stat", encoding="utf-8") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLK_TCK


class StateLatency(E2ETestCase):

    def make_fixtures(self):
        """APPS_PER_KIND apps of every kind, running: (kind, app spec, change, restore)."""
        fixtures = []
        for _ in range(APPS_PER_KIND):
            for kind in ("unit stop", "unit crash"):
                unit = self.make_unit("lat-unit")
                if kind == "unit stop":
                    change = (lambda u: lambda: self.systemctl("stop", u))(unit)
                else:
                    change = (lambda u: lambda: os.kill(self.unit_props(u)["MainPID"],
                                                        signal.SIGKILL))(unit)
                restore = (lambda u: lambda: self.systemctl("start", u))(unit)
                fixtures.append((kind, {"name": unit, "app_type": "systemd", "identifier": unit},
                                 change, restore))
            for kind in ("container kill", "container stop"):
                name = self.make_container()
                socket_path = self.testenv["MONSYS_TEST_DOCKER_SOCKET"]
                verb = "kill" if kind == "container kill" else "stop?t=1"
                change = (lambda n, v: lambda: docker_post(socket_path,
                                                           f"/containers/{n}/{v}"))(name, verb)
                restore = (lambda n: lambda: self.podman("start", n))(name)
                fixtures.append((kind, {"name": name, "app_type": "docker", "identifier": name},
                                 change, restore))
            worker = self.write_script(f"worker-{len(fixtures)}.sh", "while :; do sleep 1; done\n")
            self.kill_path_at_cleanup(worker)
            self.start_process("/bin/sh", worker)
            change = (lambda w: lambda: [os.kill(p, signal.SIGKILL)
                                         for p in self.pids_running(w)])(worker)
            restore = (lambda w: lambda: self.start_process("/bin/sh", w))(worker)
            fixtures.append(("process kill", {"name": os.path.basename(worker),
                                              "app_type": "process", "identifier": worker},
                             change, restore))
        return fixtures

    def restarts(self, unit):
        out = self.systemctl("show", "-p", "NRestarts", "--value", unit).stdout.strip()
        return int(out or 0)

    def measure(self, mode, **overrides):
        fixtures = self.make_fixtures()
        self.start_hub_and_agent([spec for _, spec, _, _ in fixtures], **overrides)
        ids = [app["id"] for app in self.apps]
        poller = StatePoller(self.hub)
        poller.start()
        self.addCleanup(poller.done.set)
        self.wait(lambda: all(poller.get(i)[0] == "running" for i in ids), 60,
                  "every app observed running")
        latencies = {kind: [] for kind in KINDS}
        by_kind = {kind: [n for n, f in enumerate(fixtures) if f[0] == kind] for kind in KINDS}
        for iteration in range(CHANGES):
            batch = [by_kind[kind][iteration % APPS_PER_KIND] for kind in KINDS]
            # Each app is running again (at the hub) before it changes anew.
            self.wait(lambda: all(poller.get(ids[n])[0] == "running" for n in batch),
                      60, "the apps of this iteration observed running")
            random.shuffle(batch)
            changed_at = {}
            for n in batch:
                time.sleep(random.uniform(0.2, 1.0))
                changed_at[n] = time.time()
                fixtures[n][2]()
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline:
                seen = {n: poller.get(ids[n])[1] for n in batch}
                if all(seen.values()):
                    break
                time.sleep(0.05)
            self.assertTrue(all(seen.values()), "changes the hub never saw")
            for n in batch:
                latencies[fixtures[n][0]].append(seen[n] - changed_at[n])
                fixtures[n][3]()
        poller.done.set()
        poller.join()
        RESULTS[mode] = latencies

    def test_1_events(self):
        self.measure("events")

    def test_2_rounds(self):
        self.measure("rounds (observe_events false)", observe_events=False)

    def test_3_flood(self):
        unit = self.make_unit("lat-flood", "Restart=always\nRestartSec=100ms\n")
        # The unit's process dies at once: ExecStart= is replaced by a command that fails.
        path = os.path.join(self.testenv["MONSYS_TEST_USER_UNIT_DIR"], unit)
        with open(path, encoding="utf-8") as f:
            text = f.read().replace("ExecStart=/bin/sleep 100000", "ExecStart=/bin/false")
        with open(path, "w", encoding="utf-8") as f:
            f.write(text)
        self.systemctl("daemon-reload")
        agent = self.start_hub_and_agent([{"name": "flood", "app_type": "systemd",
                                           "identifier": unit}])
        self.wait(lambda: self.hub_agent()["last_state"], 30, "a first state")
        self.systemctl("restart", unit)
        time.sleep(2)
        counters = self.hub_agent()["counters"]
        states_before, cpu_before, t_before = counters["state"], cpu_secs(agent.pid), time.time()
        restarts_before = self.restarts(unit)
        time.sleep(FLOOD_SECS)
        elapsed = time.time() - t_before
        states = self.hub_agent()["counters"]["state"] - states_before
        cpu = cpu_secs(agent.pid) - cpu_before
        restarts = self.restarts(unit) - restarts_before
        self.systemctl("stop", unit, check=False)
        RESULTS["flood"] = (elapsed, restarts, states, cpu)

    @classmethod
    def tearDownClass(cls):
        super().tearDownClass()
        print()
        for mode, latencies in RESULTS.items():
            if mode == "flood":
                continue
            print(f"latency, {mode}: change -> state at the hub (s)")
            for kind in KINDS:
                values = latencies[kind]
                if values:
                    print(f"  {kind:15} n={len(values):3}  p50 {percentile(values, 0.5):6.3f}  "
                          f"p99 {percentile(values, 0.99):6.3f}  max {max(values):6.3f}")
        if "flood" in RESULTS:
            elapsed, restarts, states, cpu = RESULTS["flood"]
            print(f"flood: a unit restarting every 100 ms for {elapsed:.1f} s ({restarts} "
                  f"restarts): {states / elapsed:.2f} state messages/s at the hub, agent CPU "
                  f"{100 * cpu / elapsed:.1f} % of a core")


if __name__ == "__main__":
    unittest.main(verbosity=2)
