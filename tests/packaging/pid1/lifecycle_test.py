#!/usr/bin/python3
"""The package's life cycle under a real systemd as PID 1 (docs/testing.md, "The PID 1
suite"): install an earlier build, configure it as an operator would (the shipped agent.json
with its nulls filled in), use it, upgrade to this build, then remove, then purge. Every check
prints `ok NAME` or `FAIL NAME` with details.

Usage: lifecycle_test.py PACKAGE_DIR PREVIOUS_COMMIT   (exit 0, 1, or 77 skipped)
PREVIOUS_COMMIT is built once with that commit's scripts/build-packages.sh and cached
(scripts/testenv/pid1.sh previous).
"""

import json
import re
import shutil
import sys
import time

from pid1_support import (AGENT_ID, Checks, Container, brief, find_deb, log,
                          make_workdir, mint, pid1, request, main_of, start_hub, wait_for,
                          KEEP)

DEMO_UNIT = "pid1-demo.service"
DEMO_UNIT_FILE = """[Unit]
Description=a tracked app of the PID 1 package test

[Service]
ExecStart=/usr/bin/sleep infinity
"""
HUB_DIR = "/var/lib/monsys/hub"
OLD_STORE = "/var/lib/monsys/eat"
NEW_STORE = "/var/lib/monsys-action"


def fill_in_shipped_config(text, hub):
    """What an operator does with the shipped /etc/monsys/agent.json: replace the nulls and the
    empty hub_keys, name the CA file; every other line (comments, the layout) stays."""
    values = {"agent_id": AGENT_ID, "issuer": hub.issuer, "hub_url": hub.ws_url}
    for name, value in values.items():
        text, n = re.subn(rf'"{name}":\s*null', f'"{name}": {json.dumps(value)}', text)
        if n != 1:
            raise AssertionError(f"the shipped agent.json has no '\"{name}\": null'")
    text, n = re.subn(r'"hub_keys":\s*\{[^{}]*\}',
                      f'"hub_keys": {json.dumps({hub.kid: hub.public_key})}', text)
    if n != 1:
        raise AssertionError("the shipped agent.json has no hub_keys object")
    text, n = re.subn(r'("hub_token_file":[^\n]*\n)',
                      r'\1  "hub_ca_file": "/etc/monsys/hub-ca.pem",\n', text)
    if n != 1:
        raise AssertionError("the shipped agent.json has no hub_token_file line")
    return text


class LifecycleSuite:
    def __init__(self, package_dir, previous_commit):
        self.deb = find_deb(package_dir)
        self.previous_commit = previous_commit
        self.previous_deb = None
        self.checks = Checks("PID 1 life-cycle suite")
        self.workdir = make_workdir("monsys-pid1-lifecycle")
        self.hub = None
        self.c = None

    def setup(self):
        t0 = time.monotonic()
        self.previous_deb = find_deb(pid1("previous", self.previous_commit, timeout=3600))
        log(f"previous build {self.previous_deb} ready in {time.monotonic() - t0:.1f} s")
        t0 = time.monotonic()
        image = pid1("image", self.deb, self.previous_deb)
        log(f"image {image} ready in {time.monotonic() - t0:.1f} s")
        self.hub = start_hub(self.workdir)
        self.c = Container(image, "monsys-pid1-lifecycle").start()
        log(f"container {self.c.name} booted in {self.c.boot_secs:.1f} s")
        self.c.copy_in(self.previous_deb, "/root/previous.deb")
        self.c.copy_in(self.deb, "/root/monsys-agent.deb")
        self.c.write(f"/etc/systemd/system/{DEMO_UNIT}", DEMO_UNIT_FILE)
        self.c.out(f"systemctl daemon-reload && systemctl start {DEMO_UNIT}")

    def teardown(self):
        if self.c is not None:
            if self.checks.failed:
                log("\n---- journal of monsys units in the container (last lines)")
                log(self.c.out("journalctl --no-pager -n 60 -u monsys-agent.service "
                               "-u 'monsys-action@*'", check=False))
            self.c.stop()
        if self.hub is not None:
            self.hub.kill()
        if not KEEP:
            shutil.rmtree(self.workdir, ignore_errors=True)

    def version(self, deb):
        return self.c.out(f"dpkg-deb -f {deb} Version")

    # ------------------------------------------------------------ the earlier build in use

    def check_previous_in_use(self):
        c = self.c
        proc = c.run("dpkg -i /root/previous.deb")
        if proc.returncode != 0:
            return False, (proc.stdout + proc.stderr)[-3000:]
        c.copy_in(self.hub.ca_file, "/etc/monsys/hub-ca.pem")
        c.out("chmod 0644 /etc/monsys/hub-ca.pem")
        shipped = c.out("cat /etc/monsys/agent.json")
        c.write_keep_owner("/etc/monsys/agent.json", fill_in_shipped_config(shipped, self.hub))
        c.write("/etc/monsys/agent.token", self.hub.agents[AGENT_ID] + "\n", mode="0600",
                owner="monsys:monsys")
        c.out("systemctl restart monsys-agent.service", check=False)
        if not wait_for(lambda: self.hub.agent(AGENT_ID)["connected"], 45):
            return False, "the earlier build's agent did not connect\n" + c.journal(
                "monsys-agent.service")
        self.app = self.hub.create_app(AGENT_ID, "demo", "systemd", DEMO_UNIT)
        if not wait_for(lambda: self.hub.app(self.app["id"])["observed"] == "running", 45):
            return False, f"the demo unit was never observed: {self.hub.app(self.app['id'])}"
        # A token used before the upgrade: after it, the same token must still be refused.
        self.used_token, self.used_jti = mint(self.hub, {"id": "app-upgrade", "type": "systemd",
                                                         "identifier": DEMO_UNIT}, ttl=290)
        answer = c.ask(request("app-upgrade", self.used_token))
        store = c.out(f"cat {OLD_STORE}/eat-replay.db", check=False)
        # The store keeps each jti as the hex of its bytes.
        self.used_jti_hex = self.used_jti.encode().hex()
        ok = answer.get("status") == "succeeded" and self.used_jti_hex in store
        return ok, f"{self.version('/root/previous.deb')}: {brief(answer)}; jti in " \
                   f"{OLD_STORE}/eat-replay.db: {self.used_jti_hex in store}"

    def snapshot(self):
        c = self.c
        files = {}
        listing = c.out(f"cd {HUB_DIR} && find . -type f | sort", check=False)
        for name in listing.split():
            files[name] = c.out(f"sha256sum {HUB_DIR}/{name} | cut -c1-64", check=False)
        return {
            "files": files,
            "seq": c.out(f"cat {HUB_DIR}/seq", check=False),
            "tracked": c.out(f"cat {HUB_DIR}/tracked-apps.json", check=False),
            "config": c.out("sha256sum /etc/monsys/agent.json /etc/monsys/agent.token",
                            check=False),
            "agent": c.show("monsys-agent.service", "ActiveState", "InvocationID", "MainPID"),
            "socket": c.show("monsys-action.socket", "ActiveState"),
        }

    # ------------------------------------------------------------ upgrade

    def check_upgrade(self):
        # The hub goes away first, so the outbox fills and stays (nothing acks it).
        self.hub.kill()
        self.c.wait(lambda: self.c.out(f"ls {HUB_DIR}/outbox", check=False), 20)
        self.before = self.snapshot()
        proc = self.c.run("dpkg --force-confold -i /root/monsys-agent.deb")
        self.upgrade_output = proc.stdout + proc.stderr
        log("     | " + "\n     | ".join(line for line in self.upgrade_output.splitlines()
                                         if "monsys" in line.lower()))
        self.after = self.snapshot()
        status = self.c.out("dpkg-query -W -f='${Status} ${Version}' monsys-agent", check=False)
        ok = proc.returncode == 0 and status.startswith("install ok installed")
        return ok, status if ok else (proc.stdout + proc.stderr)[-3000:]

    def check_keeps_config(self):
        ok = self.after["config"] == self.before["config"]
        modes = self.c.out("stat -c '%n %U:%G %a' /etc/monsys /etc/monsys/agent.json "
                           "/etc/monsys/agent.token", check=False)
        return ok, modes if ok else f"before {self.before['config']}\nafter {self.after['config']}"

    def check_keeps_agent_state(self):
        b, a = self.before, self.after
        problems = []
        outbox = {n: h for n, h in b["files"].items() if n.startswith("./outbox/")}

        def seq_kind(name):
            parts = name.split("/")[-1].split(".")
            return (int(parts[0]), parts[1]) if parts[0].isdigit() and len(parts) > 2 else (0, "")
        after_outbox = [seq_kind(n) for n in a["files"] if n.startswith("./outbox/")]
        # An entry is kept when it is still there unchanged, or when a newer message of its
        # kind replaced it (the agent keeps only the latest unsent state).
        lost = [n for n, h in outbox.items() if a["files"].get(n) != h and not any(
            kind == seq_kind(n)[1] and seq > seq_kind(n)[0] for seq, kind in after_outbox)]
        if lost:
            problems.append(f"outbox entries lost or changed: {lost}")
        # seq: the next number to give out first (then what the hub acked last).
        if not b["seq"] or not a["seq"] or int(a["seq"].split()[0]) < int(b["seq"].split()[0]):
            problems.append(f"seq {b['seq']!r} -> {a['seq']!r}")
        if not b["tracked"] or a["tracked"] != b["tracked"]:
            problems.append(f"tracked apps {b['tracked'][:200]!r} -> {a['tracked'][:200]!r}")
        return not problems, "\n".join(problems) if problems else \
            f"{len(outbox)} outbox entries, seq {b['seq']} -> {a['seq']}, tracked apps kept"

    def check_restarts_services(self):
        b = self.before["agent"]
        active = self.c.wait(lambda: self.c.out("systemctl is-active monsys-agent.service "
                                                "monsys-action.socket", check=False)
                             == "active\nactive", 20)
        now = self.c.show("monsys-agent.service", "InvocationID", "MainPID")
        ok = bool(active) and now["InvocationID"] != b["InvocationID"] and \
            b["ActiveState"] == "active"
        return ok, f"agent {b} -> {now}; socket {self.after['socket']}"

    def check_old_state_dir_step(self):
        # The operator's config still names the old store ("state_dir": "/var/lib/monsys/eat",
        # as the earlier package shipped it). The upgrade says so; the operator removes the line.
        warned = "state_dir" in self.upgrade_output
        self.c.out("sed -i '/\"state_dir\"/d' /etc/monsys/agent.json")
        check = self.c.run("monsys-agent check-config", user="monsys")
        ok = warned and check.returncode == 0
        return ok, f"warned: {warned}; check-config after removing the line: exit " \
                   f"{check.returncode} {(check.stdout + check.stderr).strip()[-400:]}"

    def check_replay_store_migrated(self):
        c = self.c
        store = c.out(f"cat {NEW_STORE}/eat-replay.db", check=False)
        owner = c.out(f"stat -c '%U:%G %a' {NEW_STORE} {NEW_STORE}/eat-replay.db", check=False)
        old_left = c.run(f"test -e {OLD_STORE}").returncode == 0
        pid0 = c.show(DEMO_UNIT, "MainPID")["MainPID"]
        answer = c.ask(request("app-upgrade", self.used_token))
        pid1_ = c.show(DEMO_UNIT, "MainPID")["MainPID"]
        problems = []
        if self.used_jti_hex not in store:
            problems.append(f"the pre-upgrade jti is not in {NEW_STORE}/eat-replay.db ({owner})")
        if answer.get("status") != "rejected" or answer.get("reason") != "replayed":
            problems.append(f"the pre-upgrade token again: {brief(answer)}")
        if pid1_ != pid0:
            problems.append(f"the unit was restarted again: MainPID {pid0} -> {pid1_}")
        if old_left:
            problems.append(f"{OLD_STORE} still exists")
        return not problems, "\n".join(problems) if problems else f"{owner}; replay: {brief(answer)}"

    def check_works_after_upgrade(self):
        self.hub.start()
        token, _ = mint(self.hub, {"id": "app-after", "type": "systemd",
                                   "identifier": DEMO_UNIT})
        answer = self.c.ask(request("app-after", token))
        max_old = max((int(n.split("/")[-1].split(".")[0]) for n in self.before["files"]
                       if n.startswith("./outbox/") and n.split("/")[-1].split(".")[0].isdigit()),
                      default=0)
        delivered = wait_for(lambda: (self.hub.agent(AGENT_ID).get("max_seq") or 0) >= max_old
                             and self.hub.agent(AGENT_ID)["connected"], 45)
        ok = answer.get("status") == "succeeded" and bool(delivered)
        return ok, f"restart: {brief(answer)}; hub max_seq " \
                   f"{self.hub.agent(AGENT_ID).get('max_seq')} (kept outbox up to {max_old})"

    # ------------------------------------------------------------ remove and purge

    def check_remove(self):
        c = self.c
        proc = c.run("dpkg -r monsys-agent")
        problems = [] if proc.returncode == 0 else [(proc.stdout + proc.stderr)[-2000:]]
        states = c.out("systemctl is-active monsys-agent.service monsys-action.socket",
                       check=False).split()
        if any(s == "active" for s in states):
            problems.append(f"units still active: {states}")
        links = c.out("ls /etc/systemd/system/*.wants/ | grep monsys", check=False)
        if links:
            problems.append(f"still enabled: {links}")
        for path in ("/etc/monsys/agent.json", "/etc/monsys/agent.token", f"{HUB_DIR}/seq",
                     f"{HUB_DIR}/tracked-apps.json", f"{NEW_STORE}/eat-replay.db"):
            if c.run(f"test -e {path}").returncode != 0:
                problems.append(f"{path} is gone")
        if c.run("getent passwd monsys && getent passwd monsys-action").returncode != 0:
            problems.append("the users are gone")
        procs = c.out("pgrep -u monsys,monsys-action -a", check=False)
        if procs:
            problems.append(f"processes left: {procs}")
        return not problems, "\n".join(problems) if problems else f"units {states}"

    def check_purge(self):
        c = self.c
        proc = c.run("dpkg -P monsys-agent")
        problems = [] if proc.returncode == 0 else [(proc.stdout + proc.stderr)[-2000:]]
        for path in ("/etc/monsys", "/var/lib/monsys", NEW_STORE, "/run/monsys-restart",
                     "/usr/share/polkit-1/rules.d/50-monsys-action.rules",
                     "/usr/libexec/monsys", "/usr/bin/monsys-agent"):
            if c.run(f"test -e {path}").returncode == 0:
                problems.append(f"{path} is still there")
        # systemd made /run/monsys for the socket (DirectoryMode=) and leaves it, empty, until
        # the next boot; anything in it is a leftover.
        notes = []
        run_dir = c.out("stat -c '%U:%G %a' /run/monsys && ls -A /run/monsys", check=False)
        if run_dir:
            lines = run_dir.splitlines()
            if len(lines) > 1:
                problems.append(f"/run/monsys still holds {lines[1:]}")
            else:
                notes.append(f"empty /run/monsys ({lines[0]}) left until reboot")
        for kind, name in (("passwd", "monsys"), ("passwd", "monsys-action"),
                           ("group", "monsys"), ("group", "monsys-action")):
            if c.run(f"getent {kind} {name}").returncode == 0:
                problems.append(f"{kind} {name} is still there")
        left = c.out("find /etc/systemd /var/lib/systemd -name '*monsys*'; "
                     "dpkg-statoverride --list | grep monsys", check=False)
        if left:
            problems.append(f"left over: {left}")
        units = c.out("systemctl list-units --all --no-legend 'monsys*'", check=False)
        if units:
            problems.append(f"units still loaded: {units}")
        return not problems, "\n".join(problems or notes)

    def run(self):
        ch = self.checks
        try:
            self.setup()
        except Exception as error:  # noqa: BLE001
            ch.record("setup: image, hub and container", False, str(error))
            return ch.finish()
        if not ch.run("previous: the earlier build installed, configured, restarts a unit",
                      self.check_previous_in_use):
            return ch.finish()
        if ch.run("upgrade: dpkg -i of this build over the earlier one", self.check_upgrade):
            ch.run("upgrade: keeps config and token", self.check_keeps_config)
            ch.run("upgrade: keeps outbox, sequence and tracked apps",
                   self.check_keeps_agent_state)
            ch.run("upgrade: restarts the services", self.check_restarts_services)
            ch.run("upgrade: warns about the kept state_dir; check-config passes without it",
                   self.check_old_state_dir_step)
            ch.run("upgrade: the replay store moves to /var/lib/monsys-action and still "
                   "refuses the token used before", self.check_replay_store_migrated)
            ch.run("upgrade: restarts work afterwards; the kept outbox reaches the hub",
                   self.check_works_after_upgrade)
        ch.run("remove: units stopped and disabled, config and state kept", self.check_remove)
        ch.run("purge: config, state, users and units gone", self.check_purge)
        return ch.finish()


if __name__ == "__main__":
    sys.exit(main_of(LifecycleSuite, sys.argv[1:], __doc__))
