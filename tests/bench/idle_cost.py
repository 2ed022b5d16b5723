#!/usr/bin/python3
"""Idle cost benchmark: the real monsys-agent, connected over wss to the reference hub
(tests/hub/), tracking apps that do not change, measured over a quiet period:

- CPU: utime + stime of the agent over the period, as % of one core;
- memory at the end: VmRSS and its parts (RssAnon: the heap and the threads' stacks; RssFile:
  the pages of the binary and the libraries it touched; RssShmem), Pss (from
  /proc/PID/smaps_rollup), the agent's threads and fds, and the mappings holding the most of
  it (from /proc/PID/smaps), to show where the memory goes;
- state messages the hub received over the period (the 60 s report only, when nothing changes).

Two sizes in one run: 10 apps (4 user units, 3 containers, 3 process apps) and 1,000 user units
(instances of one template unit, started in batches). The state report interval is the default
(60 s) and so is the observe interval (15 s): what an operator's host runs.

To compare builds (a change meant to save memory, say), MONSYS_BENCH_IDLE_AGENTS lists agent
binaries, comma-separated: each size then runs every binary in turn against the same hub and apps,
MONSYS_BENCH_IDLE_REPEAT times (alternating, so a drift of the machine hits all of them alike),
and prints each binary's median.

Needs the test environment and the variables the e2e tests get (see state_latency.py for the
command line). Options (environment): MONSYS_BENCH_IDLE_SECS (600), MONSYS_BENCH_IDLE_UNITS
(1000), MONSYS_BENCH_IDLE_SETTLE (60: seconds between every app seen running and the quiet
period), MONSYS_BENCH_IDLE_AGENTS, MONSYS_BENCH_IDLE_REPEAT (1). Prints the figures; exit status
0 when it ran.
"""

import os
import re
import statistics
import sys
import time
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
                                "e2e"))
from e2e_support import AGENT_ID, E2ETestCase, unique  # noqa: E402

IDLE_SECS = float(os.environ.get("MONSYS_BENCH_IDLE_SECS", "600"))
MANY_UNITS = int(os.environ.get("MONSYS_BENCH_IDLE_UNITS", "1000"))
SETTLE_SECS = float(os.environ.get("MONSYS_BENCH_IDLE_SETTLE", "60"))
AGENTS = [path for path in os.environ.get("MONSYS_BENCH_IDLE_AGENTS", "").split(",") if path]
REPEAT = max(1, int(os.environ.get("MONSYS_BENCH_IDLE_REPEAT", "1")))
CLK_TCK = os.sysconf("SC_CLK_TCK")
RESULTS = {}


def cpu_secs(pid):
    with open(f"/proc/{pid}/stat", encoding="utf-8") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLK_TCK


def status_field(pid, field):
    with open(f"/proc/{pid}/status", encoding="utf-8") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    return 0


def largest_mappings(pid, count=8):
    """The `count` mappings with the most resident memory: (Rss KiB, name) pairs, the name being
    the file, [heap], [stack] or [anon] (malloc arenas and thread stacks are anonymous)."""
    mappings = []
    name, rss = None, 0
    with open(f"/proc/{pid}/smaps", encoding="utf-8") as f:
        for line in f:
            head = line.split()
            if re.match(r"^[0-9a-f]+-[0-9a-f]+ ", line):
                if name is not None:
                    mappings.append((rss, name))
                name = head[5] if len(head) > 5 else "[anon]"
                rss = 0
            elif head and head[0] == "Rss:":
                rss = int(head[1])
    if name is not None:
        mappings.append((rss, name))
    by_name = {}
    for rss, name in mappings:
        by_name[name] = by_name.get(name, 0) + rss
    return sorted(((rss, name) for name, rss in by_name.items()), reverse=True)[:count]


def pss_kib(pid):
    with open(f"/proc/{pid}/smaps_rollup", encoding="utf-8") as f:
        for line in f:
            if line.startswith("Pss:"):
                return int(line.split()[1])
    return 0


class IdleCost(E2ETestCase):

    def measure(self, label, apps):
        """Every binary to compare (or the one under test), REPEAT times in turn, against one hub
        with the apps registered; RESULTS[label][binary] holds one sample per run."""
        self.start_hub()
        self.apps = [self.hub.create_app(AGENT_ID, **app) for app in apps]
        self.agent_config(state_interval_secs=None)
        binaries = AGENTS or [self.agent_binary]
        RESULTS[label] = {binary: [] for binary in binaries}
        for _ in range(REPEAT):
            for binary in binaries:
                self.agent_binary = binary
                states_before = self.hub_agent()["counters"]["state"]
                agent = self.start_agent()
                self.wait(lambda: self.hub_agent()["connected"], 30, "the agent to connect")
                RESULTS[label][binary].append(self.sample(agent, states_before))
                self.assertEqual(agent.terminate(), 0)

    def sample(self, agent, states_before_start):
        """The agent's figures over a quiet period, once it has reported every app running."""
        ids = [app["id"] for app in self.apps]

        def all_running():
            # A state from this agent, not the one the previous run left at the hub.
            if self.hub_agent()["counters"]["state"] == states_before_start:
                return False
            state = self.hub_agent()["last_state"]
            if not state:
                return False
            observed = {app["id"]: app["observed"] for app in state["apps"]}
            return all(observed.get(i) == "running" for i in ids)
        self.wait(all_running, 180, "every app observed running at the hub")
        # Let the start-up work (the first inventory, the first rounds) settle.
        time.sleep(SETTLE_SECS)
        pid = agent.pid
        states_before = self.hub_agent()["counters"]["state"]
        cpu_before, t_before = cpu_secs(pid), time.monotonic()
        time.sleep(IDLE_SECS)
        elapsed = time.monotonic() - t_before
        cpu = cpu_secs(pid) - cpu_before
        states = self.hub_agent()["counters"]["state"] - states_before
        return {
            "cpu_pct": 100 * cpu / elapsed,
            "elapsed": elapsed,
            "rss_mib": status_field(pid, "VmRSS") / 1024,
            "anon_mib": status_field(pid, "RssAnon") / 1024,
            "file_mib": status_field(pid, "RssFile") / 1024,
            "shmem_mib": status_field(pid, "RssShmem") / 1024,
            "mappings": largest_mappings(pid),
            "pss_mib": pss_kib(pid) / 1024,
            "threads": status_field(pid, "Threads"),
            "fds": len(os.listdir(f"/proc/{pid}/fd")),
            "states": states,
        }

    def test_1_ten_apps(self):
        apps = []
        for _ in range(4):
            unit = self.make_unit("idle-unit")
            apps.append({"name": unit, "app_type": "systemd", "identifier": unit})
        for _ in range(3):
            name = self.make_container()
            apps.append({"name": name, "app_type": "docker", "identifier": name})
        for n in range(3):
            worker = self.write_script(f"idle-worker-{n}.sh", "while :; do sleep 5; done\n")
            self.kill_path_at_cleanup(worker)
            self.start_process("/bin/sh", worker)
            apps.append({"name": os.path.basename(worker), "app_type": "process",
                         "identifier": worker})
        self.measure("10 apps", apps)

    def test_2_many_units(self):
        template = unique("idle-many") + "@.service"
        path = os.path.join(self.testenv["MONSYS_TEST_USER_UNIT_DIR"], template)
        with open(path, "w", encoding="utf-8") as f:
            f.write("[Unit]\nDescription=monsys idle benchmark unit %i\n\n"
                    "[Service]\nExecStart=/bin/sleep 100000\n")
        units = [template.replace("@", f"@{n}") for n in range(MANY_UNITS)]

        def remove():
            for start in range(0, len(units), 100):
                self.systemctl("stop", *units[start:start + 100], check=False)
            os.unlink(path)
            self.systemctl("daemon-reload", check=False)
        self.addCleanup(remove)
        self.systemctl("daemon-reload")
        for start in range(0, len(units), 100):
            self.systemctl("start", *units[start:start + 100])
        apps = [{"name": unit, "app_type": "systemd", "identifier": unit} for unit in units]
        self.measure(f"{MANY_UNITS} units", apps)

    @classmethod
    def tearDownClass(cls):
        super().tearDownClass()
        print()
        print(f"idle cost over {IDLE_SECS:.0f} s (observe interval 15 s, state report 60 s, wss)"
              + (f"; medians of {REPEAT} runs" if REPEAT > 1 else ""))
        for label, by_binary in RESULTS.items():
            for binary, samples in by_binary.items():
                if not samples:
                    continue
                print(f"  {label}: {binary}")
                median = {key: statistics.median(s[key] for s in samples)
                          for key in ("cpu_pct", "rss_mib", "anon_mib", "file_mib", "shmem_mib",
                                      "pss_mib", "threads", "fds", "states")}
                print(f"    CPU {median['cpu_pct']:.3f} % of a core  VmRSS "
                      f"{median['rss_mib']:.1f} MiB  Pss {median['pss_mib']:.1f} MiB  threads "
                      f"{median['threads']:.0f}  fds {median['fds']:.0f}  state messages "
                      f"{median['states']:.0f}")
                print(f"    RssAnon {median['anon_mib']:.1f} MiB  RssFile "
                      f"{median['file_mib']:.1f} MiB  RssShmem {median['shmem_mib']:.1f} MiB")
                if len(samples) > 1:
                    print("    VmRSS of each run: " +
                          ", ".join(f"{s['rss_mib']:.2f}" for s in samples))
                # The mappings of the last run: where the memory goes.
                print("    largest (MiB): " +
                      ", ".join(f"{os.path.basename(name)} {rss / 1024:.1f}"
                                for rss, name in samples[-1]["mappings"]))
        sys.stdout.flush()


if __name__ == "__main__":
    unittest.main(verbosity=2)
