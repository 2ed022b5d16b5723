"""Scenarios 7 and 8: `monsys-agent --once` against the hub (acked, hub down, token refused) and
`monsys-agent check-config` refusing an insecure hub URL and a token file others can read."""

import os
import re
import secrets
import subprocess
import time
import unittest

from e2e_support import AGENT_ID, E2ETestCase, testkit

# One count per section: "312 units", "1 unit", or "no units" for a section that failed. The
# count is the host's at that moment (another test may have a container running), so only the
# form is checked here.
def _count(one, many):
    return rf"(?:1 {one}|(?:no|0|[2-9]|[1-9]\d+) {many})"


SUMMARY = re.compile(
    r"sent inventory: " +
    ", ".join(_count(one, many) for one, many in [
        ("unit", "units"), ("container", "containers"), ("compose service", "compose services"),
        ("process", "processes"), ("package", "packages"), ("port", "ports")]) +
    r" \(\d+ ms\); hub acked seq (\d+)")


class CliTest(E2ETestCase):

    def agent_cli(self, *args, timeout=90):
        started = time.monotonic()
        proc = subprocess.run([self.agent_binary, *args, "--config", self.config_path],
                              env=self.env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              text=True, timeout=timeout)
        proc.elapsed = time.monotonic() - started
        return proc

    def lines(self, proc):
        return [line for line in (proc.stdout + proc.stderr).splitlines() if line.strip()]

    def unstarted_hub(self):
        self.hub = testkit.HubProcess.create(os.path.join(self.workdir, "hub"),
                                             {AGENT_ID: secrets.token_urlsafe(24)}, tls=True)
        return self.hub

    # --- scenario 7: --once ---

    def test_once_sends_the_inventory_and_prints_the_acked_seq(self):
        self.start_hub()
        self.agent_config()
        first = self.agent_cli("--once")
        self.assertEqual(first.returncode, 0, first.stdout + first.stderr)
        stdout_lines = first.stdout.splitlines()
        self.assertEqual(len(stdout_lines), 1, first.stdout)
        match = SUMMARY.fullmatch(stdout_lines[0])
        self.assertIsNotNone(match, stdout_lines[0])
        seq = int(match.group(1))

        agent = self.hub_agent()
        self.assertEqual(agent["last_inventory"]["seq"], seq)
        self.assertEqual(agent["counters"]["hello"], 1)
        self.assertEqual(agent["counters"]["inventory"], 1)
        self.assertEqual(agent["seen_seqs"], [seq])
        self.assertEqual(self.outbox_messages(), [], "--once must not touch the outbox")
        self.assertTrue(self.hub.discovered(AGENT_ID))

        second = self.agent_cli("--once")
        self.assertEqual(second.returncode, 0, second.stdout + second.stderr)
        second_seq = int(SUMMARY.fullmatch(second.stdout.strip()).group(1))
        self.assertGreater(second_seq, seq)
        self.assertEqual(self.hub_agent()["last_inventory"]["seq"], second_seq)
        self.assertEqual(self.hub_agent()["counters"]["seq_conflicts"], 0)

    def test_once_with_the_hub_down_exits_2_with_one_line(self):
        self.start_hub()
        self.agent_config()
        self.hub.stop()
        proc = self.agent_cli("--once")
        self.assertEqual(proc.returncode, 2, proc.stdout + proc.stderr)
        self.assertEqual(proc.stdout, "")
        self.assertEqual(len(self.lines(proc)), 1, self.lines(proc))
        self.assertLess(proc.elapsed, 20)

    def test_once_with_a_wrong_token_exits_3_saying_refused(self):
        self.start_hub()
        self.agent_config()
        testkit.write_agent_token(self.config["hub_token_file"], "not-the-agents-token")
        proc = self.agent_cli("--once")
        self.assertEqual(proc.returncode, 3, proc.stdout + proc.stderr)
        self.assertEqual(proc.stdout, "")
        self.assertEqual(len(self.lines(proc)), 1, self.lines(proc))
        self.assertIn("refused", self.lines(proc)[0])
        self.assertIn("status=401", self.hub.log_tail(20))
        self.assertEqual(self.hub_agent()["counters"]["hello"], 0)
        # The hub answers 401 (Connection: close) at once; nothing is left to wait for.
        self.assertLess(proc.elapsed, 10, f"--once took {proc.elapsed:.1f} s to report the "
                        "refused token")

    def test_once_with_a_broken_config_exits_1(self):
        self.unstarted_hub()
        self.agent_config(hub_url="wss://localhost:1/agent", observe_interval_secs="soon")
        proc = self.agent_cli("--once")
        self.assertEqual(proc.returncode, 1, proc.stdout + proc.stderr)
        self.assertIn("observe_interval_secs", proc.stderr)

    # --- scenario 8: check-config ---

    def test_check_config_refuses_plain_ws_to_a_remote_host(self):
        self.unstarted_hub()
        self.agent_config(hub_url="wss://hub.example.net/agent")
        ok = self.agent_cli("check-config")
        self.assertEqual(ok.returncode, 0, ok.stdout + ok.stderr)
        for url in ("ws://127.0.0.1:8080/agent", "ws://localhost:8080/agent",
                    "ws://[::1]:8080/agent"):
            self.agent_config(hub_url=url)
            proc = self.agent_cli("check-config")
            self.assertEqual(proc.returncode, 0, f"{url}: {proc.stdout}{proc.stderr}")
        for url in ("ws://hub.example.net/agent", "ws://192.0.2.10:8080/agent",
                    "ws://10.1.2.3/agent"):
            self.agent_config(hub_url=url)
            proc = self.agent_cli("check-config")
            self.assertEqual(proc.returncode, 1, f"{url}: {proc.stdout}{proc.stderr}")
            self.assertIn("hub_url", proc.stderr)
            self.assertEqual(proc.stdout, "")
        self.agent_config(hub_url="ws://hub.example.net/agent", hub_allow_insecure_ws=True)
        proc = self.agent_cli("check-config")
        self.assertEqual(proc.returncode, 0, proc.stdout + proc.stderr)

    def test_check_config_refuses_a_token_file_others_can_read(self):
        self.unstarted_hub()
        self.agent_config(hub_url="wss://hub.example.net/agent")
        token_file = self.config["hub_token_file"]
        ok = self.agent_cli("check-config")
        self.assertEqual(ok.returncode, 0, ok.stdout + ok.stderr)
        for mode in (0o644, 0o640, 0o604):
            os.chmod(token_file, mode)
            proc = self.agent_cli("check-config")
            self.assertEqual(proc.returncode, 1, f"{mode:o}: {proc.stdout}{proc.stderr}")
            self.assertIn("hub_token_file", proc.stderr)
            self.assertIn(f"{mode:04o}", proc.stderr)
        os.chmod(token_file, 0o600)
        self.assertEqual(self.agent_cli("check-config").returncode, 0)


if __name__ == "__main__":
    unittest.main()
