#!/usr/bin/python3
"""Self-test of the reference hub: starts it as a subprocess (ws and wss) and talks to it with a
tiny fake agent written with the websockets client, and through the REST API.

    /usr/bin/python3 tests/hub/selftest.py [-v] [unittest arguments]

HUB_SELFTEST_KEEP=1 keeps the temporary directories (state, logs, hub.log) and names them.
"""

import asyncio
import base64
import json
import os
import re
import shutil
import ssl
import subprocess
import sys
import tempfile
import time
import unittest

HUB_DIR = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HUB_DIR)

import jwt  # noqa: E402
import websockets.client  # noqa: E402
import websockets.exceptions  # noqa: E402
from cryptography.hazmat.primitives.asymmetric import ed25519  # noqa: E402

import evidence  # noqa: E402
import liveness  # noqa: E402
import signatures  # noqa: E402
import testkit  # noqa: E402

AGENTS = {f"agent-{n:02d}": f"token-{n:02d}-{os.urandom(8).hex()}" for n in range(1, 24)}
ISO_MS = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z")


class FakeAgent:
    """Just enough of an agent to drive the hub: connect, hello, data messages, frames."""

    def __init__(self, hub, agent_id, token=None):
        self.hub = hub
        self.agent_id = agent_id
        self.token = token if token is not None else AGENTS[agent_id]
        self.ws = None
        self.seq = 0
        self.skipped = []

    def ssl_context(self):
        if not self.hub.ws_url.startswith("wss:"):
            return None
        return ssl.create_default_context(cafile=self.hub.ca_file)

    async def open(self, *, subprotocols=(testkit.SUBPROTOCOL,), path=None, token=True):
        headers = {"Authorization": f"Bearer {self.token}"} if token else {}
        url = self.hub.ws_url if path is None else self.hub.ws_url.rsplit("/", 1)[0] + path
        self.ws = await websockets.client.connect(
            url, subprotocols=list(subprotocols) or None, extra_headers=headers,
            ssl=self.ssl_context(), max_size=None, open_timeout=10, compression=None,
            user_agent_header="monsys-agent/0.1.0+20261128 (fake)")
        return self.ws

    async def connect(self, last_acked_seq=0, action_key=None):
        """Opens the connection, sends hello, returns the welcome."""
        await self.open()
        await self.send({"type": "hello", "agent_id": self.agent_id, "version": "0.1.0+test",
                         "hostname": f"{self.agent_id}.test", "boot_id": "b" * 32,
                         "tags": ["test"], "capabilities": ["inventory.extended", "state",
                                                            "restart-app"],
                         "last_acked_seq": last_acked_seq, "action_key": action_key})
        return await self.expect("welcome")

    @staticmethod
    def signed(msg, key):
        """msg with result_jws over its result, as monsys-action prints it."""
        line = json.dumps(msg["result"], separators=(",", ":"))
        return {**msg, "result": json.loads(line),
                "result_jws": signatures.sign_compact(key, signatures.RESULT_TYP, line)}

    async def send(self, msg):
        await self.ws.send(msg if isinstance(msg, (str, bytes)) else json.dumps(msg))

    async def recv(self, timeout=5):
        frame = await asyncio.wait_for(self.ws.recv(), timeout)
        return json.loads(frame) if isinstance(frame, str) else frame

    async def expect(self, kind, timeout=5):
        """The next frame of type `kind`; other frames are kept in self.skipped."""
        deadline = time.monotonic() + timeout
        while True:
            msg = await self.recv(max(0.01, deadline - time.monotonic()))
            if isinstance(msg, dict) and msg.get("type") == kind:
                return msg
            self.skipped.append(msg)

    async def no_frame(self, kinds, timeout):
        """Fails if a frame of one of `kinds` arrives within `timeout` seconds."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                msg = await self.recv(deadline - time.monotonic())
            except asyncio.TimeoutError:
                return
            if isinstance(msg, dict) and msg.get("type") in kinds:
                raise AssertionError(f"unexpected frame {msg}")
            self.skipped.append(msg)

    async def data(self, msg, seq=None):
        """Sends a data message with the next (or the given) seq; returns (msg, ack)."""
        if seq is None:
            self.seq += 1
            seq = self.seq
        msg = {**msg, "seq": seq}
        await self.send(msg)
        ack = await self.expect("ack")
        return msg, ack

    def state(self, *apps):
        return {"type": "state", "observed_at": evidence.now_iso(),
                "apps": [{"id": app_id, "observed": observed, "detail": f"{observed} (test)",
                          "changed_at": "2026-11-28T08:00:00.000Z"}
                         for app_id, observed in apps]}

    @staticmethod
    def inventory(rows):
        return {"type": "inventory", "kind": "extended", "collected_at": evidence.now_iso(),
                "inventory": {"schema_version": 1, "host": {"hostname": "h"},
                              "discovered": rows}}

    @staticmethod
    def action_result(jti, status="succeeded", reported_by="monsys-action", app_id="app-1",
                      reason=None):
        return {"type": "action_result", "jti": jti, "reported_by": reported_by,
                "result": {"jti": jti, "app_id": app_id, "type": "systemd",
                           "identifier": "nginx.service", "status": status, "reason": reason,
                           "message": "test", "exit_code": 0 if status == "succeeded" else None,
                           "stdout": "out", "stderr": "", "stdout_truncated": False,
                           "stderr_truncated": False, "started_at": evidence.now_iso(),
                           "finished_at": evidence.now_iso(), "duration_ms": 1,
                           "before": {}, "after": {}, "wrapper_exit_code": 0}}

    async def close(self):
        if self.ws is not None:
            await self.ws.close()


def decode_eat(token, public_key_b64, agent_id):
    key = ed25519.Ed25519PublicKey.from_public_bytes(base64.b64decode(public_key_b64))
    claims = jwt.decode(token, key, algorithms=["EdDSA"], audience="monsys-agent",
                        issuer="monsys-hub",
                        options={"require": ["exp", "iat", "nbf", "jti", "sub"]})
    if claims["sub"] != agent_id:
        raise AssertionError(f"sub is {claims['sub']!r}, not {agent_id!r}")
    return claims


class HubTestCase(unittest.IsolatedAsyncioTestCase):
    TLS = False
    LIVENESS_INTERVAL = 3600
    EXTRA_ARGS = ()

    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix="monsys-hub-selftest-")
        cls.hub = testkit.HubProcess.create(cls.tmp, AGENTS, tls=cls.TLS,
                                            liveness_interval=cls.LIVENESS_INTERVAL,
                                            extra_args=cls.EXTRA_ARGS)
        cls.hub.start()

    @classmethod
    def tearDownClass(cls):
        status = cls.hub.stop()
        if status not in (0, None):
            print(f"the hub exited with {status}:\n{cls.hub.log_tail()}", file=sys.stderr)
        if os.environ.get("HUB_SELFTEST_KEEP"):
            print(f"kept {cls.tmp}", file=sys.stderr)
        else:
            shutil.rmtree(cls.tmp, ignore_errors=True)

    async def asyncSetUp(self):
        self.agents = []
        # the REST helpers block the loop on purpose (the hub is another process)
        asyncio.get_running_loop().slow_callback_duration = 60

    async def asyncTearDown(self):
        for agent in self.agents:
            await agent.close()

    def agent(self, agent_id):
        agent = FakeAgent(self.hub, agent_id)
        self.agents.append(agent)
        return agent


# ---------------------------------------------------------------- pure rules


class LivenessRules(unittest.TestCase):
    def run_steps(self, expected, observations):
        counters = liveness.new_counters()
        return counters, [liveness.step(counters, expected, o) for o in observations]

    def test_three_mismatches_raise_one_alert(self):
        counters, events = self.run_steps("running", ["stopped"] * 5)
        self.assertEqual(events, [["mismatch"], ["mismatch"], ["mismatch", "alert"],
                                  ["mismatch"], ["mismatch"]])
        self.assertEqual(counters["consecutive_mismatch"], 5)
        self.assertTrue(counters["alerting"])

    def test_match_resets_and_clears(self):
        counters, events = self.run_steps("stopped", ["running"] * 3 + ["stopped"])
        self.assertEqual(events[-1], ["cleared"])
        self.assertEqual(counters, {**liveness.new_counters()})
        counters, events = self.run_steps("running", ["stopped", "stopped", "running",
                                                      "stopped", "stopped"])
        self.assertEqual(counters["consecutive_mismatch"], 2)
        self.assertNotIn(["mismatch", "alert"], events)

    def test_unknown_counts_from_the_fourth(self):
        counters, events = self.run_steps("running", ["unknown"] * 6)
        self.assertEqual(events, [[], [], [], ["mismatch"], ["mismatch"], ["mismatch", "alert"]])
        self.assertEqual(counters["consecutive_unknown"], 6)
        self.assertEqual(counters["consecutive_mismatch"], 3)

    def test_unknown_neither_counts_nor_resets_early(self):
        counters, events = self.run_steps("running", ["stopped", "stopped", "unknown",
                                                      "stopped"])
        self.assertEqual(events, [["mismatch"], ["mismatch"], [], ["mismatch", "alert"]])
        self.assertEqual(counters["consecutive_unknown"], 0)


class TransparencyFile(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="monsys-hub-tlog-")
        self.path = os.path.join(self.tmp, "transparency.jsonl")
        self.log = evidence.TransparencyLog(self.path)
        for n in range(4):
            self.log.append("restart.requested", {"n": n, "text": "é ✓"})

    def tearDown(self):
        shutil.rmtree(self.tmp, ignore_errors=True)

    def cli(self):
        return subprocess.run([testkit.PYTHON, testkit.VERIFY_SCRIPT, self.path],
                              capture_output=True, text=True)

    def rewrite(self, change):
        with open(self.path, encoding="utf-8") as f:
            lines = f.readlines()
        change(lines)
        with open(self.path, "w", encoding="utf-8") as f:
            f.writelines(lines)

    def test_chain(self):
        entries = evidence.read_jsonl(self.path)
        self.assertEqual(entries[0]["prev_hash"], "0" * 64)
        for prev, entry in zip(entries, entries[1:]):
            self.assertEqual(entry["prev_hash"], prev["hash"])
        # the definition of README.md, written out
        e = entries[2]
        body = json.dumps({"index": 2, "ts": e["ts"], "event": e["event"], "data": e["data"]},
                          sort_keys=True, separators=(",", ":"), ensure_ascii=False)
        import hashlib
        self.assertEqual(e["hash"], hashlib.sha256(
            (e["prev_hash"] + body).encode("utf-8")).hexdigest())
        run = self.cli()
        self.assertEqual((run.returncode, run.stdout),
                         (0, "ok: 4 entries, 0 signed results, 0 keys\n"))

    def test_tampered_data(self):
        self.rewrite(lambda lines: lines.__setitem__(2, lines[2].replace('"n":2', '"n":7')))
        run = self.cli()
        self.assertEqual(run.returncode, 1)
        self.assertIn(":3: entry 2:", run.stdout)
        self.assertEqual(evidence.verify_file(self.path)["bad_index"], 2)

    def test_removed_entry(self):
        self.rewrite(lambda lines: lines.pop(1))
        run = self.cli()
        self.assertEqual(run.returncode, 1)
        self.assertIn(":2: entry 1: index is 2", run.stdout)

    def test_truncation_seen_by_the_writer(self):
        self.rewrite(lambda lines: lines.pop())
        self.assertTrue(evidence.verify_file(self.path)["ok"])
        self.assertFalse(self.log.verify()["ok"])


# ---------------------------------------------------------------- the hub over wss


class HubOverTls(HubTestCase):
    TLS = True

    async def test_ready_file_and_wss(self):
        self.assertTrue(self.hub.ws_url.startswith("wss://127.0.0.1:"))
        self.assertTrue(self.hub.ws_url.endswith("/agent"))
        self.assertEqual(self.hub.info["pid"], self.hub.proc.pid)
        ws = await self.agent("agent-01").open()
        self.assertEqual(ws.subprotocol, testkit.SUBPROTOCOL)

    async def test_handshake_refusals(self):
        cases = [("wrong token", dict(token="nope"), {}, 401),
                 ("no token", dict(), {"token": False}, 401),
                 ("other agent's token pattern", dict(token=AGENTS["agent-01"] + "x"), {}, 401),
                 ("no subprotocol", dict(), {"subprotocols": ()}, 400),
                 ("wrong path", dict(), {"path": "/other"}, 404)]
        for name, agent_args, open_args, status in cases:
            with self.subTest(name):
                agent = FakeAgent(self.hub, "agent-01", **agent_args)
                with self.assertRaises(websockets.exceptions.InvalidStatusCode) as caught:
                    await agent.open(**open_args)
                self.assertEqual(caught.exception.status_code, status)

    async def test_welcome_lists_the_agents_apps(self):
        web = self.hub.create_app("agent-02", "web", "systemd", "nginx.service",
                                  owner_email="ops@example.net",
                                  runbook_url="https://wiki.example.net/web")
        worker = self.hub.create_app("agent-02", "worker", "process", "/opt/worker/run.sh",
                                     restart_command="/opt/worker/restart.sh",
                                     expected_state="stopped")
        self.hub.create_app("agent-03", "other", "docker", "redis")
        welcome = await self.agent("agent-02").connect()
        self.assertRegex(welcome["server_time"], ISO_MS)
        self.assertNotIn("state_interval_secs", welcome)
        self.assertEqual(welcome["apps"], [
            {"id": web["id"], "name": "web", "app_type": "systemd",
             "identifier": "nginx.service", "expected_state": "running"},
            {"id": worker["id"], "name": "worker", "app_type": "process",
             "identifier": "/opt/worker/run.sh", "expected_state": "stopped",
             "restart_command": "/opt/worker/restart.sh"}])
        agent = self.hub.agent("agent-02")
        self.assertTrue(agent["connected"])
        self.assertEqual(agent["hostname"], "agent-02.test")
        self.assertEqual(agent["last_acked_seq"], 0)

    async def test_hello_with_another_agent_id_is_refused(self):
        agent = self.agent("agent-04")
        await agent.open()
        await agent.send({"type": "hello", "agent_id": "agent-05", "last_acked_seq": 0})
        error = await agent.expect("error")
        self.assertEqual(error["code"], "wrong_agent")
        with self.assertRaises(websockets.exceptions.ConnectionClosed):
            await agent.recv()
        self.assertEqual(agent.ws.close_code, 1008)

    async def test_acks_and_duplicate_seq(self):
        agent = self.agent("agent-05")
        await agent.connect()
        state, ack = await agent.data(agent.state(("app-x", "running")))
        self.assertEqual(ack, {"type": "ack", "seq": 1})
        _, ack = await agent.data(agent.inventory([]))
        self.assertEqual(ack["seq"], 2)
        # the same message again after a "reconnect": acked again, stored once
        await agent.close()
        await agent.connect(last_acked_seq=1)
        _, ack = await agent.data(state, seq=1)
        self.assertEqual(ack["seq"], 1)
        view = self.hub.agent("agent-05")
        self.assertEqual(view["counters"]["state"], 1)
        self.assertEqual(view["counters"]["inventory"], 1)
        self.assertEqual(view["counters"]["duplicate_seq"], 1)
        self.assertEqual(view["counters"]["seq_conflicts"], 0)
        self.assertEqual(view["last_state"]["seq"], 1)
        self.assertEqual(view["max_seq"], 2)
        # a seq reused for other content: acked, not applied, reported
        _, ack = await agent.data(agent.state(("app-x", "stopped")), seq=1)
        self.assertEqual(ack["seq"], 1)
        self.assertEqual([m["code"] for m in agent.skipped if m.get("type") == "error"],
                         ["seq_conflict"])
        view = self.hub.agent("agent-05")
        self.assertEqual(view["counters"]["seq_conflicts"], 1)
        self.assertEqual(view["last_state"]["apps"][0]["observed"], "running")

    async def test_action_result_unique_per_jti(self):
        agent = self.agent("agent-06")
        await agent.connect()
        jti = "selftest-jti-1"
        first, _ = await agent.data(agent.action_result(jti))
        await agent.data(agent.action_result(jti))           # new seq, same jti
        await agent.send(first)                              # the same message again
        self.assertEqual(await agent.expect("ack"), {"type": "ack", "seq": 1})
        view = self.hub.agent("agent-06")
        self.assertEqual(view["counters"]["action_result"], 2)
        self.assertEqual(view["counters"]["duplicate_jti"], 1)
        self.assertEqual(view["counters"]["duplicate_seq"], 1)
        self.assertEqual(view["counters"]["seq_conflicts"], 0)
        results = [r for r in self.hub.api("GET", "/api/v1/results")["results"]
                   if r["jti"] == jti]
        self.assertEqual(len(results), 1)
        self.assertEqual(self.hub.result(jti)["result"]["stdout"], "out")
        audited = [e for e in self.hub.audit("restart.result") if e["jti"] == jti]
        self.assertEqual(len(audited), 1)
        self.assertEqual(audited[0]["result"]["status"], "succeeded")
        self.assertEqual(audited[0]["seq"], 1)
        # a rejection is also audited as such
        await agent.data(agent.action_result("selftest-jti-2", status="rejected",
                                             reported_by="agent", reason="expired"))
        rejected = [e for e in self.hub.audit("restart.rejected")
                    if e["jti"] == "selftest-jti-2"]
        self.assertEqual(rejected[0]["reason"], "expired")
        self.assertIsNone(self.hub.result("no-such-jti"))

    async def test_second_result_for_a_jti_is_audited_as_a_duplicate(self):
        agent = self.agent("agent-17")
        await agent.connect()
        jti = "selftest-dup-1"
        await agent.data(agent.action_result(jti, status="succeeded"))
        # the case: a second delivery answered "replayed", with a new seq
        await agent.data(agent.action_result(jti, status="rejected", reason="replayed"))
        # and one that agrees with the first
        await agent.data(agent.action_result(jti, status="succeeded"))
        events = [e for e in self.hub.audit("restart.result_duplicate_jti") if e["jti"] == jti]
        self.assertEqual([(e["seq"], e["first_seq"], e["status"], e["first_status"],
                           e["contradicts"]) for e in events],
                         [(2, 1, "rejected", "succeeded", True),
                          (3, 1, "succeeded", "succeeded", False)])
        self.assertEqual(self.hub.result(jti)["result"]["status"], "succeeded")
        self.assertEqual(self.hub.result(jti)["seq"], 1)
        # a refusal of an unverifiable token names a jti it only claims (result.jti null):
        # it neither counts as that jti's result nor blocks the real one
        claimed = agent.action_result("selftest-dup-2", status="rejected", reported_by="agent",
                                      reason="bad_signature")
        claimed["result"]["jti"] = None
        await agent.data(claimed)
        await agent.data(agent.action_result("selftest-dup-2", status="succeeded"))
        self.assertEqual(self.hub.result("selftest-dup-2")["result"]["status"], "succeeded")
        self.assertFalse([e for e in self.hub.audit("restart.result_duplicate_jti")
                          if e["jti"] == "selftest-dup-2"])

    async def test_resend_action_hook_sends_the_same_token(self):
        agent = self.agent("agent-18")
        await agent.connect()
        key = ed25519.Ed25519PrivateKey.generate()
        token = jwt.encode({"jti": "selftest-resend-1", "app": {"id": "app-x"},
                            "exp": int(time.time()) + 300}, key, algorithm="EdDSA")
        self.hub.test_action("agent-18", token)
        self.assertEqual(await agent.recv(), {"type": "action", "eat": token})
        answer = self.hub.api("POST", "/api/v1/test/agents/agent-18/resend-action",
                              {"jti": "selftest-resend-1"}, expect=202)
        self.assertEqual(answer, {"jti": "selftest-resend-1", "resent": 1})
        self.assertEqual(await agent.recv(), {"type": "action", "eat": token})
        self.assertNotIn("token", self.hub.action("selftest-resend-1"))
        # once the result is in, the token is gone and cannot be re-sent
        await agent.data(agent.action_result("selftest-resend-1"))
        status, _ = self.hub.call("POST", "/api/v1/test/agents/agent-18/resend-action",
                                  {"jti": "selftest-resend-1"})
        self.assertEqual(status, 409)
        status, _ = self.hub.call("POST", "/api/v1/test/agents/agent-18/resend-action",
                                  {"jti": "no-such"})
        self.assertEqual(status, 404)

    async def test_results_signed_by_the_pinned_key_verify(self):
        host_key = ed25519.Ed25519PrivateKey.generate()
        doc = signatures.key_document(host_key)
        agent = self.agent("agent-19")
        await agent.connect(action_key=doc)
        self.assertEqual(self.hub.agent("agent-19")["action_key"]["kid"], doc["kid"])
        pinned = [e for e in self.hub.audit("agent.action_key_pinned")
                  if e["agent_id"] == "agent-19"]
        self.assertEqual(len(pinned), 1)

        def signature_of(jti):
            return self.hub.result(jti)["signature"]

        def unverified(jti):
            return [e for e in self.hub.audit("restart.result_unverified") if e["jti"] == jti]

        await agent.data(agent.signed(agent.action_result("sig-ok"), host_key))
        self.assertEqual(signature_of("sig-ok"), {"status": "verified", "kid": doc["kid"],
                                                  "problem": None})
        self.assertEqual(unverified("sig-ok"), [])

        # tampered: signed "failed", reported "succeeded"
        msg = agent.signed(agent.action_result("sig-tampered", status="failed"), host_key)
        msg["result"]["status"] = "succeeded"
        await agent.data(msg)
        self.assertEqual(signature_of("sig-tampered")["status"], "unverified")
        self.assertIn("changed", signature_of("sig-tampered")["problem"])
        self.assertEqual(len(unverified("sig-tampered")), 1)

        # another host's key
        other = ed25519.Ed25519PrivateKey.generate()
        await agent.data(agent.signed(agent.action_result("sig-other"), other))
        self.assertIn("not a key pinned", signature_of("sig-other")["problem"])
        self.assertEqual(len(unverified("sig-other")), 1)

        # another key claiming the pinned kid: the signature does not verify
        msg = agent.signed(agent.action_result("sig-forged"), other)
        header = {"alg": "EdDSA", "kid": doc["kid"], "typ": signatures.RESULT_TYP}
        parts = msg["result_jws"].split(".")
        head = signatures.b64url_encode(json.dumps(header, separators=(",", ":")).encode())
        signing_input = f"{head}.{parts[1]}"
        msg["result_jws"] = signing_input + "." + signatures.b64url_encode(
            other.sign(signing_input.encode()))
        await agent.data(msg)
        self.assertEqual(signature_of("sig-forged")["problem"], "JWS signature does not verify")

        # monsys-action's result without a signature
        await agent.data(agent.action_result("sig-missing"))
        self.assertEqual(signature_of("sig-missing")["problem"], "no result_jws")
        self.assertEqual(len(unverified("sig-missing")), 1)

        # a result the agent built: agent-reported, no audit as unverified
        await agent.data(agent.action_result("sig-agent", status="rejected",
                                             reported_by="agent", reason="expired"))
        self.assertEqual(signature_of("sig-agent")["status"], "agent-reported")
        self.assertEqual(unverified("sig-agent"), [])
        audited = [e for e in self.hub.audit("restart.result") if e["jti"] == "sig-agent"]
        self.assertEqual(audited[0]["signature"], "agent-reported")

        # the transparency log carries the JWS and the kid, and the CLI checks them
        entries = [e for e in evidence.read_jsonl(os.path.join(self.hub.state_dir,
                                                               "transparency.jsonl"))
                   if e["event"] == "restart.result" and e["data"]["jti"] == "sig-ok"]
        self.assertEqual(entries[0]["data"]["kid"], doc["kid"])
        self.assertEqual(entries[0]["data"]["signature"], "verified")
        self.assertTrue(entries[0]["data"]["result_jws"].startswith("ey"))
        verdict = self.hub.verify_transparency()
        self.assertTrue(verdict["ok"], verdict)
        self.assertGreaterEqual(verdict["signatures"], 1)
        run = subprocess.run([testkit.PYTHON, testkit.VERIFY_SCRIPT,
                              os.path.join(self.hub.state_dir, "transparency.jsonl")],
                             stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        self.assertEqual(run.returncode, 0, run.stdout)
        self.assertRegex(run.stdout, r"^ok: \d+ entries, [1-9]\d* signed results, [1-9]\d* keys")

    async def test_rotation_is_followed_and_a_stranger_key_is_not(self):
        first = ed25519.Ed25519PrivateKey.generate()
        second = ed25519.Ed25519PrivateKey.generate()
        third = ed25519.Ed25519PrivateKey.generate()
        agent = self.agent("agent-20")
        await agent.connect(action_key=signatures.key_document(first))
        await agent.close()
        rotations = [signatures.rotation_statement(first, second),
                     signatures.rotation_statement(second, third)]
        doc = signatures.key_document(third, rotations)
        agent = self.agent("agent-20")
        await agent.connect(action_key=doc)
        view = self.hub.agent("agent-20")["action_key"]
        self.assertEqual(view["kid"], doc["kid"])
        self.assertEqual(len(view["kids"]), 3)
        rotated = [e for e in self.hub.audit("agent.action_key_rotated")
                   if e["agent_id"] == "agent-20"]
        self.assertEqual((rotated[0]["to_kid"], rotated[0]["steps"]), (doc["kid"], 2))
        await agent.data(agent.signed(agent.action_result("rot-new"), third))
        self.assertEqual(self.hub.result("rot-new")["signature"]["status"], "verified")
        # a result still in an outbox, signed by the older key of the chain
        await agent.data(agent.signed(agent.action_result("rot-old"), first))
        self.assertEqual(self.hub.result("rot-old")["signature"]["status"], "verified")
        await agent.close()

        # a key that no statement of a trusted key leads to: not pinned
        stranger = ed25519.Ed25519PrivateKey.generate()
        forged = signatures.key_document(
            stranger, rotations + [signatures.rotation_statement(stranger, stranger)])
        agent = self.agent("agent-20")
        agent.seq = 2  # the seqs go on across connections
        await agent.connect(action_key=forged)
        mismatch = [e for e in self.hub.audit("agent.action_key_mismatch")
                    if e["agent_id"] == "agent-20"]
        self.assertEqual(mismatch[-1]["reported_kid"], forged["kid"])
        self.assertEqual(self.hub.agent("agent-20")["action_key"]["kid"], doc["kid"])
        await agent.data(agent.signed(agent.action_result("rot-stranger"), stranger))
        self.assertEqual(self.hub.result("rot-stranger")["signature"]["status"], "unverified")

        # an operator's reset: the next hello pins again
        self.hub.api("DELETE", "/api/v1/agents/agent-20/action-key")
        await agent.close()
        agent = self.agent("agent-20")
        await agent.connect(action_key=forged)
        self.assertEqual(self.hub.agent("agent-20")["action_key"]["kid"], forged["kid"])
        run = subprocess.run([testkit.PYTHON, testkit.VERIFY_SCRIPT,
                              os.path.join(self.hub.state_dir, "transparency.jsonl")],
                             stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        self.assertEqual(run.returncode, 0, run.stdout)

    async def test_inventory_action_key_is_held_against_the_pin(self):
        first = ed25519.Ed25519PrivateKey.generate()
        second = ed25519.Ed25519PrivateKey.generate()
        stranger = ed25519.Ed25519PrivateKey.generate()
        pinned = signatures.key_document(first)
        agent = self.agent("agent-23")
        await agent.connect(action_key=pinned)

        def inventory(key_doc, **host):
            msg = agent.inventory([])
            msg["inventory"]["host"].update(host)
            if key_doc != "absent":
                msg["inventory"]["host"]["action_key"] = key_doc
            return msg

        async def check_of(msg):
            await agent.data(msg)
            return self.hub.agent("agent-23")["last_inventory"]["action_key"]

        def audited(event):
            return [e for e in self.hub.audit(event) if e["agent_id"] == "agent-23"]

        self.assertEqual(await check_of(inventory(pinned)),
                         {"kid": pinned["kid"], "check": "match"})
        self.assertEqual((await check_of(inventory("absent")))["check"], "not_reported")
        # a rotation the next hello will bring: followed from the pin, not pinned from here
        rotated = signatures.key_document(second, [signatures.rotation_statement(first, second)])
        self.assertEqual((await check_of(inventory(rotated)))["check"], "ahead")
        self.assertEqual(self.hub.agent("agent-23")["action_key"]["kid"], pinned["kid"])
        self.assertEqual(audited("agent.inventory_action_key_mismatch"), [])

        foreign = signatures.key_document(stranger)
        self.assertEqual((await check_of(inventory(foreign)))["check"], "mismatch")
        mismatch = audited("agent.inventory_action_key_mismatch")
        self.assertEqual(len(mismatch), 1)
        self.assertEqual((mismatch[0]["pinned_kid"], mismatch[0]["reported_kid"]),
                         (pinned["kid"], foreign["kid"]))

        self.assertEqual((await check_of(inventory(None, action_key_error="no key")))["check"],
                         "missing")
        missing = audited("agent.inventory_action_key_missing")
        self.assertEqual((len(missing), missing[0]["error"]), (1, "no key"))
        self.assertEqual(self.hub.agent("agent-23")["action_key"]["kid"], pinned["kid"])
        await agent.close()

    async def test_outbox_drops_in_hello_are_audited_when_they_rise(self):
        counts = dict.fromkeys(("results_evicted", "refusals_evicted", "refusals_suppressed",
                                "action_frames_dropped"), 0)

        async def hello(dropped):
            agent = self.agent("agent-21")
            await agent.open()
            await agent.send({"type": "hello", "agent_id": "agent-21", "last_acked_seq": 0,
                              "dropped": dropped})
            await agent.expect("welcome")
            await agent.close()

        def audited():
            return [e for e in self.hub.audit("agent.outbox_dropped")
                    if e["agent_id"] == "agent-21"]

        await hello(counts)
        self.assertEqual(audited(), [])
        await hello({**counts, "refusals_suppressed": 5})
        self.assertEqual(len(audited()), 1)
        await hello({**counts, "refusals_suppressed": 5})   # no change: nothing new
        self.assertEqual(len(audited()), 1)
        await hello({**counts, "refusals_suppressed": 2})   # a restarted agent dropped again
        self.assertEqual(len(audited()), 2)
        self.assertEqual(self.hub.agent("agent-21")["dropped"]["refusals_suppressed"], 2)
        agent = self.agent("agent-21")
        await agent.open()
        await agent.send({"type": "hello", "agent_id": "agent-21", "last_acked_seq": 0,
                          "dropped": {"results_evicted": -1}})
        self.assertEqual((await agent.expect("error"))["code"], "bad_message")

    async def test_a_malformed_action_key_is_audited_and_pins_nothing(self):
        agent = self.agent("agent-22")
        await agent.connect(action_key={"kid": ["x"], "jwk": {"kty": "OKP", "crv": "Ed25519",
                                                             "x": "AA"}, "rotations": []})
        invalid = [e for e in self.hub.audit("agent.action_key_invalid")
                   if e["agent_id"] == "agent-22"]
        self.assertEqual(len(invalid), 1)
        self.assertIsNone(self.hub.agent("agent-22")["action_key"])
        # a result then is unverified (nothing pinned), filed all the same
        header = signatures.b64url_encode(json.dumps({"kid": [1]}).encode())
        await agent.data({**agent.action_result("bad-key-1"), "result_jws": header + ".e30.AA"})
        self.assertEqual(self.hub.result("bad-key-1")["signature"]["status"], "unverified")

    async def test_malformed_frames_keep_the_connection(self):
        agent = self.agent("agent-07")
        await agent.open()
        await agent.send({"type": "state", "seq": 1, "observed_at": "x", "apps": []})
        self.assertEqual((await agent.expect("error"))["code"], "bad_message")  # no hello yet
        await agent.close()
        await agent.connect()
        bad = ["not json", "[1, 2]", '{"seq": 1}', '{"type": 5}',
               '{"type": "state", "seq": "1", "observed_at": "x", "apps": []}',
               '{"type": "state", "seq": 1, "observed_at": "x", "apps": {}}',
               '{"type": "state", "seq": 1, "seq": 2, "observed_at": "x", "apps": []}',
               '{"type": "state", "seq": 1, "observed_at": "\\ud800", "apps": []}',
               '{"type": "inventory", "seq": 1, "kind": "extended", "collected_at": "x", '
               '"inventory": {}}',
               '{"type": "action_result", "seq": 1, "jti": "j", "reported_by": "me", '
               '"result": {"status": "succeeded"}}']
        for text in bad:
            with self.subTest(text):
                await agent.send(text)
                error = await agent.expect("error")
                self.assertEqual(error["code"], "bad_message")
                self.assertTrue(error["message"])
        await agent.send(b"\x00binary")
        self.assertEqual((await agent.expect("error"))["code"], "bad_message")
        await agent.send({"type": "future_thing", "seq": 9})
        self.assertEqual((await agent.expect("error"))["code"], "unknown_type")
        _, ack = await agent.data(agent.state())
        self.assertEqual(ack["seq"], 1)
        view = self.hub.agent("agent-07")
        self.assertEqual(view["counters"]["bad_messages"], len(bad) + 2)
        self.assertEqual(view["counters"]["unknown_types"], 1)

    async def test_large_frame_accepted(self):
        agent = self.agent("agent-08")
        await agent.connect()
        rows = [{"type": "process", "identifier": f"/opt/p{n:07d}/{'x' * 80}",
                 "name": "p", "state": "running"} for n in range(40000)]
        msg, ack = await agent.data(agent.inventory(rows))
        self.assertGreater(len(json.dumps(msg)), 5 * 1024 * 1024)
        self.assertEqual(ack["seq"], 1)
        self.assertEqual(len(self.hub.discovered("agent-08")), 40000)

    async def test_wrong_or_missing_totp_sends_nothing(self):
        app = self.hub.create_app("agent-09", "web", "systemd", "nginx.service")
        agent = self.agent("agent-09")
        await agent.connect()
        tlog_before = self.hub.verify_transparency()["entries"]
        for headers in ({"X-TOTP-Code": self.hub.wrong_totp()}, {}, {"X-TOTP-Code": ""},
                        {"X-TOTP-Code": "abcdef"}):
            with self.subTest(headers):
                status, body = self.hub.call("POST", f"/api/v1/apps/{app['id']}/restart",
                                             {"reason": "should not happen"}, headers)
                self.assertEqual(status, 401)
                self.assertIn("TOTP", body["error"])
        await agent.no_frame({"action"}, 0.7)
        denied = [e for e in self.hub.audit("restart.denied_totp") if e["app_id"] == app["id"]]
        self.assertEqual(len(denied), 4)
        requested = [e for e in self.hub.audit("restart.requested") if e["app_id"] == app["id"]]
        self.assertEqual(requested, [])
        self.assertFalse([a for a in self.hub.api("GET", "/api/v1/actions")["actions"]
                          if a["app_id"] == app["id"]])
        self.assertEqual(self.hub.verify_transparency()["entries"], tlog_before)

    async def test_restart_sends_a_verifiable_eat(self):
        web = self.hub.create_app("agent-10", "web", "systemd", "nginx.service")
        worker = self.hub.create_app("agent-10", "worker", "process", "/opt/worker/run.sh",
                                     restart_command="/opt/worker/restart.sh")
        agent = self.agent("agent-10")
        await agent.connect()
        for app in (web, worker):
            with self.subTest(app["app_type"]):
                answer = self.hub.restart(app["id"], "it hangs")
                self.assertEqual(answer["status"], "sent")
                frame = await agent.expect("action")
                self.assertEqual(set(frame), {"type", "eat"})
                token = frame["eat"]
                header = jwt.get_unverified_header(token)
                self.assertEqual(header, {"alg": "EdDSA", "kid": "hub-1",
                                          "typ": "monsys-eat+jwt"})
                claims = decode_eat(token, self.hub.public_key, "agent-10")
                self.assertEqual(claims["jti"], answer["jti"])
                self.assertEqual(claims["exp"] - claims["iat"], 120)
                self.assertEqual(claims["nbf"], claims["iat"])
                self.assertLessEqual(abs(claims["iat"] - time.time()), 5)
                self.assertEqual((claims["lvl"], claims["act"], claims["amr"]),
                                 (2, "restart-app", ["otp"]))
                self.assertEqual((claims["reason"], claims["by"]), ("it hangs", "operator"))
                expected_app = {"id": app["id"], "type": app["app_type"],
                                "identifier": app["identifier"]}
                if app["app_type"] == "process":
                    expected_app["restart_command"] = "/opt/worker/restart.sh"
                self.assertEqual(claims["app"], expected_app)
                # evidence: requested, then the result
                requested = [e for e in self.hub.audit("restart.requested")
                             if e["jti"] == answer["jti"]]
                self.assertEqual(len(requested), 1)
                self.assertNotIn(token, json.dumps(requested))
                self.assertEqual(self.hub.action(answer["jti"])["status"], "sent")
                await agent.data(agent.action_result(answer["jti"], app_id=app["id"]))
                self.assertEqual(self.hub.action(answer["jti"])["status"], "done")
                self.assertEqual(self.hub.result(answer["jti"])["agent_id"], "agent-10")
        with open(os.path.join(self.hub.state_dir, "transparency.jsonl")) as f:
            events = [json.loads(line)["event"] for line in f]
        self.assertIn("restart.requested", events)
        self.assertIn("restart.result", events)
        self.assertTrue(self.hub.verify_transparency()["ok"])
        # a process app without a restart command cannot be restarted
        bare = self.hub.create_app("agent-10", "bare", "process", "/opt/bare/run")
        status, _ = self.hub.call("POST", f"/api/v1/apps/{bare['id']}/restart",
                                  {"reason": "x"}, {"X-TOTP-Code": self.hub.totp()})
        self.assertEqual(status, 409)

    async def test_pending_action_is_sent_on_the_next_connection(self):
        app = self.hub.create_app("agent-11", "cache", "docker", "redis")
        answer = self.hub.restart(app["id"])
        self.assertEqual(answer["status"], "pending")
        agent = self.agent("agent-11")
        welcome = await agent.connect()
        self.assertEqual([a["id"] for a in welcome["apps"]], [app["id"]])
        frame = await agent.expect("action")
        self.assertEqual(decode_eat(frame["eat"], self.hub.public_key, "agent-11")["jti"],
                         answer["jti"])
        self.assertEqual(self.hub.action(answer["jti"])["status"], "sent")
        await agent.close()
        await agent.connect()
        await agent.no_frame({"action"}, 0.3)   # sent once

    async def test_app_changes_are_pushed(self):
        agent = self.agent("agent-12")
        await agent.connect()
        app = self.hub.create_app("agent-12", "svc", "compose", "shop::web")
        pushed = await agent.expect("apps")
        self.assertEqual([a["identifier"] for a in pushed["apps"]], ["shop::web"])
        self.hub.set_expected(app["id"], "stopped")
        pushed = await agent.expect("apps")
        self.assertEqual(pushed["apps"][0]["expected_state"], "stopped")
        self.hub.delete_app(app["id"])
        self.assertEqual((await agent.expect("apps"))["apps"], [])
        events = [e["event"] for e in self.hub.audit()
                  if e.get("app_id") == app["id"] and e["event"].startswith("app.")]
        self.assertEqual(events, ["app.created", "app.updated", "app.deleted"])

    async def test_discovered_marks_tracked_rows(self):
        agent = self.agent("agent-13")
        await agent.connect()
        self.hub.create_app("agent-13", "nginx", "systemd", "nginx.service")
        await agent.data(agent.inventory([
            {"type": "systemd", "identifier": "nginx.service", "name": "nginx",
             "state": "running"},
            {"type": "docker", "identifier": "nginx.service", "name": "odd", "state": "stopped"},
            {"type": "systemd", "identifier": "cron.service", "name": "cron",
             "state": "running"}]))
        rows = self.hub.discovered("agent-13")
        self.assertEqual([r["tracked"] for r in rows], [True, False, False])
        inventory = self.hub.api("GET", "/api/v1/agents/agent-13/inventory")
        self.assertEqual(inventory["inventory"]["host"]["hostname"], "h")
        self.assertIsNotNone(self.hub.agent("agent-13")["last_inventory_at"])
        status, _ = self.hub.call("GET", "/api/v1/agents/agent-14/discovered")
        self.assertEqual(status, 404)

    async def test_test_endpoints(self):
        agent = self.agent("agent-14")
        await agent.connect()
        text = '{"type":"ack","seq":1,"seq":2}'
        self.hub.test_send("agent-14", text=text)
        self.assertEqual(await agent.ws.recv(), text)
        self.hub.test_send("agent-14", binary=b"\x01\x02")
        self.assertEqual(await agent.ws.recv(), b"\x01\x02")
        self.hub.test_collect("agent-14")
        self.assertEqual(await agent.recv(), {"type": "collect"})
        answer = self.hub.test_action("agent-14", "not.a.token")
        self.assertEqual(await agent.recv(), {"type": "action", "eat": "not.a.token"})
        self.assertIsNone(answer["jti"])
        self.hub.test_acks("agent-14", False)
        await agent.send({**agent.state(), "seq": 1})
        await agent.no_frame({"ack"}, 0.3)
        self.hub.test_acks("agent-14", True)
        frames = self.hub.frames("agent-14")
        self.assertIn({"dir": "in", "type": "state", "seq": 1, "outcome": "stored"},
                      [{k: f.get(k) for k in ("dir", "type", "seq", "outcome")}
                       for f in frames])
        self.hub.test_disconnect("agent-14", code=4001)
        with self.assertRaises(websockets.exceptions.ConnectionClosed):
            await agent.recv()
        self.assertEqual(agent.ws.close_code, 4001)
        status, _ = self.hub.call("POST", "/api/v1/test/agents/agent-14/collect", {})
        self.assertEqual(status, 409)

    async def test_liveness_rules_through_the_hub(self):
        agent = self.agent("agent-15")
        await agent.connect()
        app = self.hub.create_app("agent-15", "web", "systemd", "nginx.service")
        other = self.hub.create_app("agent-15", "db", "systemd", "postgresql.service")
        self.hub.check_liveness()   # no state yet: skipped
        self.assertEqual(self.hub.app(app["id"])["consecutive_mismatch"], 0)
        await agent.data(agent.state((app["id"], "stopped")))
        for n in range(1, 6):
            self.hub.check_liveness()
            view = self.hub.app(app["id"])
            self.assertEqual(view["consecutive_mismatch"], n)
            self.assertEqual(view["alerting"], n >= 3)
        self.assertEqual(view["observed"], "stopped")
        self.assertIsNone(self.hub.app(other["id"])["checked_at"])   # not in the state
        alerts = [a for a in self.hub.alerts() if a["app_id"] == app["id"]]
        self.assertEqual(len(alerts), 1)
        self.assertEqual(alerts[0]["severity"], "warning")
        mismatches = [e for e in self.hub.audit("app.state_mismatch")
                      if e["app_id"] == app["id"]]
        self.assertEqual(len(mismatches), 5)
        self.assertEqual((mismatches[0]["expected"], mismatches[0]["observed"]),
                         ("running", "stopped"))
        self.assertEqual(len([e for e in self.hub.audit("alert")
                              if e["app_id"] == app["id"]]), 1)
        await agent.data(agent.state((app["id"], "running")))
        self.hub.check_liveness()
        view = self.hub.app(app["id"])
        self.assertEqual((view["consecutive_mismatch"], view["alerting"]), (0, False))
        await agent.data(agent.state((app["id"], "unknown")))
        for n in range(1, 5):
            self.hub.check_liveness()
        view = self.hub.app(app["id"])
        self.assertEqual((view["consecutive_unknown"], view["consecutive_mismatch"]), (4, 1))

    async def test_rest_validation(self):
        bad = [({"agent_id": "agent-16", "name": "x", "app_type": "systemd",
                 "identifier": "nginx.service; rm -rf /"}, 400),
               ({"agent_id": "agent-16", "name": "x", "app_type": "systemd",
                 "identifier": "nginx.service", "restart_command": "/bin/true"}, 400),
               ({"agent_id": "agent-16", "name": "x", "app_type": "process",
                 "identifier": "/opt/../etc/passwd"}, 400),
               ({"agent_id": "agent-16", "name": "x", "app_type": "vm",
                 "identifier": "x"}, 400),
               ({"agent_id": "nobody", "name": "x", "app_type": "docker",
                 "identifier": "x"}, 400),
               ({"agent_id": "agent-16", "app_type": "docker", "identifier": "x"}, 400),
               ({"agent_id": "agent-16", "name": "x", "app_type": "docker",
                 "identifier": "x", "expected_state": "paused"}, 400),
               ({"agent_id": "agent-16", "name": "x", "app_type": "docker",
                 "identifier": "x", "colour": "red"}, 400),
               ({"agent_id": "agent-16", "name": "x", "app_type": "docker",
                 "identifier": "x", "owner_email": "nobody"}, 400),
               ("[]", 400), ("{", 400)]
        for body, status in bad:
            with self.subTest(body):
                raw = body.encode() if isinstance(body, str) else body
                got, answer = self.hub.call("POST", "/api/v1/apps", raw)
                self.assertEqual(got, status)
                self.assertIsInstance(answer["error"], str)
        app = self.hub.create_app("agent-16", "x", "docker", "x")
        self.assertEqual(app["id"][:4], "app-")
        status, _ = self.hub.call("POST", "/api/v1/apps", {
            "agent_id": "agent-16", "name": "again", "app_type": "docker", "identifier": "x"})
        self.assertEqual(status, 409)
        for method, path, body in (("GET", "/api/v1/apps/app-999", None),
                                   ("PATCH", "/api/v1/apps/app-999", {"expected_state": "stopped"}),
                                   ("DELETE", "/api/v1/apps/app-999", None),
                                   ("POST", "/api/v1/apps/app-999/restart", {"reason": "x"}),
                                   ("GET", "/api/v1/agents/nobody", None),
                                   ("GET", "/api/v1/results/nothing", None),
                                   ("GET", "/api/v1/nowhere", None)):
            with self.subTest(path):
                status, answer = self.hub.call(method, path, body)
                self.assertEqual(status, 404)
                self.assertIn("error", answer)
        status, _ = self.hub.call("PATCH", f"/api/v1/apps/{app['id']}",
                                  {"expected_state": "gone"})
        self.assertEqual(status, 400)
        status, _ = self.hub.call("PATCH", f"/api/v1/apps/{app['id']}", {"identifier": "y"})
        self.assertEqual(status, 400)
        status, answer = self.hub.call("POST", f"/api/v1/apps/{app['id']}/restart",
                                       {"reason": ""}, {"X-TOTP-Code": self.hub.totp()})
        self.assertEqual(status, 400)
        self.assertEqual([a["id"] for a in self.hub.api(
            "GET", "/api/v1/apps?agent_id=agent-16")["apps"]], [app["id"]])
        # a token the agent would refuse as too_large is not minted
        long = self.hub.create_app("agent-16", "long", "process", "/" + "a" * 3000,
                                   restart_command="/" + "b" * 3000)
        status, answer = self.hub.call("POST", f"/api/v1/apps/{long['id']}/restart",
                                       {"reason": "x"}, {"X-TOTP-Code": self.hub.totp()})
        self.assertEqual(status, 400)
        self.assertIn("8192", answer["error"])


# ---------------------------------------------------------------- plain ws, timer, restarts


class HubLivenessTimer(HubTestCase):
    LIVENESS_INTERVAL = 0.2
    EXTRA_ARGS = ("--state-interval", "5", "--inventory-interval", "600")

    async def test_alert_after_three_checks_and_the_unknown_rule(self):
        agent = self.agent("agent-01")
        self.assertTrue(self.hub.ws_url.startswith("ws://"))
        welcome = await agent.connect()
        self.assertEqual((welcome["state_interval_secs"], welcome["inventory_interval_secs"]),
                         (5, 600))
        down = self.hub.create_app("agent-01", "web", "systemd", "nginx.service")
        vague = self.hub.create_app("agent-01", "worker", "docker", "worker")
        await agent.data(agent.state((down["id"], "stopped"), (vague["id"], "unknown")))
        alert = self.hub.wait_for(lambda: [a for a in self.hub.alerts()
                                           if a["app_id"] == down["id"]], 5, "an alert")
        self.assertEqual(len(alert), 1)
        view = self.hub.wait_for(
            lambda: (lambda v: v if v["consecutive_mismatch"] >= 5 else None)(
                self.hub.app(down["id"])), 5, "more mismatches")
        self.assertTrue(view["alerting"])
        self.assertEqual(len([a for a in self.hub.alerts() if a["app_id"] == down["id"]]), 1)
        vague_view = self.hub.app(vague["id"])
        self.assertGreaterEqual(vague_view["consecutive_unknown"], 4)
        self.assertEqual(vague_view["consecutive_mismatch"],
                         vague_view["consecutive_unknown"] - 3)
        await agent.data(agent.state((down["id"], "running"), (vague["id"], "running")))
        self.hub.wait_for(lambda: not self.hub.app(down["id"])["alerting"], 5, "the reset")
        view = self.hub.app(down["id"])
        self.assertEqual((view["consecutive_mismatch"], view["consecutive_unknown"]), (0, 0))
        self.assertIsNotNone([a for a in self.hub.alerts()
                              if a["app_id"] == down["id"]][0]["cleared_at"])


class HubRestart(HubTestCase):
    async def test_state_survives_a_crash_and_tampering_is_found(self):
        hub = self.hub
        agent = self.agent("agent-01")
        await agent.connect()
        app = hub.create_app("agent-01", "web", "systemd", "nginx.service")
        stopped = hub.create_app("agent-01", "batch", "systemd", "batch.service",
                                 expected_state="stopped")
        state, _ = await agent.data(agent.state((app["id"], "stopped")))
        result, _ = await agent.data(agent.action_result("before-crash", app_id=app["id"]))
        hub.check_liveness()
        await agent.close()
        pending = hub.restart(app["id"], "while the agent is away")
        self.assertEqual(pending["status"], "pending")
        audit_before = len(hub.audit())
        tlog_before = hub.verify_transparency()
        ports = (hub.ws_port, hub.http_port)

        hub.relaunch(crash=True)   # SIGKILL, then the same state dir and ports
        self.assertEqual((hub.ws_port, hub.http_port), ports)
        self.assertEqual(hub.app(app["id"])["consecutive_mismatch"], 1)
        self.assertEqual(hub.app(stopped["id"])["expected_state"], "stopped")
        self.assertEqual(len(hub.audit()), audit_before)
        self.assertEqual(hub.verify_transparency(), tlog_before)
        self.assertEqual(hub.result("before-crash")["seq"], 2)
        self.assertEqual(hub.action(pending["jti"])["status"], "pending")
        view = hub.agent("agent-01")
        self.assertFalse(view["connected"])
        self.assertEqual(view["last_state"]["seq"], 1)
        self.assertEqual(view["hostname"], "agent-01.test")
        next_app = hub.create_app("agent-01", "late", "docker", "late")
        self.assertEqual(int(next_app["id"][4:]), int(stopped["id"][4:]) + 1)

        agent = self.agent("agent-01")
        welcome = await agent.connect(last_acked_seq=2)
        self.assertEqual([a["id"] for a in welcome["apps"]],
                         [app["id"], stopped["id"], next_app["id"]])
        frame = await agent.expect("action")
        self.assertEqual(decode_eat(frame["eat"], hub.public_key, "agent-01")["jti"],
                         pending["jti"])
        _, ack = await agent.data(state, seq=1)
        self.assertEqual(ack["seq"], 1)
        await agent.data({**result}, seq=3)   # the same jti under a new seq
        counters = hub.agent("agent-01")["counters"]
        self.assertEqual((counters["duplicate_seq"], counters["duplicate_jti"]), (1, 1))
        self.assertEqual(counters["state"], 1)

        # tampering with the transparency log is found, by the hub and by the CLI
        path = os.path.join(hub.state_dir, "transparency.jsonl")
        with open(path, encoding="utf-8") as f:
            lines = f.readlines()
        self.assertEqual(len(lines), 2)   # the result, then the request
        lines[1] = lines[1].replace("the agent is away", "the agent is gone")
        with open(path, "w", encoding="utf-8") as f:
            f.writelines(lines)
        verdict = hub.verify_transparency()
        self.assertFalse(verdict["ok"])
        self.assertEqual(verdict["bad_index"], 1)
        run = subprocess.run([testkit.PYTHON, testkit.VERIFY_SCRIPT, path],
                             capture_output=True, text=True)
        self.assertEqual(run.returncode, 1)
        self.assertIn("entry 1", run.stdout)


if __name__ == "__main__":
    unittest.main()
