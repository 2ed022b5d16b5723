"""A hub behind an HTTP proxy (issue 14 item 4): the agent reaches the reference hub through a
real tinyproxy on loopback, started here with its own configuration, in the foreground, on a free
port: with hub_proxy without and with Basic auth (a restart goes through), with wrong credentials
(407, or 401 from tinyproxy, logged without them, and the link keeps backing off), with a destination port the proxy
refuses (403), through https_proxy from the environment, and past the proxy with no_proxy (the
proxy sees nothing), and to an IPv6 hub (CONNECT [::1]:port). check-config says which proxy will
be used, without the password.

An https:// proxy (TLS to the proxy): stunnel, also from Debian's packages and started here,
terminates TLS in front of the same tinyproxy with a certificate from a CA of its own. The agent
connects through it with hub_proxy_ca_file naming that CA (and Basic auth inside the TLS), and
refuses a proxy whose certificate another CA signed or that names another host: nothing reaches
tinyproxy then. A proxy written as an IPv6 address ([::1]) is checked against the certificate's
IP entries, and refused when they do not hold it. A ws:// hub on loopback takes http_proxy from
the environment, and an https:// proxy there still gets TLS to the proxy around the plain
WebSocket."""

import os
import re
import shutil
import socket
import subprocess
import time
import unittest

from e2e_support import AGENT_ID, E2ETestCase, ipv6_loopback_works, testkit

TINYPROXY = shutil.which("tinyproxy") or "/usr/bin/tinyproxy"
STUNNEL = shutil.which("stunnel4") or "/usr/bin/stunnel4"
# tinyproxy's BasicAuth takes letters, digits and a few marks; the URL spells the '.' as %2E so
# that the agent's percent-decoding is what makes it match.
PASSWORD = "s3cret.pw"
PASSWORD_IN_URL = "s3cret%2Epw"


def free_port(host="127.0.0.1"):
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        probe.bind((host, 0))
        return probe.getsockname()[1]


def stop_process(proc):
    """Terminates a proxy started by a test (None or already gone: nothing to do)."""
    if proc is not None and proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


class TinyProxy:
    """One tinyproxy in the foreground (-d) on 127.0.0.1 with its log in `directory`."""

    def __init__(self, directory, basic_auth=None, connect_ports=()):
        os.makedirs(directory, exist_ok=True)
        self.log_file = os.path.join(directory, "tinyproxy.log")
        self.conf_file = os.path.join(directory, "tinyproxy.conf")
        self.basic_auth = basic_auth
        self.connect_ports = connect_ports
        self.port = None
        self.proc = None
        self.started_log_bytes = 0

    def start(self):
        # A fixed port that another process takes between probe and bind fails the start; try
        # a few (a packaged tinyproxy service, if one runs, holds 8888, never a probed port).
        for _ in range(5):
            self.port = free_port()
            lines = [f"Port {self.port}", "Listen 127.0.0.1", "Timeout 30",
                     f'LogFile "{self.log_file}"', "LogLevel Connect", "MaxClients 50",
                     "Allow 127.0.0.1", "DisableViaHeader Yes"]
            if self.basic_auth:
                lines.append(f"BasicAuth {self.basic_auth[0]} {self.basic_auth[1]}")
            lines += [f"ConnectPort {port}" for port in self.connect_ports]
            with open(self.conf_file, "w", encoding="utf-8") as f:
                f.write("\n".join(lines) + "\n")
            self.proc = subprocess.Popen([TINYPROXY, "-d", "-c", self.conf_file],
                                         stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                         stderr=subprocess.DEVNULL)
            deadline = time.monotonic() + 10
            while time.monotonic() < deadline and self.proc.poll() is None:
                try:
                    socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
                    # The probe's own connection is logged; what a test looks at comes after.
                    self.wait_logged("closed socket before read")
                    self.started_log_bytes = len(self.log_text())
                    return self
                except OSError:
                    time.sleep(0.05)
            self.stop()
        raise AssertionError(f"tinyproxy did not start; its log:\n{self.log_text()}")

    def wait_logged(self, text, timeout=5):
        deadline = time.monotonic() + timeout
        while text not in self.log_text() and time.monotonic() < deadline:
            time.sleep(0.05)

    def log_since_start(self):
        return self.log_text()[self.started_log_bytes:]

    def stop(self):
        stop_process(self.proc)

    def url(self, userinfo=""):
        return f"http://{userinfo + '@' if userinfo else ''}127.0.0.1:{self.port}"

    def log_text(self):
        return testkit.file_text(self.log_file)

    def connect_requests(self):
        """The CONNECT request lines tinyproxy logged, e.g. 'CONNECT localhost:4443 HTTP/1.1'."""
        return re.findall(r"Request \(file descriptor \d+\): (CONNECT \S+ HTTP/1\.\d)",
                          self.log_text())


class TlsFront:
    """stunnel in the foreground on 127.0.0.1: TLS with `cert`/`key`, then plain TCP to the
    proxy behind it (tinyproxy). Its log says whether a TLS handshake failed."""

    def __init__(self, directory, backend_port, cert, key, listen_host="127.0.0.1"):
        os.makedirs(directory, exist_ok=True)
        self.directory = directory
        self.listen_host = listen_host
        self.backend_port = backend_port
        self.cert, self.key = cert, key
        self.log_file = os.path.join(directory, "stunnel.log")
        self.port = None
        self.proc = None

    def start(self):
        for _ in range(5):
            self.port = free_port(self.listen_host)
            conf = os.path.join(self.directory, "stunnel.conf")
            with open(conf, "w", encoding="utf-8") as f:
                f.write("foreground = yes\npid =\n"
                        f"output = {self.log_file}\ndebug = info\n"
                        "[proxy]\n"
                        f"accept = {self.listen_host}:{self.port}\n"
                        f"connect = 127.0.0.1:{self.backend_port}\n"
                        f"cert = {self.cert}\nkey = {self.key}\n")
            self.proc = subprocess.Popen([STUNNEL, conf], stdin=subprocess.DEVNULL,
                                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            deadline = time.monotonic() + 10
            while time.monotonic() < deadline and self.proc.poll() is None:
                if "Configuration successful" in testkit.file_text(self.log_file):
                    return self
                time.sleep(0.05)
            self.stop()
        raise AssertionError("stunnel did not start; its log:\n"
                             + testkit.file_text(self.log_file))

    def stop(self):
        stop_process(self.proc)

    def url(self, host="localhost", userinfo=""):
        return f"https://{userinfo + '@' if userinfo else ''}{host}:{self.port}"


@unittest.skipUnless(os.path.exists(TINYPROXY), "tinyproxy is not installed "
                     "(scripts/install-deps.sh installs it)")
class ProxyTest(E2ETestCase):

    def start_proxy(self, **options):
        proxy = TinyProxy(os.path.join(self.workdir, "proxy"), **options).start()
        self.addCleanup(proxy.stop)
        self.proxy = proxy
        return proxy

    def hub_authority(self):
        return f"localhost:{self.hub.ws_port}"

    def assert_no_password_anywhere(self, *texts):
        for text in texts:
            self.assertNotIn(PASSWORD, text)
            self.assertNotIn(PASSWORD_IN_URL, text)

    def check_config(self):
        return subprocess.run([self.agent_binary, "check-config", "--config", self.config_path],
                              env=self.env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              text=True, timeout=60)

    def wait_connected(self, what):
        self.wait(lambda: self.hub.agent(AGENT_ID)["connected"], 45, what)

    # --- through the proxy ---

    def test_restart_through_a_proxy(self):
        unit = self.make_unit("e2e-proxy")
        first_pid = self.unit_props(unit)["MainPID"]
        self.start_hub()
        proxy = self.start_proxy()
        self.apps = [self.hub.create_app(AGENT_ID, name="web-proxied", app_type="systemd",
                                         identifier=unit)]
        app = self.apps[0]
        self.agent_config(hub_proxy=proxy.url())
        self.start_agent()
        self.wait_connected("the agent to connect through the proxy")
        self.assertIn(f"CONNECT {self.hub_authority()} HTTP/1.1", proxy.connect_requests())
        self.wait_app_observed(app["id"], "running")

        jti = self.hub.restart(app["id"], "e2e: restart through a proxy")["jti"]
        self.assert_unit_restarted(jti, unit, first_pid)

    @unittest.skipUnless(ipv6_loopback_works(), "this host has no IPv6 loopback (::1)")
    def test_an_ipv6_hub_is_bracketed_in_connect(self):
        self.start_hub(ws_host="::1")
        proxy = self.start_proxy()
        self.agent_config(hub_url=f"wss://[::1]:{self.hub.ws_port}/agent", hub_proxy=proxy.url())
        self.start_agent()
        self.wait_connected("the agent to connect to [::1] through the proxy")
        self.assertEqual(proxy.connect_requests(), [f"CONNECT [::1]:{self.hub.ws_port} HTTP/1.1"])

    def test_basic_auth_through_hub_proxy(self):
        self.start_hub()
        proxy = self.start_proxy(basic_auth=("alice", PASSWORD))
        self.agent_config(hub_proxy=proxy.url(f"alice:{PASSWORD_IN_URL}"))
        agent = self.start_agent()
        self.wait_connected("the agent to connect through the proxy with Basic auth")
        self.assertEqual(proxy.connect_requests(), [f"CONNECT {self.hub_authority()} HTTP/1.1"])
        check = self.check_config()
        self.assertIn(f"hub connection: proxy http://127.0.0.1:{proxy.port} (with credentials) "
                      "(hub_proxy in the config)", check.stdout, check.stdout + check.stderr)
        self.assert_no_password_anywhere(check.stdout, check.stderr, agent.log_text())

    def test_https_proxy_from_the_environment(self):
        self.start_hub()
        proxy = self.start_proxy()
        self.env = {**self.env, "https_proxy": proxy.url(), "no_proxy": "example.net"}
        self.agent_config()  # no hub_proxy: the environment decides
        self.start_agent()
        self.wait_connected("the agent to connect through https_proxy")
        self.assertIn(f"CONNECT {self.hub_authority()} HTTP/1.1", proxy.connect_requests())

    # --- refusals ---

    def test_wrong_credentials_are_refused_logged_and_backed_off(self):
        self.start_hub()
        proxy = self.start_proxy(basic_auth=("alice", PASSWORD))
        wrong = "n0t-the-pw"
        self.agent_config(hub_proxy=proxy.url(f"alice:{wrong}"))
        agent = self.start_agent()
        refusal = f"proxy http://127.0.0.1:{proxy.port} (with credentials) refused CONNECT"

        def refused_twice():
            return agent.log_text().count(refusal) >= 2
        self.wait(refused_twice, 45, "two refused attempts in the agent's log")
        log = agent.log_text()
        # tinyproxy 1.11 answers a CONNECT with wrong Basic credentials with 401, others 407.
        self.assertRegex(log, r"HTTP 40[17] \S.*: the proxy wants credentials")
        self.assertNotIn(wrong, log)
        self.assert_no_password_anywhere(log)
        # Each refusal is followed by the link's back-off, not by a tight loop.
        lines = log.splitlines()
        for n, line in enumerate(lines):
            if refusal in line and n + 1 < len(lines):
                self.assertTrue(any("next connection attempt in" in later
                                    for later in lines[n + 1:n + 4]), "\n".join(lines[n:n + 4]))
        self.assertGreaterEqual(len(proxy.connect_requests()), 2)
        self.assertFalse(self.hub.agent(AGENT_ID)["connected"])
        self.assertEqual(self.hub.agent(AGENT_ID)["counters"]["connections"], 0)
        self.assertTrue(agent.alive())

    def test_a_port_the_proxy_refuses_gets_403_logged(self):
        self.start_hub()
        proxy = self.start_proxy(connect_ports=(1,))  # CONNECT only to port 1: not the hub's
        self.agent_config(hub_proxy=proxy.url())
        agent = self.start_agent()
        refusal = (f"proxy http://127.0.0.1:{proxy.port} refused CONNECT {self.hub_authority()}: "
                   "HTTP 403")
        self.wait(lambda: refusal in agent.log_text(), 45, "the 403 in the agent's log")
        self.assertIn("does not allow this destination or port", agent.log_text())
        self.assertEqual(self.hub.agent(AGENT_ID)["counters"]["connections"], 0)
        self.assertTrue(agent.alive())

    # --- an https:// proxy: TLS to the proxy, then CONNECT inside it ---

    def start_tls_front(self, proxy, hosts=("localhost", "127.0.0.1"), listen_host="127.0.0.1"):
        """stunnel on `listen_host` in front of `proxy` with a certificate for `hosts` from a CA
        of its own (not the hub's). Returns (front, the CA file)."""
        pki = testkit.make_ca_and_cert(os.path.join(self.workdir, "proxy-pki"), hosts=hosts)
        front = TlsFront(os.path.join(self.workdir, "stunnel"), proxy.port,
                         pki["server.pem"], pki["server.key"], listen_host).start()
        self.addCleanup(front.stop)
        return front, pki["ca.pem"]

    @unittest.skipUnless(os.path.exists(STUNNEL), "stunnel4 is not installed "
                         "(scripts/install-deps.sh installs it)")
    def test_https_proxy_with_basic_auth(self):
        self.start_hub()
        proxy = self.start_proxy(basic_auth=("alice", PASSWORD))
        front, proxy_ca = self.start_tls_front(proxy)
        self.agent_config(hub_proxy=front.url(userinfo=f"alice:{PASSWORD_IN_URL}"),
                          hub_proxy_ca_file=proxy_ca)
        agent = self.start_agent()
        self.wait_connected("the agent to connect through the https:// proxy")
        # The CONNECT (with its credentials) reached tinyproxy through stunnel's TLS.
        self.assertEqual(proxy.connect_requests(), [f"CONNECT {self.hub_authority()} HTTP/1.1"])
        self.assertIn("TLS accepted", testkit.file_text(front.log_file))
        check = self.check_config()
        self.assertEqual(check.returncode, 0, check.stdout + check.stderr)
        self.assertIn(f"hub connection: proxy https://localhost:{front.port} (with credentials) "
                      "(hub_proxy in the config)", check.stdout)
        self.assertIn(f"proxy certificate: checked against hub_proxy_ca_file {proxy_ca}, "
                      "for the name localhost", check.stdout)
        self.assert_no_password_anywhere(check.stdout, check.stderr, agent.log_text())

    @unittest.skipUnless(os.path.exists(STUNNEL), "stunnel4 is not installed "
                         "(scripts/install-deps.sh installs it)")
    def test_plain_ws_hub_through_an_https_proxy_from_http_proxy(self):
        # A ws:// hub on loopback: the environment's http_proxy (not https_proxy) applies, and
        # an https:// proxy still gets TLS to the proxy; the WebSocket inside the tunnel is plain.
        self.start_hub(tls=False)
        proxy = self.start_proxy()
        front, proxy_ca = self.start_tls_front(proxy)
        self.env = {**self.env, "http_proxy": front.url(), "https_proxy": "http://192.0.2.1:9"}
        self.agent_config(hub_url=f"ws://127.0.0.1:{self.hub.ws_port}/agent", hub_ca_file=None,
                          hub_proxy_ca_file=proxy_ca)
        check = self.check_config()
        self.assertEqual(check.returncode, 0, check.stdout + check.stderr)
        self.assertIn(f"hub connection: proxy https://localhost:{front.port} "
                      "(http_proxy from the environment)", check.stdout)
        agent = self.start_agent()
        self.wait_connected("the agent to reach the ws:// hub through the https:// proxy")
        self.assertEqual(proxy.connect_requests(), [f"CONNECT 127.0.0.1:{self.hub.ws_port} HTTP/1.1"])
        self.assertIn("TLS accepted", testkit.file_text(front.log_file))
        self.assertTrue(self.hub.agent(AGENT_ID)["hello"])
        self.assertTrue(agent.alive())

    @unittest.skipUnless(os.path.exists(STUNNEL), "stunnel4 is not installed "
                         "(scripts/install-deps.sh installs it)")
    @unittest.skipUnless(ipv6_loopback_works(), "this host has no IPv6 loopback (::1)")
    def test_an_https_proxy_at_an_ipv6_address(self):
        # The proxy is named by its address: the agent connects to [::1] and checks the
        # certificate's IP entry for ::1 (no SNI for an address).
        self.start_hub()
        proxy = self.start_proxy()
        front, proxy_ca = self.start_tls_front(proxy, hosts=("::1",), listen_host="::1")
        self.agent_config(hub_proxy=front.url(host="[::1]"), hub_proxy_ca_file=proxy_ca)
        check = self.check_config()
        self.assertEqual(check.returncode, 0, check.stdout + check.stderr)
        self.assertIn(f"proxy certificate: checked against hub_proxy_ca_file {proxy_ca}, "
                      "for the address ::1", check.stdout)
        agent = self.start_agent()
        self.wait_connected("the agent to connect through the https:// proxy at [::1]")
        self.assertEqual(proxy.connect_requests(), [f"CONNECT {self.hub_authority()} HTTP/1.1"])
        self.assertIn("TLS accepted", testkit.file_text(front.log_file))
        self.assertTrue(agent.alive())

    @unittest.skipUnless(os.path.exists(STUNNEL), "stunnel4 is not installed "
                         "(scripts/install-deps.sh installs it)")
    @unittest.skipUnless(ipv6_loopback_works(), "this host has no IPv6 loopback (::1)")
    def test_an_https_proxy_at_an_ipv6_address_its_certificate_does_not_name_is_refused(self):
        self.start_hub()
        proxy = self.start_proxy()
        # A certificate for 127.0.0.1 and localhost, served at [::1].
        front, proxy_ca = self.start_tls_front(proxy, listen_host="::1")
        self.agent_config(hub_proxy=front.url(host="[::1]"), hub_proxy_ca_file=proxy_ca)
        agent = self.start_agent()
        self.assert_tls_refused(agent, front, proxy, "IP address mismatch", host="[::1]")

    def assert_tls_refused(self, agent, front, proxy, reason, host="localhost"):
        refusal = (f"TLS with proxy {front.url(host=host)} failed: certificate verification "
                   f"failed: {reason}")

        def refused_twice():
            return agent.log_text().count(refusal) >= 2
        self.wait(refused_twice, 45, f"two refused TLS handshakes ({reason}) in the agent's log")
        self.assertEqual(proxy.connect_requests(), [])  # nothing got past the TLS handshake
        self.assertEqual(self.hub.agent(AGENT_ID)["counters"]["connections"], 0)
        self.assertIn("next connection attempt in", agent.log_text())
        self.assertTrue(agent.alive())

    @unittest.skipUnless(os.path.exists(STUNNEL), "stunnel4 is not installed "
                         "(scripts/install-deps.sh installs it)")
    def test_https_proxy_signed_by_another_ca_is_refused(self):
        self.start_hub()
        proxy = self.start_proxy()
        front, _ = self.start_tls_front(proxy)
        # The hub's CA is trusted for the hub; it did not sign the proxy's certificate.
        self.agent_config(hub_proxy=front.url(), hub_proxy_ca_file=self.hub.ca_file)
        agent = self.start_agent()
        self.assert_tls_refused(agent, front, proxy, "unable to get local issuer certificate")

    @unittest.skipUnless(os.path.exists(STUNNEL), "stunnel4 is not installed "
                         "(scripts/install-deps.sh installs it)")
    def test_https_proxy_certificate_for_another_name_is_refused(self):
        self.start_hub()
        proxy = self.start_proxy()
        front, proxy_ca = self.start_tls_front(proxy, hosts=("proxy.example.net",))
        self.agent_config(hub_proxy=front.url(), hub_proxy_ca_file=proxy_ca)
        agent = self.start_agent()
        self.assert_tls_refused(agent, front, proxy, "hostname mismatch")

    def test_unreadable_proxy_ca_file_is_a_config_error(self):
        self.start_hub()
        missing = os.path.join(self.workdir, "no-such-ca.pem")
        self.agent_config(hub_proxy="https://localhost:3129", hub_proxy_ca_file=missing)
        check = self.check_config()
        self.assertEqual(check.returncode, 1)
        self.assertIn(f"hub_proxy_ca_file {missing}: cannot load certificates", check.stderr)

    # --- past the proxy ---

    def test_no_proxy_bypasses_the_proxy(self):
        self.start_hub()
        proxy = self.start_proxy()
        self.env = {**self.env, "https_proxy": proxy.url(), "NO_PROXY": "127.0.0.1,.localhost,localhost"}
        self.agent_config()
        self.start_agent()
        self.wait_connected("the agent to connect straight to the hub")
        self.assertEqual(proxy.connect_requests(), [])
        self.assertNotIn("Connect (file descriptor", proxy.log_since_start())


if __name__ == "__main__":
    unittest.main()
