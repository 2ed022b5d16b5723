"""The agent refuses hubs it cannot trust, each case on its own: a certificate from a CA it was
not given, a certificate for another host name, an IP-literal URL the certificate does not name,
and a server that does not speak monsys.agent.v1. Plain ws:// to loopback works. Each refusal is
`--once` exiting 2 with one line naming the reason, and the hub never seeing a hello."""

import os
import secrets
import subprocess
import sys
import time
import unittest

from e2e_support import AGENT_BINARY, AGENT_ID, E2ETestCase, testkit

# A WebSocket server that accepts the upgrade but selects no subprotocol.
NO_SUBPROTOCOL_SERVER = r"""
import asyncio, sys, websockets
async def handler(ws, path):
    async for _ in ws:
        pass
async def main():
    async with websockets.serve(handler, "127.0.0.1", 0) as server:
        print(server.sockets[0].getsockname()[1], flush=True)
        await asyncio.Future()
asyncio.run(main())
"""


class ConnectionRefusalTest(E2ETestCase):

    def once(self):
        proc = subprocess.run([AGENT_BINARY, "--once", "--config", self.config_path],
                              env=self.env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              text=True, timeout=90)
        lines = [line for line in proc.stderr.splitlines() if line.strip()]
        return proc, lines

    def assert_refused(self, needle):
        proc, lines = self.once()
        self.assertEqual(proc.returncode, 2, proc.stdout + proc.stderr)
        self.assertEqual(len(lines), 1, lines)
        self.assertIn(needle, lines[0])
        self.assertEqual(proc.stdout, "")
        return lines[0]

    def hub_saw_no_hello(self):
        agents = self.hub.api("GET", "/api/v1/agents")
        for agent in agents if isinstance(agents, list) else agents.get("agents", []):
            if agent.get("agent_id") == AGENT_ID:
                self.assertFalse(agent.get("hello"), agent)

    def test_a_certificate_from_another_ca_is_refused(self):
        self.start_hub()
        other = testkit.make_ca_and_cert(os.path.join(self.workdir, "other-ca"))
        self.agent_config(hub_ca_file=other["ca.pem"])
        line = self.assert_refused("certificate verification failed")
        self.assertIn("localhost", line)
        self.hub_saw_no_hello()

    def test_a_certificate_for_another_host_name_is_refused(self):
        self.start_hub(hosts=("hub.example.invalid",))
        self.agent_config()
        line = self.assert_refused("certificate verification failed")
        self.assertIn("hostname mismatch", line)
        self.hub_saw_no_hello()

    def test_an_ip_literal_the_certificate_does_not_name_is_refused(self):
        self.start_hub(hosts=("localhost",))
        self.agent_config(hub_url=f"wss://127.0.0.1:{self.hub.ws_port}/agent")
        line = self.assert_refused("certificate verification failed")
        self.assertIn("IP address mismatch", line)
        self.hub_saw_no_hello()

    def test_the_system_store_does_not_trust_the_test_ca(self):
        self.start_hub()
        self.agent_config(hub_ca_file="")  # empty: the system CAs
        self.assert_refused("certificate verification failed")

    def test_a_server_without_the_subprotocol_is_refused(self):
        server = subprocess.Popen(["/usr/bin/python3", "-c", NO_SUBPROTOCOL_SERVER],
                                  stdout=subprocess.PIPE, text=True)
        self.addCleanup(server.stdout.close)
        self.addCleanup(server.wait)
        self.addCleanup(server.kill)
        port = int(server.stdout.readline())
        hub = testkit.HubProcess.create(os.path.join(self.workdir, "hub"),
                                        {AGENT_ID: secrets.token_urlsafe(24)}, tls=False)
        self.agent_config(hub=hub, hub_url=f"ws://127.0.0.1:{port}/agent", hub_ca_file=None)
        self.assert_refused("did not select the subprotocol monsys.agent.v1")

    def test_plain_ws_to_loopback_works(self):
        self.start_hub(tls=False)
        self.agent_config(hub_url=f"ws://127.0.0.1:{self.hub.ws_port}/agent", hub_ca_file=None)
        proc, _ = self.once()
        self.assertEqual(proc.returncode, 0, proc.stdout + proc.stderr)
        self.assertIn("hub acked seq", proc.stdout)
        self.assertTrue(self.hub.agent(AGENT_ID)["hello"])


if __name__ == "__main__":
    unittest.main()
