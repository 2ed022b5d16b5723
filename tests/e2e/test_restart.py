"""Scenarios 2 and 3: an app registered at the hub, observed by the agent, the hub's liveness
check alerting when it stops, and an operator's restart (REST, TOTP) carried out for real by
monsys-action, with its result in the audit log and the transparency chain."""

import time
import unittest

from e2e_support import AGENT_ID, E2ETestCase, unique


class RestartTest(E2ETestCase):

    def assert_result_recorded(self, jti, app, status="succeeded"):
        """The stored result, its audit entry and the action's status; returns the result."""
        record = self.wait_result(jti)
        self.assertEqual(record["agent_id"], AGENT_ID)
        self.assertEqual(record["reported_by"], "monsys-action", record)
        # Signed by monsys-action's key, which the hub pinned from the agent's first hello.
        self.assertEqual(record["signature"]["status"], "verified", record)
        result = record["result"]
        self.assertEqual(result["status"], status, result)
        self.assertEqual(result["jti"], jti)
        self.assertEqual(result["app_id"], app["id"])
        self.assertEqual(result["type"], app["app_type"])
        self.assertEqual(result["identifier"], app["identifier"])
        self.assertIsNone(result["reason"])
        self.assertEqual(result["exit_code"], 0)
        self.assertEqual(result["wrapper_exit_code"], 0)
        self.assertGreaterEqual(result["duration_ms"], 0)

        entries = [e for e in self.hub.audit("restart.result") if e["jti"] == jti]
        self.assertEqual(len(entries), 1, entries)
        entry = entries[0]
        self.assertEqual(entry["status"], status)
        self.assertEqual(entry["exit_code"], 0)
        self.assertEqual(entry["app_id"], app["id"])
        self.assertEqual(entry["reported_by"], "monsys-action")
        self.assertTrue(entry["requested_by_hub"])
        for field in ("stdout", "stderr", "message"):
            self.assertIn(field, entry)
            self.assertIsInstance(entry[field], str, field)

        action = self.hub.action(jti)
        self.assertEqual((action["status"], action["result_status"]), ("done", status))
        self.assertEqual(len(self.results_for(jti)), 1)

        chain = self.assert_transparency_verifies(2)
        events = [(e["event"], e["data"].get("jti")) for e in chain]
        self.assertIn(("restart.requested", jti), events)
        self.assertIn(("restart.result", jti), events)
        self.assertLess(events.index(("restart.requested", jti)),
                        events.index(("restart.result", jti)))
        return result

    def test_systemd_app_stops_alerts_and_is_restarted_with_totp(self):
        unit = self.make_unit("e2e-web")
        first_pid = self.unit_props(unit)["MainPID"]
        self.start_hub_and_agent([{"name": "web", "app_type": "systemd", "identifier": unit}])
        app = self.apps[0]
        self.wait_app_observed(app["id"], "running")

        # Stopped for real: the agent notices within its observe interval and reports at once.
        self.systemctl("stop", unit)
        view = self.wait_app_observed(app["id"], "stopped")
        self.assertEqual(self.unit_props(unit)["ActiveState"], "inactive")
        self.assertIsNotNone(view["detail"])

        # The liveness checks: a mismatch each time, one warning alert on the 3rd, no more after.
        for n in (1, 2, 3, 4):
            self.hub.check_liveness()
            mismatches = [e for e in self.hub.audit("app.state_mismatch")
                          if e["app_id"] == app["id"]]
            self.assertEqual(len(mismatches), n)
            self.assertEqual(mismatches[-1]["expected"], "running")
            self.assertEqual(mismatches[-1]["observed"], "stopped")
            alerts = [a for a in self.hub.alerts() if a["app_id"] == app["id"]]
            self.assertEqual(len(alerts), 0 if n < 3 else 1, alerts)
        audit_alerts = [e for e in self.hub.audit("alert") if e["app_id"] == app["id"]]
        self.assertEqual(len(audit_alerts), 1, audit_alerts)
        self.assertEqual(audit_alerts[0]["severity"], "warning")
        self.assertEqual(audit_alerts[0]["consecutive_mismatch"], 3)
        self.assertTrue(self.hub.app(app["id"])["alerting"])

        # The operator restarts it with a valid TOTP code.
        answer = self.hub.restart(app["id"], "e2e: the unit stopped")
        self.assertEqual(answer["status"], "sent")
        jti = answer["jti"]
        result = self.assert_result_recorded(jti, app)

        props = self.unit_props(unit)
        self.assertEqual(props["ActiveState"], "active")
        self.assertGreater(props["MainPID"], 0)
        self.assertNotEqual(props["MainPID"], first_pid)
        self.assertIn(unit, result["stdout"])
        self.assertTrue(result["stdout"].endswith(f"-> {props['MainPID']}"), result["stdout"])

        # The agent sees it running again and the next check clears the alert.
        self.wait_app_observed(app["id"], "running")
        self.hub.check_liveness()
        cleared = [e for e in self.hub.audit("alert.cleared") if e["app_id"] == app["id"]]
        self.assertEqual(len(cleared), 1)
        self.assertFalse(self.hub.app(app["id"])["alerting"])

    def test_docker_app_is_restarted_with_totp(self):
        container = self.make_container()
        before = self.inspect_container(container)["State"]
        self.assertTrue(before["Running"])
        self.start_hub_and_agent([{"name": "db", "app_type": "docker", "identifier": container}])
        app = self.apps[0]
        self.wait_app_observed(app["id"], "running")

        jti = self.hub.restart(app["id"], "e2e: restart the container")["jti"]
        result = self.assert_result_recorded(jti, app)

        after = self.inspect_container(container)["State"]
        self.assertTrue(after["Running"])
        self.assertNotEqual(after["StartedAt"], before["StartedAt"])
        self.assertNotEqual(after["Pid"], before["Pid"])
        self.assertIn(container, result["stdout"])
        self.wait_app_observed(app["id"], "running")

    def test_compose_app_restarts_every_container_of_the_service(self):
        project = unique("e2ecompose")
        labels = {"com.docker.compose.project": project, "com.docker.compose.service": "api"}
        names = [self.make_container(f"{project}-api-{n}", labels) for n in (1, 2)]
        before = {n: self.inspect_container(n)["State"]["StartedAt"] for n in names}
        self.start_hub_and_agent([{"name": "api", "app_type": "compose",
                                   "identifier": f"{project}::api"}])
        app = self.apps[0]
        view = self.wait_app_observed(app["id"], "running")
        self.assertIn("2/2", view["detail"])

        jti = self.hub.restart(app["id"], "e2e: restart the compose service")["jti"]
        self.assert_result_recorded(jti, app)
        for name in names:
            state = self.inspect_container(name)["State"]
            self.assertTrue(state["Running"], name)
            self.assertNotEqual(state["StartedAt"], before[name], name)

    def test_state_of_apps_registered_while_connected_is_reported_without_delay(self):
        """The agent observes in rounds only every 15 s (the default) but follows the units'
        signals, and reports a new app list and every change at once, not at the next round or
        state interval (5 s here). Two apps
        registered back to back, right after the agent connected (while it is busy with its
        first inventory), must both reach the hub observed within a few seconds."""
        units = [self.make_unit("e2e-live"), self.make_unit("e2e-live")]
        self.start_hub_and_agent()
        started = time.monotonic()
        apps = [self.hub.create_app(AGENT_ID, f"live-{n}", "systemd", unit)
                for n, unit in enumerate(units)]
        delays = {}
        for app in apps:
            self.wait_app_observed(app["id"], "running", timeout=20)
            delays[app["id"]] = round(time.monotonic() - started, 1)

        started = time.monotonic()
        self.systemctl("stop", units[0])
        self.wait_app_observed(apps[0]["id"], "stopped", timeout=20)
        delays["stopped"] = round(time.monotonic() - started, 1)

        started = time.monotonic()
        self.systemctl("start", units[0])
        self.wait_app_observed(apps[0]["id"], "running", timeout=20)
        delays["started"] = round(time.monotonic() - started, 1)

        self.assertLess(max(delays.values()), 3.5,
                        f"seconds until the hub saw it: {delays} (states: "
                        f"{self.hub_agent()['last_state']})")

if __name__ == "__main__":
    unittest.main()
