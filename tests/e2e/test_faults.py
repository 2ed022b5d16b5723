"""Scenario 5: faults. The hub killed while a restart runs, the agent killed while a restart runs,
the hub away for a while, and a hub that sends garbage."""

import json
import os
import time
import unittest

from e2e_support import AGENT_ID, E2ETestCase, testkit


class FaultTest(E2ETestCase):

    def read_lines(self, path):
        try:
            with open(path, encoding="utf-8") as f:
                return f.read().splitlines()
        except FileNotFoundError:
            return []

    def wait_reconnected(self, connections_before, timeout=45):
        self.wait(lambda: (self.hub_agent()["connected"] and
                           self.hub_agent()["counters"]["connections"] > connections_before),
                  timeout, "the agent to connect again")

    def assert_one_result_frame(self, jti):
        frames = [f for f in self.frames_in("action_result") if f.get("jti") == jti]
        outcomes = [f["outcome"] for f in frames]
        self.assertEqual(outcomes.count("stored"), 1, frames)
        self.assertNotIn("duplicate_jti", outcomes, frames)
        self.assertNotIn("conflict", outcomes, frames)
        self.assertEqual(len({f["seq"] for f in frames}), 1, frames)

    def wait_past_seq(self, seq):
        """Waits until the hub has stored a data message after `seq` (what the agent had to
        re-send has then come, duplicates included)."""
        self.wait(lambda: self.hub_agent()["max_seq"] > seq, 20, f"a message after seq {seq}")

    def test_hub_killed_while_a_restart_runs_gets_the_result_once_after_reconnecting(self):
        ran = os.path.join(self.workdir, "restart-ran.log")
        pid_file = os.path.join(self.workdir, "worker.pid")
        worker = self.write_script("worker.sh", "while :; do sleep 1; done\n")
        self.kill_path_at_cleanup(worker)
        with open(pid_file, "w", encoding="utf-8") as f:
            f.write(f"{self.start_process('/bin/sh', worker)}\n")
        # A real restart (success needs the worker running again under a new pid), slow enough
        # for the hub to go away while it runs.
        restart = self.write_script(
            "restart.sh", f"echo begin >> {ran}\nsleep 3\nkill $(cat {pid_file})\n"
                          f"/bin/sh {worker} </dev/null >/dev/null 2>&1 &\necho $! > {pid_file}\n"
                          f"echo end >> {ran}\necho worker restarted\necho a warning >&2\nexit 0\n")
        self.start_hub_and_agent([{"name": "worker", "app_type": "process",
                                   "identifier": worker, "restart_command": restart}])
        self.allow_process_restart(worker, restart)
        app = self.apps[0]
        self.wait(lambda: self.hub.app(app["id"])["observed"], 20, "the app's first state")

        jti = self.hub.restart(app["id"], "e2e: hub crash during the restart")["jti"]
        self.wait(lambda: "begin" in self.read_lines(ran), 20, "the restart command to start")
        self.hub.kill()
        self.wait(lambda: "end" in self.read_lines(ran), 20, "the restart command to finish")
        self.assertTrue(self.agents[0].alive())

        self.hub.start()
        record = self.wait_result(jti, 60)
        self.assertEqual(record["reported_by"], "monsys-action", record)
        result = record["result"]
        self.assertEqual(result["status"], "succeeded", result)
        self.assertEqual(result["exit_code"], 0)
        self.assertEqual(result["stdout"], "worker restarted\n")
        self.assertEqual(result["stderr"], "a warning\n")
        self.assertEqual(self.hub.action(jti)["status"], "done")

        # Exactly once: one stored result, no duplicate jti; the command ran once.
        self.wait_past_seq(record["seq"])
        self.assertEqual(len(self.results_for(jti)), 1)
        self.assertEqual(self.hub_agent()["counters"]["duplicate_jti"], 0)
        self.assertEqual(self.hub_agent()["counters"]["seq_conflicts"], 0)
        self.assert_one_result_frame(jti)
        self.assertEqual(self.read_lines(ran), ["begin", "end"])
        self.assert_transparency_verifies(2)

    def test_agent_killed_while_a_restart_runs_reports_it_once_after_restarting(self):
        starts = os.path.join(self.workdir, "unit-starts.log")
        unit = self.make_unit("e2e-slowstop",
                              f"ExecStartPre=/bin/sh -c 'echo start >> {starts}'\n"
                              "ExecStop=/bin/sleep 3\n")
        old_pid = self.unit_props(unit)["MainPID"]
        agent = self.start_hub_and_agent([{"name": "slow", "app_type": "systemd",
                                           "identifier": unit}])
        app = self.apps[0]
        self.wait_app_observed(app["id"], "running")

        jti = self.hub.restart(app["id"], "e2e: agent crash during the restart")["jti"]
        self.wait(lambda: self.unit_props(unit)["ActiveState"] == "deactivating", 20,
                  f"{unit} to be stopping (the restart running)")
        agent.kill()
        # monsys-action outlives the agent and finishes the restart.
        self.wait(lambda: (self.unit_props(unit)["ActiveState"] == "active" and
                           self.unit_props(unit)["MainPID"] not in (0, old_pid)), 30,
                  f"{unit} to run again")
        self.assertIsNone(self.hub.result(jti))

        agent.start()
        record = self.wait_result(jti, 60)
        result = record["result"]
        if record["reported_by"] == "agent-recovery":
            self.assertEqual((result["status"], result["reason"]), ("failed", "agent_interrupted"),
                             record)
        else:
            self.assertEqual(record["reported_by"], "monsys-action", record)
            self.assertEqual(result["status"], "succeeded", record)
        self.assertEqual(result["jti"], jti)
        self.assertEqual(result["app_id"], app["id"])

        # Exactly once, and no second restart after the agent came back.
        self.wait_app_observed(app["id"], "running")
        self.wait_past_seq(record["seq"])
        self.assertEqual(len(self.results_for(jti)), 1)
        self.assertEqual(self.hub_agent()["counters"]["duplicate_jti"], 0)
        self.assert_one_result_frame(jti)
        self.assertEqual(self.read_lines(starts), ["start", "start"])

    def test_agent_reconnects_by_itself_after_the_hub_was_away(self):
        unit = self.make_unit("e2e-away")
        agent = self.start_hub_and_agent([{"name": "away", "app_type": "systemd",
                                           "identifier": unit}])
        app = self.apps[0]
        self.wait_app_observed(app["id"], "running")
        connections = self.hub_agent()["counters"]["connections"]
        state_seq = self.hub_agent()["last_state"]["seq"]

        self.hub.stop()
        down_since = time.monotonic()
        self.systemctl("stop", unit)          # a change while the hub cannot hear it
        while time.monotonic() - down_since < 7:
            self.assertTrue(agent.alive(), "the agent exited while the hub was away")
            time.sleep(0.25)
        self.hub.start()

        self.wait_reconnected(connections)
        self.assertTrue(agent.alive())
        view = self.wait_app_observed(app["id"], "stopped")
        self.assertGreater(self.hub_agent()["last_state"]["seq"], state_seq)
        self.assertEqual(view["identifier"], unit)
        # And it keeps flowing: a change made now arrives too.
        self.systemctl("start", unit)
        self.wait_app_observed(app["id"], "running")
        self.assertEqual(self.hub_agent()["counters"]["seq_conflicts"], 0)

    def test_garbage_from_the_hub_is_survived(self):
        unit = self.make_unit("e2e-garbage")
        agent = self.start_hub_and_agent([{"name": "garbage", "app_type": "systemd",
                                           "identifier": unit}])
        app = self.apps[0]
        self.wait_app_observed(app["id"], "running")
        self.wait(lambda: self.hub_agent()["last_inventory"], 30, "the first inventory")
        connections = self.hub_agent()["counters"]["connections"]

        nested = '{"type":"collect","x":' + "[" * 40 + "]" * 40 + "}"
        garbage = [
            "this is not JSON",
            '{"type": "ack", "seq": ',               # cut short
            "",                                      # empty text frame
            "[1, 2, 3]",                             # not an object
            '{"seq": 7}',                            # no type
            '{"type": 42}',                          # type not a string
            '{"type": "no_such_type", "x": 1}',      # unknown type
            '{"type": "no_such_type", "x": 2}',      # the same unknown type again
            '{"type": "ack"}',                       # known type, missing field
            '{"type": "ack", "seq": "one"}',         # mistyped field
            '{"type": "welcome"}',                   # missing apps
            '{"type": "apps", "apps": {}}',          # apps not an array
            '{"type": "action"}',                    # missing eat
            '{"type": "action", "eat": 5}',          # mistyped eat
            '{"type": "collect", "type": "collect"}',  # duplicate member names
            nested,                                  # deeper than 32 levels
            '{"type": "error"}',
            "\x00\x01\x02",
        ]
        for text in garbage:
            self.hub.test_send(AGENT_ID, text=text)
        self.hub.test_send(AGENT_ID, binary=b"\x00\xffnot a text frame")

        # Unknown types are logged once per type.
        self.assertEqual(agent.log_text().count("no_such_type"), 1, agent.log_tail())

        # Still alive, same connection, tracked apps intact, and it still works.
        inventory_seq = self.hub_agent()["last_inventory"]["seq"]
        self.hub.test_collect(AGENT_ID)
        self.wait_new_inventory(inventory_seq)
        self.assertTrue(agent.alive())
        self.assertEqual(self.hub_agent()["counters"]["connections"], connections)
        self.assertTrue(self.hub_agent()["connected"])
        # The tracked apps survived the malformed welcome and apps frames: a change is seen.
        self.systemctl("stop", unit)
        self.wait_app_observed(app["id"], "stopped")

        # A frame over 1 MiB: the agent closes with 1009 and connects again.
        big = json.dumps({"type": "collect", "pad": "x" * (1024 * 1024 + 100)})
        self.hub.test_send(AGENT_ID, text=big)
        self.wait_reconnected(connections)
        self.assertTrue(agent.alive())
        self.wait(lambda: "code=1009" in self.hub.log_tail(400), 10,
                  "the hub to log the close code 1009")
        inventory_seq = self.hub_agent()["last_inventory"]["seq"]
        self.hub.test_collect(AGENT_ID)
        self.wait_new_inventory(inventory_seq)
        self.systemctl("start", unit)
        self.wait_app_observed(app["id"], "running")
        self.assertEqual(self.hub_agent()["counters"]["bad_messages"], 0,
                         "the agent sent frames the hub refused")

    def test_refused_agent_token_is_retried_until_the_operator_fixes_it(self):
        self.start_hub()
        self.agent_config()
        good_token = self.hub.agents[AGENT_ID]
        testkit.write_agent_token(self.config["hub_token_file"], "a-token-the-hub-does-not-know")
        agent = self.start_agent()
        self.wait(lambda: "status=401" in self.hub.log_tail(200), 30,
                  "the hub to refuse the agent's token")
        self.wait(lambda: "refused the agent token" in agent.log_text(), 30,
                  "the agent to log the refusal")
        self.assertTrue(agent.alive())
        self.assertFalse(self.hub_agent()["connected"])

        # The operator fixes the token file; the agent picks it up on its next attempt.
        testkit.write_agent_token(self.config["hub_token_file"], good_token)
        self.wait(lambda: self.hub_agent()["connected"], 90,
                  "the agent to connect with the fixed token")
        self.wait(lambda: self.hub_agent()["last_inventory"], 30, "the inventory")
        self.assertTrue(agent.alive())


if __name__ == "__main__":
    unittest.main()
