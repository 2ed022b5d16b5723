#!/usr/bin/env python3
"""Writes the seed corpora of the fuzz targets, tests/fuzz/corpus/<target>/, from the fixtures
the tests already use (tests/fixtures, docs/protocol.md's examples, packaging's config files).

Run from anywhere: /usr/bin/python3 tests/fuzz/make_corpus.py. The output is checked in; run it
again when fixtures change. Each target's input format is described at the top of its
tests/fuzz/<target>_fuzz.cpp; this script follows those formats.
"""
import base64
import glob
import hashlib
import json
import os
import re
import shutil
import struct

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
FIXTURES = os.path.join(ROOT, "tests", "fixtures")
CORPUS = os.path.join(ROOT, "tests", "fuzz", "corpus")
MAX_SEED = 64 * 1024


def read(*parts):
    with open(os.path.join(*parts), "rb") as f:
        return f.read()


def fixture(path):
    return read(FIXTURES, path)


class Corpus:
    def __init__(self, target):
        self.dir = os.path.join(CORPUS, target)
        shutil.rmtree(self.dir, ignore_errors=True)
        os.makedirs(self.dir)

    def add(self, name, data):
        if isinstance(data, str):
            data = data.encode()
        data = data[:MAX_SEED]
        name = re.sub(r"[^A-Za-z0-9._-]", "_", name)
        with open(os.path.join(self.dir, name), "wb") as f:
            f.write(data)


def files_under(top, name_pattern):
    """Regular files under top whose name matches, without following symbolic links (the /proc
    fixture trees link to places outside the tree)."""
    found = []
    for directory, subdirs, files in os.walk(top):
        subdirs.sort()
        for name in sorted(files):
            path = os.path.join(directory, name)
            if re.fullmatch(name_pattern, name) and os.path.isfile(path) and not os.path.islink(path):
                found.append(path)
    return found


def b64url_decode(part):
    return base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))


def fixture_tokens():
    tokens = json.loads(fixture("eat/tokens.json"))["tokens"]
    return {name: entry["token"] for name, entry in tokens.items() if isinstance(entry.get("token"), str)}


def protocol_examples():
    doc = read(ROOT, "docs", "protocol.md").decode()
    return re.findall(r"```json\n(.*?)```", doc, re.S)


def capped_json():
    c = Corpus("capped_json")
    for path in files_under(FIXTURES, r".*\.json"):
        data = read(path)
        if len(data) < MAX_SEED:
            c.add(os.path.relpath(path, FIXTURES), b"\x00" + data)
    c.add("agent.json", b"\x04" + read(ROOT, "packaging", "agent.json"))
    c.add("comment_quotes", b'\x04/* " */ [[1]] // "\n')
    c.add("shallow_limit", b"\x01" + b'{"a":[{"b":[1]}]}')
    c.add("duplicates_allowed", b'\x02{"a":1,"a":2}')


def eat_token():
    c = Corpus("eat_token")
    for name, token in fixture_tokens().items():
        c.add(name, token)


def eat_claims():
    c = Corpus("eat_claims")
    for name, token in fixture_tokens().items():
        parts = token.split(".")
        if len(parts) < 2:
            continue
        try:
            header, payload = b64url_decode(parts[0]), b64url_decode(parts[1])
        except Exception:
            continue
        if b"\n" in header:
            continue
        c.add(name, header + b"\n" + payload)


def app_identifier():
    c = Corpus("app_identifier")
    samples = [(0, "nginx.service"), (0, "getty@tty1.service"), (0, "foo\\x2dbar.mount"),
               (1, "web1"), (1, "0123456789ab"), (2, "shop::web"), (2, "flowd_dev::app.1"),
               (3, "/opt/accapp/run"), (3, "/usr/local/bin/x"), (0, "app-1"), (1, "a:b@c")]
    for i, (mode, text) in enumerate(samples):
        c.add("%02d" % i, bytes([mode]) + text.encode())


def config():
    c = Corpus("config")
    c.add("packaged", read(ROOT, "packaging", "agent.json"))
    keys = json.loads(fixture("eat/keys.json"))
    c.add("minimal", json.dumps({
        "agent_id": "agent-test", "issuer": "monsys-hub", "hub_url": "wss://hub.example:8443/agent",
        "hub_keys": {k: v["public_key"] for k, v in keys.items() if v["pinned"]},
        "systemd_bus": "user", "tags": ["web", "eu"], "observe_events": False}, indent=1))


def policy():
    c = Corpus("policy")
    c.add("example", read(ROOT, "packaging", "policy.example.json"))
    c.add("narrow", '{"allowed_types": ["systemd"], "denied_units": ["ng*x.service", "[a-c]*"]}')


def proc_stat():
    c = Corpus("proc_stat")
    for path in files_under(os.path.join(FIXTURES, "inventory"), "stat"):
        c.add(os.path.relpath(path, FIXTURES), read(path))
    c.add("comm_with_parens", b"42 (a) b) (c) S 1 42 42 0 -1 4194560 0 0 0 0 0 0 0 0 20 0 1 0 4242 1000 100 0")


def proc_status():
    c = Corpus("proc_status")
    for pattern in ("*/proc/*/status", "*/etc/passwd", "*/proc/self/mountinfo"):
        for path in sorted(glob.glob(os.path.join(FIXTURES, "inventory", pattern))):
            c.add(os.path.relpath(path, FIXTURES), read(path))


def proc_net():
    c = Corpus("proc_net")
    modes = {"tcp": 0, "udp": 1, "tcp6": 2, "udp6": 3}
    for path in sorted(glob.glob(os.path.join(FIXTURES, "inventory", "*", "proc", "net", "*"))):
        table = os.path.basename(path)
        if table in modes:
            c.add(os.path.relpath(path, FIXTURES), bytes([modes[table]]) + read(path))


def dpkg_status():
    c = Corpus("dpkg_status")
    for path in sorted(glob.glob(os.path.join(FIXTURES, "inventory", "*", "var", "lib", "dpkg", "status"))):
        c.add(os.path.relpath(path, FIXTURES), read(path))
    c.add("rpm", b"bash\t0:5.2.15-3.el9\tx86_64\nkernel\t1:6.1-1\tx86_64\n")


def docker_containers():
    c = Corpus("docker_containers")
    for path in sorted(glob.glob(os.path.join(FIXTURES, "docker", "*", "*.json")) +
                       glob.glob(os.path.join(FIXTURES, "inventory", "docker", "*.json"))):
        name = os.path.basename(path)
        mode = 0 if name.startswith(("list", "containers")) else 1 if name.startswith("inspect") else 2
        c.add(os.path.relpath(path, FIXTURES), bytes([mode]) + read(path))


def docker_version():
    c = Corpus("docker_version")
    body = fixture("docker/podman-4.3.1/version.json")
    for path in sorted(glob.glob(os.path.join(FIXTURES, "docker", "*", "*.headers"))):
        version = re.search(rb"(?im)^Api-Version:\s*(\S+)", read(path))
        c.add(os.path.relpath(path, FIXTURES), (version.group(1) if version else b"") + b"\n" + body)


def docker_events():
    c = Corpus("docker_events")
    for path in sorted(glob.glob(os.path.join(FIXTURES, "docker", "*", "events*.jsonl"))):
        c.add(os.path.relpath(path, FIXTURES), b"\x07" + read(path))
        c.add(os.path.relpath(path, FIXTURES) + ".small_cap", b"\x80" + read(path))


def hub_message():
    c = Corpus("hub_message")
    for i, example in enumerate(protocol_examples()):
        c.add("protocol_%02d" % i, example.strip())
    token = fixture_tokens()["valid"]
    c.add("action", json.dumps({"type": "action", "eat": token}))


def connection_request():
    c = Corpus("connection_request")
    c.add("valid", "restart-app app-1\n%s\n" % fixture_tokens()["valid"])
    c.add("crlf", "restart-app web.1\r\nabc.def.ghi\r\n")


def proxy():
    c = Corpus("proxy")
    # mode 0: the proxy's reply to CONNECT
    c.add("reply_200", b"\x00HTTP/1.1 200 Connection established\r\n\r\n")
    c.add("reply_407", b"\x00HTTP/1.0 407 Proxy Authentication Required\r\n"
          b"Proxy-Authenticate: Basic realm=\"tinyproxy\"\r\nContent-Length: 0\r\n\r\n")
    c.add("reply_bare_lf", b"\x00HTTP/1.1 403 Forbidden\nServer: x\n\n")
    # modes 1 and 2: a proxy URL (hub_proxy; the environment, where the scheme is optional)
    c.add("url_credentials", b"\x01http://ops:p%40ss%3Aw0rd@proxy.example.net:3128/")
    c.add("url_ipv6", b"\x01http://[fd00::1]:8080")
    c.add("url_env_no_scheme", b"\x02proxy.internal:3128")
    # mode 3: no_proxy NUL host
    c.add("no_proxy", b"\x03localhost, .example.com,10.0.0.0/8 [fd00::]/8:443\0hub.example.com")


def sdbus_reply():
    c = Corpus("sdbus_reply")

    def text(s):
        b = s.encode()[:255]
        return bytes([len(b)]) + b

    def seed(name, decoder, signature, values):
        c.add(name, bytes([decoder]) + signature.encode() + b"\0" + values)

    units = json.loads(fixture("inventory/dbus/list_units.json"))["data"][0][:255]
    values = bytes([len(units)])
    for u in units:
        values += b"".join(text(s) for s in u[:7]) + struct.pack("<I", u[7]) + text(u[8]) + text(u[9])
    seed("list_units", 0, "a(ssssssouso)", values)
    seed("units_by_names", 2, "a(ssssssouso)", values)
    files = json.loads(fixture("inventory/dbus/list_unit_files.json"))["data"][0][:255]
    seed("list_unit_files", 1, "a(ss)", bytes([len(files)]) + b"".join(text(p) + text(s) for p, s in files))
    seed("job_removed", 3, "uoss", struct.pack("<I", 7) + text("/org/freedesktop/systemd1/job/7") +
         text("web.service") + text("done"))
    seed("properties_changed", 4, "sa{sv}as", text("org.freedesktop.systemd1.Unit") + bytes([2]) +
         text("ActiveState") + bytes([0]) + text("active") + text("SubState") + bytes([0]) + text("running") +
         bytes([1]) + text("MainPID"))
    seed("unit_new", 5, "so", text("web.service") + text("/org/freedesktop/systemd1/unit/web_2eservice"))
    seed("reloading", 6, "b", bytes([1]))
    seed("strings", 7, "as", bytes([3]) + text("a") + text("b") + text("c"))
    seed("dictionary_keys", 8, "a{sv}", bytes([2]) + text("Id") + bytes([0]) + text("x") + text("Names") +
         bytes([4]) + bytes([1]) + text("x"))


if __name__ == "__main__":
    for make in (capped_json, eat_token, eat_claims, app_identifier, config, policy, proc_stat,
                 proc_status, proc_net, dpkg_status, docker_containers, docker_version,
                 docker_events, hub_message, connection_request, proxy, sdbus_reply):
        make()
    for target in sorted(os.listdir(CORPUS)):
        print("%-20s %d seeds" % (target, len(os.listdir(os.path.join(CORPUS, target)))))
