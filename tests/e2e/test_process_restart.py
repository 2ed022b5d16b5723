"""Process apps end to end: the hub asks for a restart, the agent hands the token to
monsys-action, which restarts monsys-restart@ENTRY.service in the systemd user manager; the unit's
run-restart-command runs the policy's command, and the evidence says succeeded only when the app's
path runs again under a new pid."""

import os
import time
import unittest

from e2e_support import E2ETestCase


class ProcessRestartTest(E2ETestCase):

    def worker_and_restart(self, restart_body=None):
        """A worker script (a shell loop, tracked by its script path) running, and its restart
        command: by default one that ends the old worker and starts a new one, detached."""
        worker = self.write_script("worker.sh", "while :; do sleep 1; done\n")
        self.kill_path_at_cleanup(worker)
        pid_file = os.path.join(self.workdir, "worker.pid")
        old_pid = self.start_process("/bin/sh", worker)
        with open(pid_file, "w", encoding="utf-8") as f:
            f.write(f"{old_pid}\n")
        if restart_body is None:
            restart_body = (f"kill $(cat {pid_file})\n"
                            f"/bin/sh {worker} </dev/null >/dev/null 2>&1 &\n"
                            f"echo $! > {pid_file}\n"
                            "echo worker restarted\necho a warning >&2\n")
        restart = self.write_script("restart.sh", restart_body)
        return worker, restart, old_pid, pid_file

    def test_a_process_app_restarts_through_its_unit_and_keeps_running(self):
        worker, restart, old_pid, pid_file = self.worker_and_restart()
        self.start_hub_and_agent([{"name": "worker", "app_type": "process",
                                   "identifier": worker, "restart_command": restart}])
        entry = self.allow_process_restart(worker, restart)
        app = self.apps[0]
        self.wait_app_observed(app["id"], "running")

        jti = self.hub.restart(app["id"], "e2e: process restart")["jti"]
        result = self.wait_result(jti, 60)["result"]

        self.assertEqual(result["status"], "succeeded", result)
        self.assertEqual(result["exit_code"], 0)
        self.assertEqual(result["stdout"], "worker restarted\n")
        self.assertEqual(result["stderr"], "a warning\n")
        with open(pid_file, encoding="utf-8") as f:
            new_pid = int(f.read())
        self.assertNotEqual(new_pid, old_pid)
        self.assertIn(f"runs as pid {new_pid} (before: pid {old_pid})", result["message"])
        self.assertEqual([p["pid"] for p in result["after"]["app"]["processes"]], [new_pid])
        # The new worker outlives monsys-action and the unit's command, in the unit's cgroup.
        time.sleep(1)
        self.assertEqual(self.pids_running(worker), [new_pid])
        with open(f"/proc/{new_pid}/cgroup", encoding="utf-8") as f:
            self.assertIn(f"monsys-restart@{entry}.service", f.read())
        self.wait_app_observed(app["id"], "running")

    def test_exit_0_without_the_app_running_again_is_reported_failed(self):
        worker, restart, _old_pid, pid_file = self.worker_and_restart(
            restart_body="kill $(cat {})\necho stopped it\n".format(
                os.path.join(self.workdir, "worker.pid")))
        self.start_hub_and_agent([{"name": "worker", "app_type": "process",
                                   "identifier": worker, "restart_command": restart}])
        self.allow_process_restart(worker, restart)
        app = self.apps[0]
        self.wait_app_observed(app["id"], "running")

        jti = self.hub.restart(app["id"], "e2e: a restart that only stops")["jti"]
        result = self.wait_result(jti, 60)["result"]

        self.assertEqual(result["status"], "failed", result)
        self.assertEqual(result["exit_code"], 0)
        self.assertEqual(result["message"],
                         f"restart command {restart} exited 0, but {worker} is not running "
                         "500 ms later")

    def test_without_a_policy_entry_nothing_runs(self):
        marker = os.path.join(self.workdir, "ran")
        worker, restart, old_pid, _ = self.worker_and_restart(restart_body=f"touch {marker}\n")
        self.start_hub_and_agent([{"name": "worker", "app_type": "process",
                                   "identifier": worker, "restart_command": restart}])
        app = self.apps[0]
        self.wait_app_observed(app["id"], "running")

        jti = self.hub.restart(app["id"], "e2e: no policy entry")["jti"]
        result = self.wait_result(jti, 60)["result"]

        self.assertEqual((result["status"], result["reason"]), ("rejected", "policy_denied"),
                         result)
        self.assertIn(self.policy_path, result["message"])
        self.assertFalse(os.path.exists(marker))
        self.assertEqual(self.pids_running(worker), [old_pid])


if __name__ == "__main__":
    unittest.main()
