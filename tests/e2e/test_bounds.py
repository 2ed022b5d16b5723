"""Bounds against a hostile or absent hub (docs/protocol.md, "The outbox"): a flood of junk action
frames costs a bounded number of results and files; a full state directory keeps the results
(results before states); a read-only one keeps the agent running and connected, and it recovers
when the directory is writable again."""

import json
import os
import subprocess
import time
import unittest

from e2e_support import AGENT_ID, E2ETestCase

# agent/hub/limits.hpp
ACTION_BURST = 64
UNVERIFIED_REFUSAL_BURST = 20
MAX_UNVERIFIED_REFUSALS = 20


class BoundsTest(E2ETestCase):

    def junk(self, n):
        return json.dumps({"type": "action", "eat": f"junk.token.{n}"})

    def test_a_flood_of_junk_action_frames_is_bounded(self):
        agent = self.start_hub_and_agent()
        self.wait(lambda: self.hub_agent()["last_inventory"], 60, "the first inventory")
        self.wait(lambda: not self.outbox_messages(), 30, "the outbox to empty")
        self.hub.test_acks(AGENT_ID, False)
        mark = len(self.frames_in())

        for n in range(500):
            self.hub.test_send(AGENT_ID, text=self.junk(n))
        self.wait(lambda: "bounds of the hub link: dropped" in agent.log_text(), 30,
                  "the agent to log what it dropped")
        time.sleep(3)  # the frames still on their way are read (or dropped)
        self.assertTrue(agent.alive())
        results = self.frames_in("action_result", since=mark)
        # At most the refusal burst went out, though up to 64 frames were read.
        self.assertGreater(len(results), 0)
        self.assertLessEqual(len(results), UNVERIFIED_REFUSAL_BURST + 2)
        pending = [m for m in self.outbox_messages() if m["type"] == "action_result"]
        self.assertLessEqual(len(pending), MAX_UNVERIFIED_REFUSALS)
        for message in pending:
            self.assertIsNone(message["result"]["jti"], message)
        log = agent.log_text()
        self.assertIn("refusal(s) of unverifiable tokens over the rate (not stored)", log)
        # Aggregated: a handful of lines, not one per frame.
        self.assertLess(log.count("bounds of the hub link: dropped"), 5)
        # The refusals' own warnings: a burst of 10, then one a minute (docs/logging.md).
        self.assertGreater(log.count("refused an action token"), 0)
        self.assertLessEqual(log.count("refused an action token"), 11)

        # The hub acks again: after the next connection the outbox drains.
        self.hub.test_acks(AGENT_ID, True)
        hellos = self.hub_agent()["counters"]["hello"]
        self.hub.test_disconnect(AGENT_ID)
        self.wait(lambda: self.hub_agent()["counters"]["hello"] > hellos, 45,
                  "the agent to reconnect")
        self.wait(lambda: not self.outbox_messages(), 30, "the outbox to empty")

    # --- a small file system for the agent's hub state ---

    def small_state_fs(self, size):
        """A tmpfs of `size` for hub_state_dir, unmounted in the cleanups (the tests run as
        root, as in CI)."""
        path = os.path.join(self.workdir, "small-hub-state")
        os.makedirs(path, mode=0o700)
        subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size},mode=0700", "tmpfs", path],
                       check=True)
        self.addCleanup(subprocess.run, ["umount", "-l", path], check=False)
        return path

    def fill(self, directory):
        """Fills the file system of `directory`; returns the filler's path."""
        filler = os.path.join(directory, "filler")
        with open(filler, "wb", buffering=0) as f:
            for chunk in (65536, 512):  # then the last partial page
                try:
                    while f.write(b"\0" * chunk):
                        pass
                except OSError:
                    pass
        return filler

    def remount(self, path, mode):
        """remount,ro fails with EBUSY while the agent has a file open for writing there (for
        the moment of a write): try again."""
        for _ in range(50):
            if subprocess.run(["mount", "-o", f"remount,{mode}", path]).returncode == 0:
                return
            time.sleep(0.1)
        self.fail(f"cannot remount {path} {mode}")

    def process_app(self):
        exe = os.path.join(self.workdir, "bounds-worker")
        with open("/bin/sleep", "rb") as src, open(exe, "wb") as dst:
            dst.write(src.read())
        os.chmod(exe, 0o755)
        self.kill_path_at_cleanup(exe)
        pid = self.start_process(exe, "100000")
        return exe, pid

    def refused_by_the_wrapper(self, app):
        """A token that verifies, for a process app with no restart_commands entry: monsys-action
        refuses it; a verified result with a jti."""
        token, jti = self.mint({"id": app["id"], "type": "process",
                                "identifier": app["identifier"],
                                "restart_command": "/usr/bin/true"})
        self.hub.test_action(AGENT_ID, token)
        return jti

    def test_a_full_disk_keeps_the_results_before_the_states(self):
        state_fs = self.small_state_fs("16m")
        exe, pid = self.process_app()
        agent = self.start_hub_and_agent(
            apps=[{"name": "worker", "app_type": "process", "identifier": exe}],
            hub_state_dir=os.path.join(state_fs, "hub"))
        app = self.apps[0]
        self.wait_app_observed(app["id"], "running")
        self.wait(lambda: self.hub_agent()["last_inventory"], 60, "the first inventory")

        # Acks withheld: a new inventory stays in the outbox, then the disk fills up.
        self.hub.test_acks(AGENT_ID, False)
        inventory_seq = self.hub_agent()["last_inventory"]["seq"]
        self.hub.test_collect(AGENT_ID)
        self.wait_new_inventory(inventory_seq, timeout=60)
        self.wait(lambda: any(m["type"] == "inventory" for m in self.outbox_messages()), 20,
                  "the inventory in the outbox")
        filler = self.fill(state_fs)

        # A state change: sent, not stored (the space left is the results').
        os.kill(pid, 9)
        self.wait_app_observed(app["id"], "stopped")
        # A result: the inventory's and the state's files make room for it.
        jti = self.refused_by_the_wrapper(app)
        result = self.wait_result(jti)
        self.assertEqual(result["reported_by"], "monsys-action", result)
        self.assertEqual(result["result"]["jti"], jti)
        self.wait(lambda: any(m["type"] == "action_result" and m.get("jti") == jti
                              for m in self.outbox_messages()), 20, "the result stored")
        kinds = [m["type"] for m in self.outbox_messages()]
        self.assertNotIn("inventory", kinds)
        self.assertTrue(agent.alive())
        self.assertTrue(self.hub_agent()["connected"])
        log = agent.log_text()
        self.assertIn("kept for action results", log)

        # Space again, acks again: everything is acked and the outbox empties.
        os.unlink(filler)
        self.hub.test_acks(AGENT_ID, True)
        hellos = self.hub_agent()["counters"]["hello"]
        self.hub.test_disconnect(AGENT_ID)
        self.wait(lambda: self.hub_agent()["counters"]["hello"] > hellos, 45,
                  "the agent to reconnect")
        self.wait(lambda: not self.outbox_messages(), 30, "the outbox to empty")

    def test_a_read_only_state_directory_keeps_the_agent_running(self):
        state_fs = self.small_state_fs("16m")
        exe, pid = self.process_app()
        agent = self.start_hub_and_agent(
            apps=[{"name": "worker", "app_type": "process", "identifier": exe}],
            hub_state_dir=os.path.join(state_fs, "hub"))
        self.wait_app_observed(self.apps[0]["id"], "running")
        self.wait(lambda: self.hub_agent()["last_inventory"], 60, "the first inventory")

        self.remount(state_fs, "ro")
        os.kill(pid, 9)
        self.wait(lambda: "Read-only file system" in agent.log_text(), 30,
                  "the agent to log the read-only state directory")
        time.sleep(2)
        self.assertTrue(agent.alive())
        self.assertTrue(self.hub_agent()["connected"])

        # Writable again: states reach the hub again (one every state_interval_secs).
        last_state = self.hub_agent()["last_state"]["seq"]
        self.remount(state_fs, "rw")
        self.wait_new_state(last_state, timeout=30)
        self.assertTrue(agent.alive())


if __name__ == "__main__":
    unittest.main()
