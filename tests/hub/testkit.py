#!/usr/bin/python3
"""Helpers for tests that run the reference hub (tests/hub/hub.py): a CA and a server
certificate made with the openssl CLI, the hub's Ed25519 key, the TOTP secret and codes, the
agent token file, starting and stopping the hub as a subprocess, and REST calls (urllib).

    import sys; sys.path.insert(0, "<repo>/tests/hub")
    import testkit
    hub = testkit.HubProcess.create(workdir, agents={"web-01": "s3cret"}, tls=True)
    hub.start()
    config = hub.agent_config("web-01")  # agent_id, issuer, hub_keys, hub_url, hub_ca_file...
    app = hub.create_app("web-01", "web", "systemd", "nginx.service")
    jti = hub.restart(app["id"], "it hangs")["jti"]
    result = hub.wait_for(lambda: hub.result(jti), timeout=30)
    hub.stop()

As a command (for shell demos):
    testkit.py key PEM            make an Ed25519 hub key, print its public key (base64, 32 bytes)
    testkit.py public-key PEM     print the public key of an existing PEM
    testkit.py totp-secret FILE   write a new base32 TOTP secret to FILE, print it
    testkit.py totp FILE          print the current code for the secret in FILE
    testkit.py cert DIR [HOST...] make DIR/ca.pem, DIR/server.pem, DIR/server.key (default hosts:
                                  localhost 127.0.0.1 ::1)
"""

import base64
import ipaddress
import json
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request

import pyotp
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519

PYTHON = "/usr/bin/python3"
HUB_DIR = os.path.dirname(os.path.abspath(__file__))
HUB_SCRIPT = os.path.join(HUB_DIR, "hub.py")
VERIFY_SCRIPT = os.path.join(HUB_DIR, "verify_transparency.py")
SUBPROTOCOL = "monsys.agent.v1"


# ---------------------------------------------------------------- keys, secrets, certificates

def generate_hub_key(path):
    """Writes a new Ed25519 private key (PKCS#8 PEM, mode 0600) to `path`; returns the public key
    as standard base64 of its 32 raw bytes (what the agent's `hub_keys` wants)."""
    key = ed25519.Ed25519PrivateKey.generate()
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                            serialization.NoEncryption())
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(pem)
    return public_key_base64(path)


def public_key_base64(pem_path):
    with open(pem_path, "rb") as f:
        key = serialization.load_pem_private_key(f.read(), password=None)
    raw = key.public_key().public_bytes(serialization.Encoding.Raw,
                                        serialization.PublicFormat.Raw)
    return base64.b64encode(raw).decode("ascii")


def make_totp_secret(path):
    secret = pyotp.random_base32()
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(secret + "\n")
    return secret


def read_secret(secret_or_path):
    if os.path.exists(secret_or_path):
        with open(secret_or_path, encoding="utf-8") as f:
            return f.readline().strip()
    return secret_or_path


def totp_code(secret_or_path, at=None):
    """The TOTP code now (or at Unix time `at`) for a base32 secret or a file holding it."""
    totp = pyotp.TOTP(read_secret(secret_or_path))
    return totp.at(at) if at is not None else totp.now()


def wrong_totp_code(secret_or_path):
    """A 6-digit code that is not valid now (nor 30 s before or after)."""
    totp = pyotp.TOTP(read_secret(secret_or_path))
    now = time.time()
    valid = {totp.at(now + d) for d in (-60, -30, 0, 30, 60)}
    return next(c for c in (f"{n:06d}" for n in range(1000000)) if c not in valid)


def write_token_file(path, agents):
    """`agent_id:token` lines for the hub; `agents` maps agent id -> token."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        for agent_id, token in agents.items():
            f.write(f"{agent_id}:{token}\n")


def write_agent_token(path, token):
    """The agent's own hub_token_file: the token on the first line, mode 0600."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(token + "\n")


def _openssl(*args, cwd):
    subprocess.run(["openssl", *args], cwd=cwd, check=True, stdout=subprocess.DEVNULL,
                   stderr=subprocess.PIPE)


def make_ca_and_cert(directory, hosts=("localhost", "127.0.0.1", "::1"), days=2):
    """A throw-away CA (ca.pem, ca.key) and a server certificate signed by it (server.pem,
    server.key) for `hosts`, with the openssl CLI, P-256 keys. Returns the paths.

    A host name goes into subjectAltName as DNS; an IPv4 address as IP *and* as DNS, so that the
    certificate passes both ways of checking a URL such as wss://127.0.0.1:PORT/: as an address
    (X509_VERIFY_PARAM_set1_ip_asc, Python's ssl) and as a host name
    (X509_VERIFY_PARAM_set1_host, which only looks at DNS entries)."""
    os.makedirs(directory, exist_ok=True)
    sans = []
    for host in hosts:
        try:
            address = ipaddress.ip_address(host)
        except ValueError:
            sans.append(f"DNS:{host}")
            continue
        sans.append(f"IP:{host}")
        if address.version == 4:
            sans.append(f"DNS:{host}")
    curve = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes"]
    _openssl("req", "-x509", *curve, "-keyout", "ca.key", "-out", "ca.pem", "-days", str(days),
             "-subj", "/CN=monsys test CA", "-addext", "basicConstraints=critical,CA:TRUE",
             "-addext", "keyUsage=critical,keyCertSign,cRLSign",
             "-addext", "subjectKeyIdentifier=hash", cwd=directory)
    _openssl("req", "-new", *curve, "-keyout", "server.key", "-out", "server.csr",
             "-subj", f"/CN={hosts[0]}", cwd=directory)
    with open(os.path.join(directory, "server.ext"), "w") as f:
        f.write("basicConstraints=critical,CA:FALSE\n"
                "keyUsage=critical,digitalSignature\n"
                "extendedKeyUsage=serverAuth\n"
                "subjectKeyIdentifier=hash\n"
                "authorityKeyIdentifier=keyid,issuer\n"
                f"subjectAltName={','.join(sans)}\n")
    _openssl("x509", "-req", "-in", "server.csr", "-CA", "ca.pem", "-CAkey", "ca.key",
             "-CAcreateserial", "-out", "server.pem", "-days", str(days),
             "-extfile", "server.ext", cwd=directory)
    for name in ("ca.key", "server.key"):
        os.chmod(os.path.join(directory, name), 0o600)
    return {name: os.path.join(directory, name)
            for name in ("ca.pem", "ca.key", "server.pem", "server.key")}


# ---------------------------------------------------------------- REST

class ApiError(Exception):
    def __init__(self, status, body):
        super().__init__(f"HTTP {status}: {body}")
        self.status = status
        self.body = body


def http_json(method, url, body=None, headers=None, timeout=10):
    """(status, decoded JSON body or the raw text) for one request; never raises on a status."""
    data = None
    all_headers = dict(headers or {})
    if body is not None:
        data = body if isinstance(body, bytes) else json.dumps(body).encode("utf-8")
        all_headers.setdefault("Content-Type", "application/json")
    request = urllib.request.Request(url, data=data, method=method, headers=all_headers)
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            status, raw = response.status, response.read()
    except urllib.error.HTTPError as e:
        status, raw = e.code, e.read()
    try:
        return status, json.loads(raw)
    except ValueError:
        return status, raw.decode("utf-8", "replace")


def file_text(path, missing=""):
    """A log file's whole text, or `missing` when there is no such file (yet)."""
    try:
        with open(path, encoding="utf-8", errors="replace") as f:
            return f.read()
    except FileNotFoundError:
        return missing


def file_tail(path, lines=40, missing="(no file)\n"):
    """The last `lines` lines of a log file, or `missing` when there is no such file."""
    try:
        with open(path, encoding="utf-8", errors="replace") as f:
            return "".join(f.readlines()[-lines:])
    except FileNotFoundError:
        return missing


# ---------------------------------------------------------------- the hub process

class HubProcess:
    """One reference hub subprocess. Its stderr goes to `<workdir>/hub.log` (appended)."""

    def __init__(self, workdir, *, state_dir, agent_token_file, signing_key, totp_secret_file,
                 kid="hub-1", issuer="monsys-hub", tls_cert=None, tls_key=None, ca_file=None,
                 liveness_interval=None, test_endpoints=True, extra_args=(), agents=None,
                 ws_host="127.0.0.1"):
        self.workdir = workdir
        self.ws_host = ws_host  # "::1" for a hub on IPv6 loopback
        self.state_dir = state_dir
        self.agent_token_file = agent_token_file
        self.signing_key = signing_key
        self.totp_secret_file = totp_secret_file
        self.kid = kid
        self.issuer = issuer
        self.tls_cert, self.tls_key, self.ca_file = tls_cert, tls_key, ca_file
        self.liveness_interval = liveness_interval
        self.test_endpoints = test_endpoints
        self.extra_args = list(extra_args)
        self.agents = dict(agents or {})
        self.ready_file = os.path.join(workdir, "hub.ready")
        self.log_file = os.path.join(workdir, "hub.log")
        self.proc = None
        self.info = None
        self.ws_port = 0
        self.http_port = 0

    @classmethod
    def create(cls, workdir, agents, *, tls=True, hosts=("localhost", "127.0.0.1", "::1"),
               **options):
        """Makes everything a hub needs in `workdir` (key, TOTP secret, token file, state dir, and
        with tls a CA and certificate) and returns the (not yet started) HubProcess."""
        os.makedirs(workdir, exist_ok=True)
        key = os.path.join(workdir, "hub-key.pem")
        generate_hub_key(key)
        totp = os.path.join(workdir, "totp.secret")
        make_totp_secret(totp)
        tokens = os.path.join(workdir, "agent-tokens")
        write_token_file(tokens, agents)
        tls_files = {}
        if tls:
            paths = make_ca_and_cert(os.path.join(workdir, "tls"), hosts)
            tls_files = {"tls_cert": paths["server.pem"], "tls_key": paths["server.key"],
                         "ca_file": paths["ca.pem"]}
        return cls(workdir, state_dir=os.path.join(workdir, "state"), agent_token_file=tokens,
                   signing_key=key, totp_secret_file=totp, agents=agents, **tls_files,
                   **options)

    def command(self):
        cmd = [PYTHON, HUB_SCRIPT, "--state-dir", self.state_dir,
               "--agent-token-file", self.agent_token_file, "--signing-key", self.signing_key,
               "--kid", self.kid, "--issuer", self.issuer,
               "--totp-secret-file", self.totp_secret_file,
               "--ws-host", self.ws_host, "--ws-port", str(self.ws_port),
               "--http-host", "127.0.0.1", "--http-port", str(self.http_port),
               "--ready-file", self.ready_file]
        if self.tls_cert:
            cmd += ["--tls-cert", self.tls_cert, "--tls-key", self.tls_key]
        if self.liveness_interval is not None:
            cmd += ["--liveness-interval", str(self.liveness_interval)]
        if self.test_endpoints:
            cmd.append("--test-endpoints")
        return cmd + self.extra_args

    def start(self, timeout=20):
        """Starts the hub and waits for its ready file. A restart reuses the ports of the first
        start, so that agents configured with the URL find it again."""
        if os.path.exists(self.ready_file):
            os.unlink(self.ready_file)
        with open(self.log_file, "ab") as log:
            self.proc = subprocess.Popen(self.command(), stdin=subprocess.DEVNULL,
                                         stdout=log, stderr=log)
        deadline = time.monotonic() + timeout
        while not os.path.exists(self.ready_file):
            if self.proc.poll() is not None:
                raise RuntimeError(f"the hub exited with {self.proc.returncode}:\n"
                                   + self.log_tail())
            if time.monotonic() > deadline:
                self.kill()
                raise RuntimeError("the hub did not get ready:\n" + self.log_tail())
            time.sleep(0.02)
        with open(self.ready_file) as f:
            self.info = json.load(f)
        self.ws_port, self.http_port = self.info["ws_port"], self.info["http_port"]
        return self

    def stop(self, timeout=10):
        """SIGTERM and wait; returns the exit status."""
        if self.proc is None or self.proc.poll() is not None:
            return None if self.proc is None else self.proc.returncode
        self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            return self.proc.wait()

    def kill(self):
        """SIGKILL: a crash, as far as the hub is concerned."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()

    def relaunch(self, crash=False):
        """Stops the hub (SIGKILL with crash=True, else SIGTERM) and starts it again with the same
        state directory and ports."""
        if crash:
            self.kill()
        else:
            self.stop()
        return self.start()

    def log_tail(self, lines=40):
        return file_tail(self.log_file, lines, missing="")

    # --- addresses and configuration ---

    @property
    def ws_url(self):
        return self.info["ws_url"]

    @property
    def http_url(self):
        return self.info["http_url"]

    @property
    def public_key(self):
        return public_key_base64(self.signing_key)

    def agent_config(self, agent_id, token_file=None):
        """The hub-related fields of the agent's configuration (docs/configuration.md). With
        `token_file` the agent's token is written there (mode 0600) and named."""
        config = {"agent_id": agent_id, "issuer": self.issuer,
                  "hub_keys": {self.kid: self.public_key}, "hub_url": self.ws_url}
        if self.ca_file:
            config["hub_ca_file"] = self.ca_file
        if token_file:
            write_agent_token(token_file, self.agents[agent_id])
            config["hub_token_file"] = token_file
        return config

    def totp(self):
        return totp_code(self.totp_secret_file)

    def wrong_totp(self):
        return wrong_totp_code(self.totp_secret_file)

    # --- REST ---

    def call(self, method, path, body=None, headers=None):
        """(status, JSON) of one REST call; path starts with /api/v1/..."""
        return http_json(method, self.http_url + path, body, headers)

    def api(self, method, path, body=None, headers=None, expect=(200, 201, 202)):
        """The JSON of one REST call; raises ApiError on an unexpected status."""
        status, data = self.call(method, path, body, headers)
        if status not in ((expect,) if isinstance(expect, int) else expect):
            raise ApiError(status, data)
        return data

    def create_app(self, agent_id, name, app_type, identifier, **fields):
        return self.api("POST", "/api/v1/apps", {"agent_id": agent_id, "name": name,
                                                 "app_type": app_type,
                                                 "identifier": identifier, **fields},
                        expect=201)

    def app(self, app_id):
        return self.api("GET", f"/api/v1/apps/{app_id}")

    def set_expected(self, app_id, state):
        return self.api("PATCH", f"/api/v1/apps/{app_id}", {"expected_state": state})

    def delete_app(self, app_id):
        return self.api("DELETE", f"/api/v1/apps/{app_id}")

    def restart(self, app_id, reason="restarted by a test", code=None):
        """POST .../restart with a valid TOTP code (or `code`); returns {"jti", "status", "exp"}
        on 202, raises ApiError otherwise."""
        return self.api("POST", f"/api/v1/apps/{app_id}/restart", {"reason": reason},
                        {"X-TOTP-Code": code if code is not None else self.totp()},
                        expect=202)

    def agent(self, agent_id):
        return self.api("GET", f"/api/v1/agents/{agent_id}")

    def discovered(self, agent_id):
        return self.api("GET", f"/api/v1/agents/{agent_id}/discovered")["discovered"]

    def frames(self, agent_id):
        return self.api("GET", f"/api/v1/agents/{agent_id}/frames")["frames"]

    def audit(self, event=None):
        path = "/api/v1/audit" + (f"?event={event}" if event else "")
        return self.api("GET", path)["entries"]

    def alerts(self):
        return self.api("GET", "/api/v1/alerts")["alerts"]

    def result(self, jti):
        """The stored action_result record for `jti`, or None."""
        status, data = self.call("GET", f"/api/v1/results/{jti}")
        return data if status == 200 else None

    def action(self, jti):
        return self.api("GET", f"/api/v1/actions/{jti}")

    def verify_transparency(self):
        return self.api("GET", "/api/v1/transparency/verify")

    def test_send(self, agent_id, text=None, binary=None):
        body = {"text": text} if text is not None else {
            "binary_base64": base64.b64encode(binary).decode("ascii")}
        return self.api("POST", f"/api/v1/test/agents/{agent_id}/send", body)

    def test_action(self, agent_id, eat):
        return self.api("POST", f"/api/v1/test/agents/{agent_id}/action", {"eat": eat},
                        expect=202)

    def test_collect(self, agent_id):
        return self.api("POST", f"/api/v1/test/agents/{agent_id}/collect", {})

    def test_disconnect(self, agent_id, code=1000, abort=False):
        return self.api("POST", f"/api/v1/test/agents/{agent_id}/disconnect",
                        {"code": code, "abort": abort})

    def test_acks(self, agent_id, enabled):
        return self.api("POST", f"/api/v1/test/agents/{agent_id}/acks", {"enabled": enabled})

    def check_liveness(self):
        return self.api("POST", "/api/v1/test/liveness/check", {})

    def wait_connected(self, agent_id, timeout=30):
        return self.wait_for(lambda: self.agent(agent_id)["connected"], timeout,
                             f"{agent_id} to connect")

    @staticmethod
    def wait_for(predicate, timeout=10, what="the condition", interval=0.05):
        """Polls until predicate() returns something truthy, which is returned."""
        deadline = time.monotonic() + timeout
        while True:
            value = predicate()
            if value:
                return value
            if time.monotonic() > deadline:
                raise TimeoutError(f"timed out after {timeout} s waiting for {what}")
            time.sleep(interval)


def main(argv):
    usage = __doc__[__doc__.index("As a command"):]
    if len(argv) < 2:
        print(usage, file=sys.stderr)
        return 2
    command, args = argv[0], argv[1:]
    if command == "key":
        print(generate_hub_key(args[0]))
    elif command == "public-key":
        print(public_key_base64(args[0]))
    elif command == "totp-secret":
        print(make_totp_secret(args[0]))
    elif command == "totp":
        print(totp_code(args[0]))
    elif command == "cert":
        paths = make_ca_and_cert(args[0], tuple(args[1:]) or ("localhost", "127.0.0.1", "::1"))
        print(json.dumps(paths))
    else:
        print(usage, file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
