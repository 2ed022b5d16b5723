"""`monsys-agent status` against the real daemon and the reference hub: connected and healthy
with the tracked app's state; an unchanged snapshot confirmed by the heartbeat's touch; the hub gone for longer than --max-disconnected (exit 3); the daemon
killed (exit 1, "not running", the outbox read from the state directory)."""

import json
import os
import stat
import unittest

from e2e_support import AGENT_ID, E2ETestCase, run


class StatusTest(E2ETestCase):

    def status(self, *args):
        return run([self.agent_binary, "--config", self.config_path, "status", *args], self.env,
                   check=False, timeout=30)

    def status_json(self, *args):
        done = self.status("--json", *args)
        try:
            return done.returncode, json.loads(done.stdout)
        except ValueError:
            self.fail(f"status --json printed no JSON (exit {done.returncode}):\n"
                      f"{done.stdout}{done.stderr}")

    def start(self, **overrides):
        self.status_file = os.path.join(self.workdir, "run", "status.json")
        unit = self.make_unit("e2e-status")
        self.start_hub_and_agent(apps=[{"name": "web", "app_type": "systemd",
                                        "identifier": unit}],
                                 status_file=self.status_file, **overrides)
        self.app_id = self.apps[0]["id"]
        self.wait_app_observed(self.app_id, "running")
        return unit

    def test_connected_daemon_is_healthy_and_shows_the_tracked_app(self):
        self.start()

        def tracked_running():
            code, view = self.status_json()
            apps = (view.get("snapshot") or {}).get("apps", [])
            return code == 0 and any(a["id"] == self.app_id and a["state"] == "running"
                                     for a in apps) and view
        view = self.wait(tracked_running, 20, "status to show the app running")
        snapshot = view["snapshot"]
        self.assertEqual(view["verdict"]["daemon"], "running")
        self.assertEqual(snapshot["pid"], self.agents[0].pid)
        self.assertTrue(snapshot["hub"]["connected"])
        self.assertEqual(snapshot["hub"]["url"], self.hub_url())
        app = next(a for a in snapshot["apps"] if a["id"] == self.app_id)
        self.assertEqual(app["type"], "systemd")
        self.assertIn("active", app["detail"])
        # The hub acked the first inventory and state: the snapshot knows the seq.
        self.wait(lambda: self.status_json()[1]["snapshot"]["last_acked_seq"] > 0, 20,
                  "a last acked seq in the status")
        # Root and the agent's group only; no secret in it.
        mode = stat.S_IMODE(os.stat(self.status_file).st_mode)
        self.assertEqual(mode, 0o640)
        with open(self.status_file, encoding="utf-8") as f:
            text = f.read()
        with open(self.config["hub_token_file"], encoding="utf-8") as f:
            token = f.read().strip()
        self.assertNotIn(token, text)

        table = self.status()
        self.assertEqual(table.returncode, 0, table.stdout + table.stderr)
        self.assertIn("connected to the hub", table.stdout)
        self.assertIn(self.app_id, table.stdout)
        self.assertIn("running", table.stdout)

    def test_an_unchanged_snapshot_is_touched_not_rewritten(self):
        # The default state interval (60 s): every acked state report changes the snapshot.
        self.start(state_interval_secs=None)
        self.wait(lambda: self.status_json()[1]["snapshot"]["last_acked_seq"] > 0, 20,
                  "a last acked seq in the status")

        def read():
            with open(self.status_file, "rb") as f:
                return os.fstat(f.fileno()).st_mtime_ns, f.read()

        # The heartbeat (10 s) of a snapshot that did not change moves the file's time and leaves
        # its bytes (written_at included) as they were; status reports the newer time.
        last_write = [read()]

        def touched():
            mtime, text = read()
            if text != last_write[0][1]:
                last_write[0] = (mtime, text)  # written again: start over from this write
                return False
            return mtime > last_write[0][0] and text
        text = self.wait(touched, 35, "a heartbeat that touches the unchanged file")
        written_at = json.loads(text)["written_at"]
        code, view = self.status_json()
        self.assertEqual(code, 0)
        self.assertGreater(view["snapshot"]["written_at"], written_at)
        table = self.status()
        self.assertRegex(table.stdout, r"Snapshot: +updated [0-9]+ s ago")

    def test_hub_gone_longer_than_the_threshold_is_exit_3(self):
        self.start()
        self.wait(lambda: self.status_json()[0] == 0, 20, "a healthy status")
        self.hub.kill()

        def disconnected():
            code, view = self.status_json("--max-disconnected", "1")
            return code == 3 and view
        view = self.wait(disconnected, 30, "status to say disconnected (exit 3)")
        self.assertFalse(view["snapshot"]["hub"]["connected"])
        self.assertNotEqual(view["snapshot"]["hub"]["last_error"], "")
        self.assertIn("disconnected from the hub", view["verdict"]["summary"])
        # Within the default threshold it is still healthy.
        self.assertEqual(self.status().returncode, 0)

    def test_killed_daemon_is_not_running_with_the_outbox_from_disk(self):
        unit = self.start()
        self.wait(lambda: self.status_json()[0] == 0, 20, "a healthy status")
        # Acks withheld: a state change stays in the outbox, then the daemon dies.
        self.hub.test_acks(AGENT_ID, False)
        self.systemctl("stop", unit)
        self.wait_app_observed(self.app_id, "stopped")
        self.wait(lambda: any(m["type"] == "state" for m in self.outbox_messages()), 20,
                  "a state waiting in the outbox")
        self.agents[0].kill()
        pending = len(self.outbox_messages())

        done = self.status()
        self.assertEqual(done.returncode, 1, done.stdout + done.stderr)
        self.assertIn("not running", done.stdout)
        self.assertIn(f"{pending} pending", done.stdout)
        self.assertIn(self.app_id, done.stdout)

        code, view = self.status_json()
        self.assertEqual(code, 1)
        self.assertEqual(view["verdict"]["daemon"], "not running")
        self.assertIsNone(view["snapshot"])
        outbox = view["state_dir"]["outbox"]
        self.assertEqual(sum(kind["count"] for kind in outbox.values()), pending)
        self.assertGreaterEqual(outbox["state"]["count"], 1)
        self.assertIn(self.app_id, [a["id"] for a in view["state_dir"]["apps"]])
        self.assertEqual(view["last_snapshot"]["pid"], self.agents[0].pid)


if __name__ == "__main__":
    unittest.main()
