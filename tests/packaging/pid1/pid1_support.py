"""Shared parts of the PID 1 package tests (tests/packaging/pid1, docs/testing.md): a Debian 12
container with systemd as PID 1 (scripts/testenv/pid1.sh), the .deb installed in it, the
reference hub (tests/hub) on the host's loopback, tokens minted with the hub's key, and named
checks that print `ok` or `FAIL` with details.

Run with /usr/bin/python3 (Debian's python3-jwt, python3-cryptography, python3-websockets...).
"""

import base64
import hashlib
import json
import os
import secrets
import shlex
import subprocess
import sys
import tempfile
import time
import traceback

HERE = os.path.dirname(os.path.abspath(__file__))
SOURCE_DIR = os.environ.get("MONSYS_SOURCE_DIR") or os.path.dirname(os.path.dirname(
    os.path.dirname(HERE)))
PID1_SH = os.path.join(SOURCE_DIR, "scripts", "testenv", "pid1.sh")
KEEP = os.environ.get("MONSYS_PID1_KEEP") == "1"
sys.path.insert(0, os.path.join(SOURCE_DIR, "tests", "hub"))
sys.path.insert(0, os.path.join(SOURCE_DIR, "tests", "tools"))

import mint_eat  # noqa: E402
import testkit  # noqa: E402

AGENT_ID = "pid1-host"
SKIP = 77

# The socket client, run inside the container as any user: sends one request to the action
# socket and prints one JSON line, {"answer": "..."} or {"connect_error": "EACCES", ...}.
ASK_PY = r'''
import errno, json, socket, sys
path, request = sys.argv[1], sys.stdin.buffer.read()
s = socket.socket(socket.AF_UNIX)
s.settimeout(float(sys.argv[2]) if len(sys.argv) > 2 else 60)
try:
    s.connect(path)
except OSError as e:
    print(json.dumps({"connect_error": errno.errorcode.get(e.errno, str(e.errno)), "message": str(e)}))
    sys.exit(0)
s.sendall(request)
s.shutdown(socket.SHUT_WR)
data = b""
while True:
    chunk = s.recv(65536)
    if not chunk:
        break
    data += chunk
print(json.dumps({"answer": data.decode("utf-8", "replace")}))
'''


def log(text):
    print(text, flush=True)


# ---------------------------------------------------------------- named checks

class Checks:
    """Each check is one named outcome: `ok NAME` or `FAIL NAME` with details, and a failed
    check never stops the others (unless later ones depend on it: see require)."""

    def __init__(self, suite):
        self.suite = suite
        self.failed = []
        self.passed = []
        self.started = time.monotonic()

    def record(self, name, ok, details=""):
        if ok:
            self.passed.append(name)
            log(f"ok   {name}" + (f"  ({details})" if details and len(details) < 160 else ""))
        else:
            self.failed.append(name)
            log(f"FAIL {name}")
            for line in str(details).splitlines() or [""]:
                log(f"     {line}")
        return ok

    def run(self, name, function, *args):
        """Runs function(*args), which returns (ok, details) or raises; records the outcome."""
        t0 = time.monotonic()
        try:
            ok, details = function(*args)
        except Exception:  # noqa: BLE001: any error is this check's failure, not the suite's
            ok, details = False, traceback.format_exc()
        elapsed = time.monotonic() - t0
        if ok and elapsed >= 1:
            details = f"{details}; {elapsed:.1f} s" if details else f"{elapsed:.1f} s"
        return self.record(name, ok, details)

    def finish(self):
        total = time.monotonic() - self.started
        log(f"\n{self.suite}: {len(self.passed)} passed, {len(self.failed)} failed "
            f"in {total:.0f} s")
        for name in self.failed:
            log(f"  failed: {name}")
        return 0 if not self.failed else 1


# ---------------------------------------------------------------- the container

def pid1(*args, capture=True, timeout=1800):
    proc = subprocess.run([PID1_SH, *args], stdout=subprocess.PIPE if capture else None,
                          text=True, timeout=timeout)
    if proc.returncode != 0:
        raise RuntimeError(f"pid1.sh {' '.join(args)} exited {proc.returncode}")
    return proc.stdout.strip() if capture else None


def podman_env():
    env = dict(os.environ)
    for line in pid1("env").splitlines():
        name, _, value = line.partition("=")
        env[name] = value
    return env


class Container:
    """A booted container; `run` and friends execute inside it with podman exec."""

    def __init__(self, image, prefix):
        self.name = f"{prefix}-{secrets.token_hex(3)}"
        self.image = image
        self.env = podman_env()

    def start(self):
        t0 = time.monotonic()
        pid1("start", self.name, self.image, capture=False, timeout=120)
        self.boot_secs = time.monotonic() - t0
        self.write("/usr/local/lib/monsys-test/ask.py", ASK_PY, mode="0755")
        return self

    def stop(self):
        if KEEP:
            log(f"(keeping container {self.name}: podman rm -f {self.name} with the settings "
                f"of `{PID1_SH} env`)")
            return
        subprocess.run([PID1_SH, "stop", self.name], timeout=120)

    def podman(self, *args, input_text=None, timeout=300):
        return subprocess.run(["podman", *args], env=self.env,
                              input=input_text if input_text is not None else "",
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                              timeout=timeout)

    def run(self, command, user=None, input_text=None, timeout=300):
        """Runs `command` (a shell command line) in the container, as root or as `user`.
        Returns the CompletedProcess (returncode, stdout, stderr)."""
        argv = ["/bin/sh", "-c", command]
        if user:
            argv = ["runuser", "-u", user, "--"] + argv
        return self.podman("exec", "-i", self.name, *argv, input_text=input_text,
                           timeout=timeout)

    def out(self, command, user=None, check=True, timeout=300):
        proc = self.run(command, user=user, timeout=timeout)
        if check and proc.returncode != 0:
            raise AssertionError(f"`{command}` exited {proc.returncode}: {proc.stdout}"
                                 f"{proc.stderr}")
        return proc.stdout.strip()

    def write(self, path, text, mode="0644", owner="root:root"):
        q = shlex.quote(path)
        proc = self.run(f"mkdir -p $(dirname {q}) && cat > {q}.new && chown {owner} {q}.new && "
                        f"chmod {mode} {q}.new && mv -f {q}.new {q}", input_text=text)
        if proc.returncode != 0:
            raise AssertionError(f"writing {path}: {proc.stderr}")

    def write_keep_owner(self, path, text):
        """Rewrites the content of an existing file in place (keeps owner and mode)."""
        proc = self.run(f"cat > {shlex.quote(path)}", input_text=text)
        if proc.returncode != 0:
            raise AssertionError(f"writing {path}: {proc.stderr}")

    def copy_in(self, host_path, path):
        proc = self.podman("cp", host_path, f"{self.name}:{path}")
        if proc.returncode != 0:
            raise AssertionError(f"podman cp {host_path}: {proc.stderr}")

    def show(self, unit, *props):
        text = self.out(f"systemctl show -p {','.join(props)} {shlex.quote(unit)}", check=False)
        values = dict(line.split("=", 1) for line in text.splitlines() if "=" in line)
        if "MainPID" in values:
            values["MainPID"] = int(values["MainPID"] or 0)
        return values

    def system_state(self):
        return self.out("systemctl is-system-running", check=False)

    def ask_envelope(self, request, user="monsys", sock="/run/monsys/action.sock", timeout=90):
        """One request on the action socket as `user`: {"answer": monsys-action's output as it
        came}, or {"connect_error": ...}, or {"raw": text} when the client printed no JSON."""
        proc = self.run(f"/usr/bin/python3 /usr/local/lib/monsys-test/ask.py {sock} {timeout}",
                        user=user, input_text=request, timeout=timeout + 30)
        try:
            return json.loads(proc.stdout.strip().splitlines()[-1])
        except (ValueError, IndexError):
            return {"raw": proc.stdout + proc.stderr}

    def ask(self, request, user="monsys", sock="/run/monsys/action.sock", timeout=90):
        """One request on the action socket as `user`: the parsed JSON result, or
        {"connect_error": ...}, or {"raw": text} when the answer is not JSON."""
        envelope = self.ask_envelope(request, user, sock, timeout)
        if "answer" not in envelope:
            return envelope
        # monsys-action answers with the result line, then its compact JWS whose payload must be
        # exactly that line (docs/monsys-action.md). The line alone comes from an earlier build,
        # or from a wrapper that could not use its key (reason signing_key_error).
        answer = envelope["answer"]
        result_line, _, jws = answer.partition("\n")
        try:
            if jws.strip():
                parts = jws.strip().split(".")
                payload = base64.urlsafe_b64decode(parts[1] + "=" * (-len(parts[1]) % 4))
                if len(parts) != 3 or payload != result_line.encode():
                    return {"raw": answer}
            return json.loads(result_line)
        except (ValueError, IndexError):
            return {"raw": answer}

    def journal(self, unit_glob, lines=30):
        return self.out(f"journalctl --no-pager -o cat -n {lines} -u {shlex.quote(unit_glob)}",
                        check=False)

    def wait(self, predicate, timeout, interval=0.3):
        deadline = time.monotonic() + timeout
        while True:
            value = predicate()
            if value or time.monotonic() > deadline:
                return value
            time.sleep(interval)


def wait_for(predicate, timeout, interval=0.3):
    deadline = time.monotonic() + timeout
    while True:
        try:
            value = predicate()
        except (testkit.ApiError, OSError):
            value = None
        if value or time.monotonic() > deadline:
            return value
        time.sleep(interval)


# ---------------------------------------------------------------- packages, hub, tokens

def find_deb(package_dir):
    debs = sorted(f for f in os.listdir(package_dir)
                  if f.startswith("monsys-agent_") and f.endswith(".deb"))
    if not debs:
        raise RuntimeError(f"no monsys-agent_*.deb in {package_dir}")
    return os.path.join(package_dir, debs[-1])


def skip_reason():
    if os.geteuid() != 0:
        return "needs root (podman with systemd as PID 1)"
    for tool in ("podman", "mmdebstrap", "runc"):
        if not any(os.access(os.path.join(d, tool), os.X_OK)
                   for d in os.environ.get("PATH", "/usr/bin").split(":") + ["/usr/sbin"]):
            return f"{tool} is missing (scripts/install-deps.sh installs it)"
    return None


def main_of(suite_class, argv, usage):
    """The command line of a suite: its arguments are suite_class's; 77 when it cannot run here."""
    if len(argv) != suite_class.__init__.__code__.co_argcount - 1:
        print(usage, file=sys.stderr)
        return 2
    reason = skip_reason()
    if reason:
        print(f"SKIPPED: {reason}")
        return SKIP
    suite = suite_class(*argv)
    try:
        return suite.run()
    finally:
        suite.teardown()


def start_hub(workdir):
    """The reference hub on 127.0.0.1 with TLS, a 1 s liveness worker and a 5 s state interval
    (sent in welcome, so the agent's config can stay minimal)."""
    hub = testkit.HubProcess.create(os.path.join(workdir, "hub"),
                                    {AGENT_ID: secrets.token_urlsafe(24)}, tls=True,
                                    liveness_interval=1,
                                    extra_args=["--state-interval", "5"])
    return hub.start()


def minimal_config(hub):
    """The minimal /etc/monsys/agent.json: identity, hub and its keys; the rest is built in."""
    return {"agent_id": AGENT_ID, "issuer": hub.issuer, "hub_url": hub.ws_url,
            "hub_keys": {hub.kid: hub.public_key}, "hub_ca_file": "/etc/monsys/hub-ca.pem"}


def configure_agent(container, hub, config):
    container.copy_in(hub.ca_file, "/etc/monsys/hub-ca.pem")
    container.out("chown root:root /etc/monsys/hub-ca.pem && chmod 0644 /etc/monsys/hub-ca.pem")
    container.write_keep_owner("/etc/monsys/agent.json", json.dumps(config, indent=2) + "\n")
    container.write("/etc/monsys/agent.token", hub.agents[AGENT_ID] + "\n", mode="0600",
                    owner="monsys:monsys")


def mint(hub, app, ttl=120, **claims):
    """A token for AGENT_ID signed with the hub's key (tests/tools/mint_eat.py, PyJWT)."""
    key = mint_eat.load_private_key(hub.signing_key)
    base = mint_eat.default_claims(int(time.time()), ttl)
    base.update(iss=hub.issuer, sub=AGENT_ID, app=app, reason="PID 1 package test")
    base.update(claims)
    return mint_eat.mint(key, hub.kid, base), base["jti"]


def request(app_id, token):
    return f"restart-app {app_id}\n{token}\n"


def brief(result):
    """The parts of a wrapper result worth printing."""
    if not isinstance(result, dict):
        return repr(result)
    keys = ("status", "reason", "message", "wrapper_exit_code", "before", "after",
            "connect_error", "raw", "stdout", "stderr")
    return json.dumps({k: result[k] for k in keys if k in result and result[k] not in (None, "")})


def make_workdir(prefix):
    path = tempfile.mkdtemp(prefix=f"{prefix}.", dir="/tmp")
    os.chmod(path, 0o700)
    return path


# ---------------------------------------------------------------- signatures, checked independently

def b64url_decode(text):
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def jwk_thumbprint(jwk):
    """RFC 7638 for an OKP key: base64url (unpadded) of SHA-256 of the canonical members."""
    canonical = json.dumps({"crv": jwk["crv"], "kty": jwk["kty"], "x": jwk["x"]},
                           separators=(",", ":"), sort_keys=True)
    digest = hashlib.sha256(canonical.encode()).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def verify_compact_jws(jws, jwk, typ):
    """Checks a compact EdDSA JWS with python3-cryptography alone (none of the project's code):
    the header is exactly {alg, kid, typ} with kid the thumbprint of `jwk`, and the signature is
    valid. Returns (header, payload bytes); raises ValueError naming the problem."""
    from cryptography.exceptions import InvalidSignature
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
    parts = jws.strip().split(".")
    if len(parts) != 3:
        raise ValueError(f"not a compact JWS ({len(parts)} parts)")
    header = json.loads(b64url_decode(parts[0]))
    expected = {"alg": "EdDSA", "kid": jwk_thumbprint(jwk), "typ": typ}
    if header != expected:
        raise ValueError(f"header {header}, expected {expected}")
    if jwk.get("kty") != "OKP" or jwk.get("crv") != "Ed25519":
        raise ValueError(f"not an Ed25519 key: {jwk}")
    key = Ed25519PublicKey.from_public_bytes(b64url_decode(jwk["x"]))
    try:
        key.verify(b64url_decode(parts[2]), f"{parts[0]}.{parts[1]}".encode())
    except InvalidSignature:
        raise ValueError("the signature does not verify with the key") from None
    return header, b64url_decode(parts[1])
