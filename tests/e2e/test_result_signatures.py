"""Results signed by the host (issue 12): monsys-action signs what it prints with its own key,
the agent relays the signature untouched, the reference hub pins the key from hello on first use,
verifies the result and files the JWS and kid in the transparency log; a rotation on the host is
followed without re-pinning. The inventory reports the same key, which the hub holds against the
pin."""

import json
import os
import stat
import subprocess
import unittest

from e2e_support import AGENT_ID, E2ETestCase, run  # first: it puts tests/hub on sys.path
import testkit  # noqa: E402


class ResultSignatureTest(E2ETestCase):

    def key_command(self, *args):
        """monsys-action's key subcommands with the test's configuration; the printed JSON."""
        out = run([self.action_binary, "--config", self.config_path, *args], self.env)
        return json.loads(out.stdout)

    def start_with_key(self, apps):
        """Hub, apps, config, the key made as the packages' postinst does, then the agent."""
        self.start_hub()
        self.apps = [self.hub.create_app(AGENT_ID, **app) for app in apps]
        self.agent_config()
        key = self.key_command("init-key")
        self.start_agent()
        self.wait(lambda: self.hub.agent(AGENT_ID)["connected"], 30, "the agent to connect")
        return key

    def restart_and_check_signed(self, app, kid):
        jti = self.hub.restart(app["id"], "e2e: signed result")["jti"]
        record = self.wait_result(jti)
        self.assertEqual(record["reported_by"], "monsys-action", record)
        self.assertEqual(record["result"]["status"], "succeeded", record)
        self.assertEqual(record["signature"], {"status": "verified", "kid": kid,
                                               "problem": None}, record)
        self.assertEqual(self.hub.audit("restart.result_unverified"), [])
        return record

    def inventory_key_check(self, kid):
        """Waits for an inventory that reports `kid`; the hub's check of it against the pin."""
        def reported():
            last = self.hub.agent(AGENT_ID).get("last_inventory") or {}
            check = last.get("action_key") or {}
            return check if check.get("kid") == kid else None
        return self.wait(reported, 60, f"an inventory reporting the key {kid}")

    def verify_transparency_cli(self):
        path = os.path.join(self.hub.state_dir, "transparency.jsonl")
        check = subprocess.run([testkit.PYTHON, testkit.VERIFY_SCRIPT, path],
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        self.assertEqual(check.returncode, 0, check.stdout)
        return check.stdout

    def test_a_restart_result_is_signed_by_the_host_and_verified_at_the_hub(self):
        unit = self.make_unit("e2e-signed")
        key = self.start_with_key([{"name": "web", "app_type": "systemd", "identifier": unit}])
        app = self.apps[0]
        self.wait_app_observed(app["id"], "running")

        # The secret stays the wrapper's; the agent reads only the public document.
        state_dir = self.config["state_dir"]
        self.assertEqual(stat.S_IMODE(os.stat(os.path.join(state_dir,
                                                           "action-key.secret")).st_mode), 0o600)
        self.assertEqual(stat.S_IMODE(os.stat(os.path.join(state_dir,
                                                           "action-key.json")).st_mode), 0o640)

        # hello reported the key; the hub pinned it on first use
        self.assertEqual(self.hub.agent(AGENT_ID)["hello"]["action_key"], key)
        self.assertEqual(self.hub.agent(AGENT_ID)["action_key"]["kid"], key["kid"])

        # the inventory reports the same key
        self.assertEqual(self.inventory_key_check(key["kid"]),
                         {"kid": key["kid"], "check": "match"})

        record = self.restart_and_check_signed(app, key["kid"])
        self.assertTrue(record["result_jws"].count(".") == 2)

        entries = [e for e in self.assert_transparency_verifies(3)
                   if e["event"] == "restart.result" and e["data"]["jti"] == record["jti"]]
        self.assertEqual(entries[0]["data"]["kid"], key["kid"])
        self.assertEqual(entries[0]["data"]["result_jws"], record["result_jws"])
        self.assertRegex(self.verify_transparency_cli(), r"^ok: \d+ entries, 1 signed results, 1 keys")

    def test_a_rotated_key_is_followed_without_re_pinning(self):
        unit = self.make_unit("e2e-rotate")
        first = self.start_with_key([{"name": "web", "app_type": "systemd",
                                      "identifier": unit}])
        app = self.apps[0]
        self.wait_app_observed(app["id"], "running")
        self.restart_and_check_signed(app, first["kid"])

        second = self.key_command("rotate-key")
        self.assertNotEqual(second["kid"], first["kid"])
        self.assertEqual(len(second["rotations"]), 1)
        # The agent reports the new key on its next connection.
        connections = self.hub.agent(AGENT_ID)["counters"]["connections"]
        self.hub.test_disconnect(AGENT_ID, code=1001)
        self.wait(lambda: self.hub.agent(AGENT_ID)["counters"]["connections"] > connections
                  and self.hub.agent(AGENT_ID)["connected"], 60, "the agent to reconnect")
        self.wait(lambda: self.hub.agent(AGENT_ID)["action_key"]["kid"] == second["kid"], 10,
                  "the hub to follow the rotation")
        rotated = self.hub.audit("agent.action_key_rotated")
        self.assertEqual([(e["from_kid"], e["to_kid"]) for e in rotated],
                         [(first["kid"], second["kid"])])
        self.assertEqual(self.hub.audit("agent.action_key_mismatch"), [])
        # an inventory collected now reports the new key, which the hub now trusts
        self.hub.test_collect(AGENT_ID)
        self.assertEqual(self.inventory_key_check(second["kid"]),
                         {"kid": second["kid"], "check": "match"})
        self.assertEqual(self.hub.audit("agent.inventory_action_key_mismatch"), [])

        self.wait_app_observed(app["id"], "running")
        self.restart_and_check_signed(app, second["kid"])
        self.assertRegex(self.verify_transparency_cli(),
                         r"^ok: \d+ entries, 2 signed results, 2 keys")


if __name__ == "__main__":
    unittest.main()
