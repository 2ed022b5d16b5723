"""Scenario 4: refusals. A wrong TOTP code never reaches the agent; tokens for another agent,
expired or signed by a key the agent does not pin are refused, the refusal reaches the hub as an
action_result, and the unit is not restarted. A token used before is not run again: it gets its
first result again (tests/e2e/test_idempotent_actions.py has the other re-deliveries)."""

import os
import time
import unittest

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519

from e2e_support import AGENT_ID, E2ETestCase


class RefusalTest(E2ETestCase):

    def setUp(self):
        super().setUp()
        self.unit = self.make_unit("e2e-guarded")
        self.start_hub_and_agent([{"name": "guarded", "app_type": "systemd",
                                   "identifier": self.unit}])
        self.app = self.apps[0]
        self.wait_app_observed(self.app["id"], "running")
        self.pid = self.unit_props(self.unit)["MainPID"]

    def app_claim(self):
        return {"id": self.app["id"], "type": "systemd", "identifier": self.unit}

    def assert_not_restarted(self, wait_for_state=False):
        if wait_for_state:
            # The next state report comes after at least one more observation of the unit.
            self.wait_new_state(self.hub_agent()["last_state"]["seq"])
        props = self.unit_props(self.unit)
        self.assertEqual((props["ActiveState"], props["MainPID"]), ("active", self.pid))

    def assert_rejected_at_hub(self, jti, reason):
        record = self.wait_result(jti)
        result = record["result"]
        self.assertEqual(result["status"], "rejected", record)
        self.assertEqual(result["reason"], reason, record)
        self.assertEqual(record["reported_by"], "agent", record)
        self.assertEqual(record["jti"], jti)
        self.assertIsNone(result["exit_code"])
        self.assertIsNone(result["wrapper_exit_code"])   # monsys-action never ran
        rejected = [e for e in self.hub.audit("restart.rejected") if e["jti"] == jti]
        self.assertEqual(len(rejected), 1, rejected)
        self.assertEqual(rejected[0]["reason"], reason)
        self.assertEqual(rejected[0]["app_id"], self.app["id"])
        self.assertEqual(self.hub.action(jti)["result_status"], "rejected")
        self.assertEqual(len(self.results_for(jti)), 1)
        self.assert_not_restarted()
        return record

    def new_key(self, name):
        path = os.path.join(self.workdir, name)
        key = ed25519.Ed25519PrivateKey.generate()
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "wb") as f:
            f.write(key.private_bytes(serialization.Encoding.PEM,
                                      serialization.PrivateFormat.PKCS8,
                                      serialization.NoEncryption()))
        return path

    def test_wrong_totp_is_refused_and_nothing_reaches_the_agent(self):
        frames_before = len(self.hub.frames(AGENT_ID))
        for code, why in ((self.hub.wrong_totp(), "wrong"), (None, "missing")):
            headers = {"X-TOTP-Code": code} if code else {}
            status, body = self.hub.call("POST", f"/api/v1/apps/{self.app['id']}/restart",
                                         {"reason": "e2e: wrong code"}, headers)
            self.assertEqual(status, 401, body)
            self.assertIn(why, body["error"])
        denied = [e for e in self.hub.audit("restart.denied_totp")
                  if e["app_id"] == self.app["id"]]
        self.assertEqual([e["totp"] for e in denied], ["wrong", "missing"])
        self.assertEqual(self.hub.api("GET", "/api/v1/actions")["actions"], [])
        self.assertEqual(self.hub.audit("restart.requested"), [])
        self.assert_not_restarted(wait_for_state=True)
        actions_out = [f for f in self.hub.frames(AGENT_ID)[frames_before:]
                       if f["dir"] == "out" and f["type"] == "action"]
        self.assertEqual(actions_out, [])
        self.assertEqual(self.hub_agent()["counters"]["action_result"], 0)

    def test_token_for_another_agent_is_rejected(self):
        token, jti = self.mint(self.app_claim(), sub="some-other-agent")
        self.hub.test_action(AGENT_ID, token)
        self.assert_rejected_at_hub(jti, "wrong_agent")

    def test_expired_token_is_rejected(self):
        token, jti = self.mint(self.app_claim(), now=int(time.time()) - 3600)
        self.hub.test_action(AGENT_ID, token)
        self.assert_rejected_at_hub(jti, "expired")

    def test_token_signed_by_an_unpinned_key_is_rejected(self):
        rogue = self.new_key("rogue.pem")
        # The pinned kid, another key: the signature does not verify.
        token, jti = self.mint(self.app_claim(), key_path=rogue)
        self.hub.test_action(AGENT_ID, token)
        self.assert_rejected_at_hub(jti, "bad_signature")
        # A kid the agent does not pin.
        token, jti = self.mint(self.app_claim(), key_path=rogue, kid="rogue-1")
        self.hub.test_action(AGENT_ID, token)
        self.assert_rejected_at_hub(jti, "unknown_kid")

    def test_a_token_used_before_gets_its_first_result_again(self):
        token, jti = self.mint(self.app_claim())
        self.hub.test_action(AGENT_ID, token)
        first = self.wait_result(jti)
        self.assertEqual(first["result"]["status"], "succeeded", first)
        self.assertEqual(first["reported_by"], "monsys-action")
        restarted_pid = self.unit_props(self.unit)["MainPID"]
        self.assertNotEqual(restarted_pid, self.pid)
        self.pid = restarted_pid

        # At most one action_result per verified jti (docs/protocol.md, "action"): delivered
        # again, the token is not run and not refused; the agent sends the first result's frame
        # again, same seq and bytes, which the hub acks as a duplicate seq.
        self.hub.test_action(AGENT_ID, token)
        frames = self.wait(lambda: [f for f in self.frames_in("action_result")
                                    if f.get("jti") == jti and f["outcome"] != "stored"],
                           30, "the first result's frame again")
        self.assertEqual(frames[0]["outcome"], "duplicate", frames)
        self.assertEqual(frames[0]["seq"], first["seq"])
        self.assertEqual(self.results_for(jti), [first])
        self.assertEqual(self.hub_agent()["counters"]["duplicate_jti"], 0)
        self.assert_not_restarted()

if __name__ == "__main__":
    unittest.main()
