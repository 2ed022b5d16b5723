"""The packaged restart path: the agent hands each token to monsys-action through a socket
(`action_socket`), and one `monsys-action serve-connection` runs per connection with the
connection on stdin and stdout, as monsys-action.socket + monsys-action@.service do.
systemd-socket-activate stands in for the socket unit (the test's systemd manager is a user
manager, which cannot switch users)."""

import os
import shutil
import tempfile
import subprocess
import unittest

from e2e_support import ACTION_BINARY, E2ETestCase


class ActionSocketTest(E2ETestCase):

    def start_action_socket(self, peer_user="root", directory=None):
        path = os.path.join(directory or self.workdir, "action.sock")
        config_path = os.path.join(self.workdir, "agent.json")
        policy_path = os.path.join(self.workdir, "policy.json")
        command = ["systemd-socket-activate", "-l", path, "-a", "--inetd"]
        for name in ("DBUS_SESSION_BUS_ADDRESS", "XDG_RUNTIME_DIR"):
            command += ["-E", f"{name}={self.env[name]}"]
        command += [ACTION_BINARY, "--config", config_path, "--policy", policy_path,
                    "serve-connection", "--peer-user", peer_user]
        log = open(os.path.join(self.workdir, "activator.log"), "w")
        self.addCleanup(log.close)
        activator = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, env=self.env)
        self.addCleanup(activator.wait)
        self.addCleanup(activator.terminate)
        self.wait(lambda: os.path.exists(path), 10, "the action socket")
        return path

    def test_a_restart_goes_through_the_action_socket(self):
        unit = self.make_unit("e2e-sock")
        first_pid = self.unit_props(unit)["MainPID"]
        sock = self.start_action_socket()
        self.start_hub_and_agent([{"name": "web", "app_type": "systemd", "identifier": unit}],
                                 action_socket=sock, action_command=["/bin/false"])
        app = self.apps[0]
        self.wait_app_observed(app["id"], "running")

        jti = self.hub.restart(app["id"], "e2e: through the socket")["jti"]
        result = self.assert_unit_restarted(jti, unit, first_pid)["result"]
        self.assertEqual(result["jti"], jti)
        self.assertEqual(result["wrapper_exit_code"], 0)


    def test_the_wrapper_refuses_a_peer_that_is_not_the_agent(self):
        unit = self.make_unit("e2e-peer")
        first_pid = self.unit_props(unit)["MainPID"]
        # Only "nobody" may ask, so the agent (root here) must still be accepted: root always is.
        # A socket another user can reach (the real one is 0600 monsys), so that the wrapper's own
        # check is what refuses.
        reachable = tempfile.mkdtemp(prefix="monsys-e2e-sock.", dir="/run")
        self.addCleanup(shutil.rmtree, reachable, True)
        os.chmod(reachable, 0o755)
        sock = self.start_action_socket(peer_user="nobody", directory=reachable)
        os.chmod(sock, 0o666)
        probe = subprocess.run(
            ["runuser", "-u", "daemon", "--", "/usr/bin/python3", "-c",
             "import socket,sys\n"
             "s=socket.socket(socket.AF_UNIX); s.settimeout(20); s.connect(sys.argv[1])\n"
             "s.sendall(b'restart-app app-1\\nx.y.z\\n'); s.shutdown(socket.SHUT_WR)\n"
             "d=b''\n"
             "while True:\n"
             "    c=s.recv(65536)\n"
             "    if not c: break\n"
             "    d+=c\n"
             "print(d.decode())", sock],
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, timeout=60)
        self.assertIn("refused: only root and user nobody", probe.stdout)
        self.assertIn('"wrapper_exit_code":2', probe.stdout.replace(" ", ""))
        self.assertEqual(self.unit_props(unit)["MainPID"], first_pid)


if __name__ == "__main__":
    unittest.main()
