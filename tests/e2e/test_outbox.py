"""Scenario 6: the outbox. Unacked data messages are re-sent after a reconnect with the same seq
and content; once acks come back nothing is lost; seq never goes back, across restarts of the
agent and --once runs."""

import os
import re
import subprocess
import unittest

from e2e_support import AGENT_ID, E2ETestCase


class OutboxTest(E2ETestCase):

    def reconnect(self):
        """The hub closes the connection; waits for the agent's next hello. Returns the agent
        view after it."""
        hellos = self.hub_agent()["counters"]["hello"]
        self.hub.test_disconnect(AGENT_ID)
        return self.wait(lambda: (self.hub_agent()["connected"] and
                                  self.hub_agent()["counters"]["hello"] > hellos and
                                  self.hub_agent()), 45, "the agent to reconnect")

    def wait_outbox_empty(self, timeout=20):
        self.wait(lambda: not self.outbox_messages(), timeout, "the agent's outbox to empty")

    def test_unacked_messages_are_resent_with_the_same_seq_until_acked(self):
        unit = self.make_unit("e2e-outbox")
        self.start_hub_and_agent()
        app = self.hub.create_app(AGENT_ID, "outbox", "systemd", unit)
        self.wait_app_observed(app["id"], "running")
        inventory_seq = self.wait(lambda: self.hub_agent()["last_inventory"], 30,
                                  "the first inventory")["seq"]
        self.wait_outbox_empty()
        acked_before = self.hub_agent()["max_seq"]

        # The hub stores but does not ack: an inventory, a state change and a restart result.
        self.hub.test_acks(AGENT_ID, False)
        mark = len(self.hub.frames(AGENT_ID))
        self.hub.test_collect(AGENT_ID)
        self.wait_new_inventory(inventory_seq)
        self.systemctl("stop", unit)
        self.wait_app_observed(app["id"], "stopped")
        jti = self.hub.restart(app["id"], "e2e: restart while acks are withheld")["jti"]
        self.assertEqual(self.wait_result(jti)["result"]["status"], "succeeded")
        self.wait_app_observed(app["id"], "running")

        stored = {f["seq"]: f for f in self.hub.frames(AGENT_ID)[mark:]
                  if f["dir"] == "in" and f.get("outcome") == "stored"}
        pending = {m["seq"]: m for m in self.outbox_messages()}
        self.assertTrue(pending, "nothing pending in the outbox while acks are withheld")
        self.assertTrue(set(pending) <= set(stored), (sorted(pending), sorted(stored)))
        self.assertGreater(min(pending), acked_before)
        kinds = sorted(m["type"] for m in pending.values())
        self.assertEqual(kinds.count("action_result"), 1, kinds)
        self.assertLessEqual(kinds.count("state"), 1, kinds)      # only the newest is kept
        self.assertLessEqual(kinds.count("inventory"), 1, kinds)
        self.assertIn("inventory", kinds)
        result_seq = next(s for s, m in pending.items() if m["type"] == "action_result")

        # Reconnect, still without acks: everything pending comes again with the same seq and
        # content (the hub would count a seq conflict otherwise), nothing is applied twice.
        mark = len(self.hub.frames(AGENT_ID))
        view = self.reconnect()
        self.assertLess(view["last_acked_seq"], min(pending))
        def all_resent():
            frames = [f for f in self.hub.frames(AGENT_ID)[mark:] if f["dir"] == "in"]
            duplicates = {f["seq"] for f in frames if f.get("outcome") == "duplicate"}
            # A periodic state made meanwhile may replace the pending one (never sent again).
            newest_state = max([f["seq"] for f in frames if f["type"] == "state" and
                                f.get("outcome") == "stored"], default=0)
            required = {seq for seq, m in pending.items()
                        if not (m["type"] == "state" and newest_state > seq)}
            return required <= duplicates
        self.wait(all_resent, 20, f"seqs {sorted(pending)} to be sent again")
        resent = [f["seq"] for f in self.hub.frames(AGENT_ID)[mark:]
                  if f["dir"] == "in" and f.get("seq") in pending]
        self.assertEqual(resent, sorted(resent), "not re-sent in seq order")
        self.assertIn(result_seq, resent)
        counters = self.hub_agent()["counters"]
        self.assertEqual(counters["seq_conflicts"], 0)
        self.assertEqual(counters["duplicate_jti"], 0)
        self.assertEqual(len(self.results_for(jti)), 1)

        # Acks again: after the next reconnect everything is acked and the outbox is empty.
        self.hub.test_acks(AGENT_ID, True)
        self.reconnect()
        self.wait_outbox_empty()
        view = self.reconnect()
        self.assertGreaterEqual(view["last_acked_seq"], max(pending))
        seen = set(view["seen_seqs"])
        self.assertTrue(set(pending) <= seen)
        self.assertIn(result_seq, seen)
        self.assertEqual(view["counters"]["seq_conflicts"], 0)
        self.assertEqual(len(self.results_for(jti)), 1)
        self.assertEqual(self.hub.result(jti)["seq"], result_seq)

    def test_seq_keeps_increasing_across_agent_restarts_and_once_runs(self):
        agent = self.start_hub_and_agent()
        first = self.wait(lambda: self.hub_agent()["last_inventory"], 30, "the first inventory")
        self.wait_outbox_empty()
        hello_before = self.hub_agent()["last_acked_seq"]

        self.assertEqual(agent.terminate(), 0, "SIGTERM did not stop the agent cleanly")
        max_before = self.hub_agent()["max_seq"]
        self.assertGreaterEqual(max_before, first["seq"])

        # --once shares the counter: its seq comes after everything the daemon sent.
        once = subprocess.run([self.agent_binary, "--once", "--config", self.config_path],
                              env=self.env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              text=True, timeout=60)
        self.assertEqual(once.returncode, 0, once.stdout + once.stderr)
        match = re.fullmatch(r"sent inventory: .*; hub acked seq (\d+)\n", once.stdout)
        self.assertIsNotNone(match, once.stdout)
        once_seq = int(match.group(1))
        self.assertGreater(once_seq, max_before)

        hellos = self.hub_agent()["counters"]["hello"]
        mark = len(self.hub.frames(AGENT_ID))
        agent.start()
        view = self.wait(lambda: (self.hub_agent()["connected"] and
                                  self.hub_agent()["counters"]["hello"] > hellos and
                                  self.hub_agent()), 30, "the restarted agent's hello")
        self.assertGreaterEqual(view["last_acked_seq"], max(hello_before, first["seq"]))
        self.hub.test_collect(AGENT_ID)
        self.wait_new_inventory(once_seq)
        new = [f for f in self.hub.frames(AGENT_ID)[mark:]
               if f["dir"] == "in" and f.get("outcome") == "stored" and "seq" in f]
        self.assertTrue(new)
        for frame in new:
            self.assertGreater(frame["seq"], once_seq, frame)
        seqs = [f["seq"] for f in new]
        self.assertEqual(seqs, sorted(seqs))
        self.assertEqual(self.hub_agent()["counters"]["seq_conflicts"], 0)
        self.assertTrue(os.path.isdir(self.config["hub_state_dir"]))


if __name__ == "__main__":
    unittest.main()
