"""IPv6 hub addresses: with hub_url wss://[::1]:PORT/agent the agent connects to a hub that
listens on ::1 only, checks the hub's certificate by address (an IP entry, no SNI), and carries
out a restart over that link."""

import unittest

from e2e_support import AGENT_ID, E2ETestCase, ipv6_loopback_works


class HubOverIpv6Test(E2ETestCase):

    @unittest.skipUnless(ipv6_loopback_works(), "this host has no IPv6 loopback (::1)")
    def test_restart_through_a_hub_on_ipv6_loopback(self):
        unit = self.make_unit("e2e-v6")
        first_pid = self.unit_props(unit)["MainPID"]
        self.start_hub(ws_host="::1")
        self.apps = [self.hub.create_app(AGENT_ID, name="web6", app_type="systemd",
                                         identifier=unit)]
        app = self.apps[0]
        self.agent_config(hub_url=f"wss://[::1]:{self.hub.ws_port}/agent")
        self.start_agent()
        self.wait(lambda: self.hub.agent(AGENT_ID)["connected"], 30, "the agent to connect")
        # The link really runs over IPv6: the hub saw the agent come from ::1.
        self.assertTrue(self.hub.agent(AGENT_ID)["remote"].startswith("::1:"),
                        self.hub.agent(AGENT_ID)["remote"])
        self.wait_app_observed(app["id"], "running")

        jti = self.hub.restart(app["id"], "e2e: restart over IPv6")["jti"]
        self.assert_unit_restarted(jti, unit, first_pid)


if __name__ == "__main__":
    unittest.main()
