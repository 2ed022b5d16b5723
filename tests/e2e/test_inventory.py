"""Scenario 1: the agent connects over wss and its inventory reaches the hub, with what it found
on the host: a systemd user unit, a container and a compose service."""

import socket
import unittest

from e2e_support import AGENT_ID, E2ETestCase, iso_regex, unique


class InventoryTest(E2ETestCase):

    def test_inventory_reaches_the_hub_with_unit_container_and_compose_service(self):
        unit = self.make_unit("e2e-inv")
        container = self.make_container()
        project, service = unique("e2eproj").replace("-", ""), "web"
        labels = {"com.docker.compose.project": project, "com.docker.compose.service": service}
        members = sorted([self.make_container(f"{project}-{service}-1", labels),
                          self.make_container(f"{project}-{service}-2", labels)])

        self.start_hub_and_agent()

        # The connection: wss to localhost, verified against the test CA, hello first.
        agent = self.hub_agent()
        self.assertTrue(agent["connected"])
        self.assertTrue(self.config["hub_url"].startswith("wss://localhost:"))
        self.assertEqual(agent["counters"]["hello"], 1)
        self.assertEqual(agent["hostname"], socket.gethostname())
        with open("/proc/sys/kernel/random/boot_id", encoding="ascii") as f:
            boot_id = f.read().strip()
        self.assertEqual(agent["boot_id"].replace("-", ""), boot_id.replace("-", ""))
        self.assertEqual(agent["tags"], ["e2e"])
        self.assertIn("restart-app", agent["capabilities"])
        self.assertTrue(agent["version"].startswith("0.1.0"), agent["version"])
        self.assertEqual(agent["last_acked_seq"], 0)

        # The inventory arrives (after hello: nothing was acked since boot in this state dir).
        self.wait(lambda: self.hub_agent()["last_inventory"], 30, "the inventory")
        inventory = self.hub.api("GET", f"/api/v1/agents/{AGENT_ID}/inventory")
        self.assertEqual(inventory["type"], "inventory")
        self.assertEqual(inventory["kind"], "extended")
        self.assertRegex(inventory["collected_at"], iso_regex())
        self.assertGreaterEqual(inventory["seq"], 1)
        frames = self.frames_in("inventory")
        self.assertEqual(frames[0]["outcome"], "stored", frames)

        rows = {(r["type"], r["identifier"]): r for r in self.hub.discovered(AGENT_ID)}
        self.assertIn(("systemd", unit), rows, f"{unit} not discovered")
        self.assertEqual(rows[("systemd", unit)]["name"], unit[:-len(".service")])
        self.assertEqual(rows[("systemd", unit)]["state"], "running")
        self.assertFalse(rows[("systemd", unit)]["tracked"])

        self.assertIn(("docker", container), rows, f"container {container} not discovered")
        self.assertEqual(rows[("docker", container)]["name"], container)
        self.assertEqual(rows[("docker", container)]["state"], "running")
        for member in members:
            self.assertIn(("docker", member), rows)

        compose_id = f"{project}::{service}"
        self.assertIn(("compose", compose_id), rows, f"compose service {compose_id} not "
                      f"discovered; compose rows: "
                      f"{[k for k in rows if k[0] == 'compose']}")
        self.assertEqual(rows[("compose", compose_id)]["name"], service)
        self.assertEqual(rows[("compose", compose_id)]["state"], "running")

        # The inventory's own sections agree with the discovered rows.
        docker = inventory["inventory"]["docker"]
        self.assertTrue(docker["ok"], docker.get("error"))
        compose = [c for c in docker["compose_services"] if c["identifier"] == compose_id]
        self.assertEqual(len(compose), 1, docker["compose_services"])
        self.assertEqual(compose[0]["project"], project)
        self.assertEqual(compose[0]["service"], service)
        self.assertEqual(sorted(compose[0]["containers"]), members)
        self.assertEqual((compose[0]["running"], compose[0]["total"]), (2, 2))
        systemd = inventory["inventory"]["systemd"]
        self.assertTrue(systemd["ok"], systemd.get("error"))
        self.assertEqual(systemd["bus"], "user")
        units = [u for u in systemd["units"] if u["name"] == unit]
        self.assertEqual(len(units), 1)
        self.assertEqual(units[0]["active_state"], "active")
        self.assertEqual(units[0]["main_pid"], self.unit_props(unit)["MainPID"])

        # Registering the unit marks its row as tracked.
        app = self.hub.create_app(AGENT_ID, "inv-unit", "systemd", unit)
        row = next(r for r in self.hub.discovered(AGENT_ID) if r["identifier"] == unit)
        self.assertEqual((row["tracked"], row["app_id"]), (True, app["id"]))


if __name__ == "__main__":
    unittest.main()
