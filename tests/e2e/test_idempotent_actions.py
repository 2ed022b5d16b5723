"""One result per verified jti (docs/protocol.md, "action"): the same action delivered twice in one
burst, again after a dropped link, and again after the agent was SIGKILLed (after its result, and
while monsys-action ran). Each time the hub files exactly one result for the jti, with the true
status, every action_result frame for it carries the same seq, and the app restarted once."""

import json
import os
import time
import unittest

from e2e_support import AGENT_ID, E2ETestCase


class IdempotentActionTest(E2ETestCase):

    def setUp(self):
        super().setUp()
        self.starts_log = os.path.join(self.workdir, "unit-starts.log")

    def start_with_unit(self, extra_service=""):
        self.unit = self.make_unit(
            "e2e-once", f"ExecStartPre=/bin/sh -c 'echo start >> {self.starts_log}'\n" +
            extra_service)
        self.first_pid = self.unit_props(self.unit)["MainPID"]
        agent = self.start_hub_and_agent([{"name": "once", "app_type": "systemd",
                                           "identifier": self.unit}])
        self.app = self.apps[0]
        self.wait_app_observed(self.app["id"], "running")
        return agent

    def app_claim(self):
        return {"id": self.app["id"], "type": "systemd", "identifier": self.unit}

    def unit_starts(self):
        try:
            with open(self.starts_log, encoding="utf-8") as f:
                return f.read().split()
        except FileNotFoundError:
            return []

    def deliver_again(self, token):
        """The action frame again, as a hub unsure of a delivery would send it."""
        self.hub.test_send(AGENT_ID, text=json.dumps({"type": "action", "eat": token}))

    def result_frames(self, jti):
        return [f for f in self.frames_in("action_result") if f.get("jti") == jti]

    def wait_reconnected(self, connections_before, timeout=45):
        self.wait(lambda: (self.hub_agent()["connected"] and
                           self.hub_agent()["counters"]["connections"] > connections_before),
                  timeout, "the agent to connect again")

    def wait_logged(self, agent, text, timeout=20):
        self.wait(lambda: text in agent.log_text(), timeout, f"the agent to log {text!r}")

    def assert_one_result(self, jti, reported_by="monsys-action", status="succeeded"):
        """One stored result, one audit entry, no contradiction, every frame the same seq."""
        results = self.results_for(jti)
        self.assertEqual(len(results), 1, results)
        record = results[0]
        self.assertEqual(record["reported_by"], reported_by, record)
        self.assertEqual(record["result"]["status"], status, record)
        self.assertEqual(record["result"]["jti"], jti)
        entries = [e for e in self.hub.audit("restart.result") if e["jti"] == jti]
        self.assertEqual(len(entries), 1, entries)
        self.assertFalse([e for e in self.hub.audit("restart.result_duplicate_jti")
                          if e.get("jti") == jti])
        self.assertEqual(self.hub_agent()["counters"]["duplicate_jti"], 0)
        self.assertEqual(self.hub_agent()["counters"]["seq_conflicts"], 0)
        frames = self.result_frames(jti)
        outcomes = [f["outcome"] for f in frames]
        self.assertEqual(outcomes.count("stored"), 1, frames)
        self.assertEqual(len({f["seq"] for f in frames}), 1, frames)
        self.assertEqual(record["seq"], frames[0]["seq"])
        return record

    def assert_restarted_once(self):
        props = self.unit_props(self.unit)
        self.assertEqual(props["ActiveState"], "active")
        self.assertNotEqual(props["MainPID"], self.first_pid)
        self.assertEqual(self.unit_starts(), ["start", "start"])  # its start, one restart
        return props["MainPID"]

    # ------------------------------------------------------------------ scenarios

    def test_the_same_action_twice_in_one_burst_restarts_once(self):
        agent = self.start_with_unit()
        token, jti = self.mint(self.app_claim())
        self.hub.test_action(AGENT_ID, token)
        self.deliver_again(token)  # right behind the first frame

        record = self.wait_result(jti)
        self.wait_logged(agent, f"action {jti} delivered again")
        # A late second result would come right after the first: give it the time to show.
        time.sleep(1.0)
        self.assert_one_result(jti)
        self.assertEqual(len(self.result_frames(jti)), 1)
        pid = self.assert_restarted_once()
        self.assertTrue(record["result"]["stdout"].endswith(f"-> {pid}"), record)

    def test_resent_after_a_dropped_link_gets_the_same_frame(self):
        agent = self.start_with_unit()
        token, jti = self.mint(self.app_claim())
        self.hub.test_action(AGENT_ID, token)
        first = self.wait_result(jti)
        pid = self.assert_restarted_once()

        connections = self.hub_agent()["counters"]["connections"]
        self.hub.test_disconnect(AGENT_ID, abort=True)
        self.wait_reconnected(connections)
        self.deliver_again(token)

        # The acked result comes again: same seq, same bytes, a duplicate seq at the hub.
        frames = self.wait(lambda: len(self.result_frames(jti)) == 2 and self.result_frames(jti),
                           20, "the result frame again")
        self.assertEqual(frames[1]["outcome"], "duplicate", frames)
        self.assertEqual(frames[1]["seq"], first["seq"])
        self.assertEqual(frames[1]["bytes"], frames[0]["bytes"])
        self.assert_one_result(jti)
        self.assertEqual(self.unit_props(self.unit)["MainPID"], pid)  # not restarted again
        self.assertEqual(self.unit_starts(), ["start", "start"])
        self.assertTrue(agent.alive())

    def test_resent_while_the_result_waits_for_its_ack_sends_nothing_new(self):
        agent = self.start_with_unit()
        self.hub.test_acks(AGENT_ID, False)
        token, jti = self.mint(self.app_claim())
        self.hub.test_action(AGENT_ID, token)
        first = self.wait_result(jti)
        self.deliver_again(token)
        self.wait_logged(agent, f"action {jti} delivered again")
        self.assertEqual(len(self.result_frames(jti)), 1)

        # Acks on again: after a reconnect the outbox re-sends the same frame, which is acked.
        self.hub.test_acks(AGENT_ID, True)
        connections = self.hub_agent()["counters"]["connections"]
        self.hub.test_disconnect(AGENT_ID)
        self.wait_reconnected(connections)
        self.wait(lambda: not [m for m in self.outbox_messages()
                               if m.get("type") == "action_result"], 20, "the outbox to empty")
        self.assertEqual(self.result_frames(jti)[-1]["seq"], first["seq"])
        self.assert_one_result(jti)
        self.assert_restarted_once()

    def test_resent_after_the_agent_was_killed_after_its_result(self):
        agent = self.start_with_unit()
        token, jti = self.mint(self.app_claim())
        self.hub.test_action(AGENT_ID, token)
        first = self.wait_result(jti)
        pid = self.assert_restarted_once()
        # The ack reached the agent (the outbox is empty) before it dies.
        self.wait(lambda: not [m for m in self.outbox_messages()
                               if m.get("type") == "action_result"], 20, "the outbox to empty")

        connections = self.hub_agent()["counters"]["connections"]
        agent.kill()
        agent.start()
        self.wait_reconnected(connections)
        self.deliver_again(token)
        frames = self.wait(lambda: len(self.result_frames(jti)) == 2 and self.result_frames(jti),
                           20, "the result frame again from the restarted agent")
        self.assertEqual(frames[1]["outcome"], "duplicate", frames)
        self.assertEqual(frames[1]["seq"], first["seq"])
        self.assert_one_result(jti)
        self.assertEqual(self.unit_props(self.unit)["MainPID"], pid)
        self.assertEqual(self.unit_starts(), ["start", "start"])

    def test_resent_after_the_agent_was_killed_while_the_restart_ran(self):
        agent = self.start_with_unit("ExecStop=/bin/sleep 3\n")
        token, jti = self.mint(self.app_claim())
        self.hub.test_action(AGENT_ID, token)
        self.wait(lambda: self.unit_props(self.unit)["ActiveState"] == "deactivating", 20,
                  f"{self.unit} to be stopping (the restart running)")
        connections = self.hub_agent()["counters"]["connections"]
        agent.kill()
        # monsys-action outlives the agent and finishes the restart.
        self.wait(lambda: (self.unit_props(self.unit)["ActiveState"] == "active" and
                           self.unit_props(self.unit)["MainPID"] not in (0, self.first_pid)), 30,
                  f"{self.unit} to run again")
        self.assertIsNone(self.hub.result(jti))

        agent.start()
        self.wait_reconnected(connections)
        # Delivered again while the agent reports the interrupted run: still one result.
        self.deliver_again(token)
        record = self.wait_result(jti, 60)
        self.assertEqual(record["reported_by"], "agent-recovery", record)
        self.assertEqual((record["result"]["status"], record["result"]["reason"]),
                         ("failed", "agent_interrupted"), record)
        self.wait(lambda: not [m for m in self.outbox_messages()
                               if m.get("type") == "action_result"], 20, "the outbox to empty")

        # Once more after the ack: the same recovery frame, nothing run again.
        self.deliver_again(token)
        frames = self.wait(lambda: [f for f in self.result_frames(jti)
                                    if f["outcome"] == "duplicate"], 20,
                           "the recovery frame again")
        self.assertEqual(frames[0]["seq"], record["seq"])
        self.assert_one_result(jti, reported_by="agent-recovery", status="failed")
        self.assert_restarted_once()


if __name__ == "__main__":
    unittest.main()
