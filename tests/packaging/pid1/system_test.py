#!/usr/bin/python3
"""The installed package under a real systemd as PID 1 (docs/testing.md, "The PID 1 suite"):
the sandboxed agent service against the reference hub, restarts through monsys-action.socket,
monsys-action@, polkit and systemd, the refusals on the trust boundary, and process apps of
root. One container, one hub; every check prints `ok NAME` or `FAIL NAME` with details.

Usage: system_test.py PACKAGE_DIR        (exit 0 passed, 1 a check failed, 77 skipped)
"""

import json
import os
import re
import shlex
import shutil
import sys
import time

from pid1_support import (AGENT_ID, Checks, Container, SOURCE_DIR, brief, configure_agent,
                          find_deb, jwk_thumbprint, log, make_workdir, minimal_config, mint,
                          pid1, request, main_of, start_hub, verify_compact_jws, wait_for, KEEP)

DEMO_UNIT = "pid1-demo.service"
DEMO_UNIT_FILE = """[Unit]
Description=a tracked app of the PID 1 package test

[Service]
ExecStart=/usr/bin/sleep infinity
"""

# Every unit a hub-signed token must not restart, with why it is dangerous. Poweroff comes last:
# if it were obeyed, the container would be gone for every check after it.
DANGEROUS_UNITS = [
    ("debug-shell.service", "a root shell on tty9"),
    ("dbus-org.freedesktop.login1.service", "an alias of systemd-logind.service"),
    ("rescue.service", "single-user mode"),
    ("getty@.service", "a template without instance"),
    ("system.slice", "a slice: restarting it stops every service"),
    ("sys-kernel-debug.mount", "a mount unit"),
    ("poweroff.target", "powers the host off"),
]

ACCAPP_LOOP = "#!/bin/sh\nwhile :; do sleep 1; done\n"
# Kills the app and starts a new one in the background; the new one must outlive the restart
# unit's start job and monsys-action@ (monsys-restart@.service keeps its cgroup).
ACCAPP_RESTART = """#!/bin/sh
for pid in $(pgrep -f '^/opt/accapp/run( |$)'); do kill "$pid"; done
sleep 0.2
setsid /opt/accapp/run infinity </dev/null >/dev/null 2>&1 &
echo "accapp restarted"
exit 0
"""
ACCAPP_RESTART_LOOP = """#!/bin/sh
for pid in $(pgrep -f '^/bin/sh /opt/accapp/loop.sh'); do kill "$pid"; done
setsid /bin/sh /opt/accapp/loop.sh </dev/null >/dev/null 2>&1 &
exit 0
"""
KEY_DIR = "/var/lib/monsys-action"
RESULT_TYP = "monsys-action-result+jws"
ROTATION_TYP = "monsys-action-key-rotation+jws"


def documented_message_ids():
    """The MESSAGE_IDs docs/logging.md lists, by event name: the check holds the journal to the
    documentation, not to the code's own table."""
    with open(os.path.join(SOURCE_DIR, "docs", "logging.md"), encoding="utf-8") as f:
        text = f.read()
    return dict(re.findall(r"^\| `([a-z_]+)` \| `([0-9a-f]{32})` \|", text, re.M))


POLICY = {"restart_commands": {"accapp": {"app": "/opt/accapp/run",
                                          "command": "/opt/accapp/restart", "user": "root"}}}


class SystemSuite:
    def __init__(self, package_dir):
        self.deb = find_deb(package_dir)
        self.checks = Checks("PID 1 system suite")
        self.workdir = make_workdir("monsys-pid1-system")
        self.hub = None
        self.c = None
        self.apps = {}

    # ------------------------------------------------------------ set-up

    def setup(self):
        t0 = time.monotonic()
        image = pid1("image", self.deb)
        log(f"image {image} ready in {time.monotonic() - t0:.1f} s")
        self.hub = start_hub(self.workdir)
        self.c = Container(image, "monsys-pid1-system").start()
        log(f"container {self.c.name} booted in {self.c.boot_secs:.1f} s "
            f"({self.c.system_state()})")
        self.baseline_state = self.c.system_state()
        self.c.copy_in(self.deb, "/root/monsys-agent.deb")
        self.c.write(f"/etc/systemd/system/{DEMO_UNIT}", DEMO_UNIT_FILE)
        self.c.out(f"systemctl daemon-reload && systemctl start {DEMO_UNIT}")

    def teardown(self):
        if self.c is not None:
            if self.checks.failed:
                log("\n---- journal of monsys units in the container (last lines)")
                log(self.c.out("journalctl --no-pager -n 80 -u monsys-agent.service "
                               "-u 'monsys-action@*' -u 'monsys-restart@*' -u polkit.service",
                               check=False))
            self.c.stop()
        if self.hub is not None:
            if self.checks.failed:
                log("\n---- hub log (last lines)\n" + self.hub.log_tail(40))
            self.hub.kill()
        if not KEEP:
            shutil.rmtree(self.workdir, ignore_errors=True)
        else:
            log(f"(keeping {self.workdir})")

    # ------------------------------------------------------------ 1. the agent service

    def check_install(self):
        proc = self.c.run("dpkg -i /root/monsys-agent.deb")
        ok = proc.returncode == 0 and self.c.out("dpkg-query -W -f='${Status}' monsys-agent",
                                                 check=False) == "install ok installed"
        return ok, (proc.stdout + proc.stderr)[-3000:] if not ok else ""

    def check_agent_runs(self):
        configure_agent(self.c, self.hub, minimal_config(self.hub))
        self.c.out("systemctl restart monsys-agent.service", check=False)
        active = self.c.wait(lambda: self.c.out("systemctl is-active monsys-agent.service",
                                                check=False) == "active", 30)
        props = self.c.show("monsys-agent.service", "ActiveState", "SubState", "MainPID",
                            "NRestarts")
        user = self.c.out(f"ps -o user= -p {props['MainPID']}", check=False)
        ok = bool(active) and user == "monsys"
        return ok, f"{props}, user {user!r}" + ("" if ok else "\n" + self.c.journal(
            "monsys-agent.service"))

    def check_agent_connects(self):
        connected = wait_for(lambda: self.hub.agent(AGENT_ID)["connected"], 45)
        if not connected:
            return False, "not connected to the hub after 45 s\n" + self.c.journal(
                "monsys-agent.service")
        hello = self.hub.agent(AGENT_ID).get("hello") or {}
        return True, f"hello from {hello.get('hostname')}, version {hello.get('version')}"

    def check_sandbox(self):
        # The unit's mount-namespace options are in force (systemd silently skips them without
        # CAP_SYS_ADMIN): in the agent's own mount table /usr and /etc are read-only
        # (ProtectSystem=strict) and /home is covered (ProtectHome=yes). Read as user monsys,
        # which may read its own process's mountinfo.
        pid = self.c.show("monsys-agent.service", "MainPID")["MainPID"]
        proc = self.c.run(f"cat /proc/{pid}/mountinfo", user="monsys")
        mounts = {}
        for line in proc.stdout.splitlines():
            fields = line.split()
            if len(fields) > 6:
                mounts[fields[4]] = fields[5].split(",")

        def covering(path):
            best = max((m for m in mounts if path == m or path.startswith(m.rstrip("/") + "/")
                        or m == "/"), key=len, default=None)
            return best, mounts.get(best, [])
        problems = []
        for path in ("/usr", "/etc"):
            mount, options = covering(path)
            if "ro" not in options:
                problems.append(f"{path} is writable in the agent's namespace (mount {mount}: "
                                f"{options})")
        if "/home" not in mounts:
            problems.append("no mount over /home in the agent's namespace")
        if pid <= 0 or proc.returncode != 0 or not mounts:
            problems.append(f"cannot read the agent's mountinfo: {proc.stderr.strip()}")
        return not problems, "\n".join(problems) if problems else \
            f"/usr {covering('/usr')}, /etc {covering('/etc')}, /home {mounts.get('/home')}"

    # ------------------------------------------------------------ 2. a restart the real way

    def check_stopped_unit_alerts(self):
        app = self.hub.create_app(AGENT_ID, "demo", "systemd", DEMO_UNIT)
        self.apps["demo"] = app
        if not wait_for(lambda: self.hub.app(app["id"])["observed"] == "running", 45):
            return False, f"never observed running: {self.hub.app(app['id'])}"
        self.demo_first_pid = self.c.show(DEMO_UNIT, "MainPID")["MainPID"]
        self.c.out(f"systemctl stop {DEMO_UNIT}")
        if not wait_for(lambda: self.hub.app(app["id"])["observed"] == "stopped", 45):
            return False, f"never observed stopped: {self.hub.app(app['id'])}"
        alert = wait_for(lambda: [a for a in self.hub.alerts() if a.get("app_id") == app["id"]],
                         30)
        return bool(alert), (alert[0].get("message") if alert else
                             f"no alert: {self.hub.app(app['id'])}")

    def check_totp_restart(self):
        app = self.apps["demo"]
        jti = self.hub.restart(app["id"], "PID 1 test: the tracked unit is down")["jti"]
        record = wait_for(lambda: self.hub.result(jti), 60)
        if not record:
            return False, f"no result for {jti}: {self.hub.action(jti)}"
        self.totp_jti, self.totp_record = jti, record
        result = record["result"]
        audit = [e for e in self.hub.audit("restart.result") if e.get("jti") == jti]
        props = self.c.show(DEMO_UNIT, "ActiveState", "MainPID")
        before = (result.get("before") or {}).get("MainPID")
        after = (result.get("after") or {}).get("MainPID")
        journal = self.c.journal("monsys-action@*", 10)
        problems = []
        if result.get("status") != "succeeded":
            problems.append(f"status {result.get('status')}: {brief(result)}")
        if record.get("reported_by") != "monsys-action":
            problems.append(f"reported_by {record.get('reported_by')}")
        if not audit:
            problems.append("no restart.result in the hub's audit log")
        elif (audit[0].get("result") or {}).get("after", {}).get("MainPID") != after:
            problems.append(f"the audit entry differs from the result: {audit[0]}")
        if not after or after == before:
            problems.append(f"MainPID not changed in the evidence: {before} -> {after}")
        if props["ActiveState"] != "active" or props["MainPID"] != after or \
                props["MainPID"] == self.demo_first_pid:
            problems.append(f"systemctl show: {props} (first pid {self.demo_first_pid}, "
                            f"evidence {after})")
        if not journal.strip():
            problems.append("no monsys-action@ instance in the journal")
        return not problems, "\n".join(problems) if problems else (
            f"MainPID {before} -> {after}, {result.get('stdout')!r}")


    # ------------------------------------------------------------ 2b. the host's signature

    def key_document(self):
        return json.loads(self.c.out(f"cat {KEY_DIR}/action-key.json"))

    def check_action_key_files(self):
        # What the postinst made: the secret for monsys-action alone, the public document
        # readable by the agent's group; the agent reported it and the hub pinned it.
        problems = []
        modes = {name: self.c.out(f"stat -c '%U:%G %a' {KEY_DIR}/{name}", check=False)
                 for name in ("action-key.secret", "action-key.json")}
        if not re.fullmatch(r"monsys-action:\S+ 600", modes["action-key.secret"]):
            problems.append(f"action-key.secret is {modes['action-key.secret']!r}, "
                            "expected monsys-action, 0600")
        if modes["action-key.json"] != "monsys-action:monsys 640":
            problems.append(f"action-key.json is {modes['action-key.json']!r}, "
                            "expected monsys-action:monsys 0640")
        secret = self.c.run(f"cat {KEY_DIR}/action-key.secret", user="monsys")
        if secret.returncode == 0 or "Permission denied" not in secret.stderr:
            problems.append(f"user monsys reading the secret: exit {secret.returncode}, "
                            f"{(secret.stdout + secret.stderr).strip()[:200]!r}")
        public = self.c.run(f"cat {KEY_DIR}/action-key.json", user="monsys")
        if public.returncode != 0:
            problems.append(f"user monsys cannot read the public document: {public.stderr}")
        doc = self.key_document()
        if doc.get("kid") != jwk_thumbprint(doc.get("jwk") or {"crv": "", "kty": "", "x": ""}):
            problems.append(f"kid is not the thumbprint of jwk: {doc}")
        pinned = wait_for(lambda: (self.hub.agent(AGENT_ID).get("action_key") or {}).get("kid"),
                          10)
        if pinned != doc.get("kid"):
            problems.append(f"the hub pinned {pinned!r}, the host's key is {doc.get('kid')!r}")
        self.first_key = doc
        return not problems, "\n".join(problems) if problems else \
            f"secret {modes['action-key.secret']}, public {modes['action-key.json']}, " \
            f"kid {doc['kid'][:12]}... pinned by the hub"

    def check_result_signature(self):
        # The TOTP restart's evidence as the hub filed it: the JWS the agent relayed verifies with
        # the host's public key (python3-cryptography, none of the project's code), and its
        # payload is the result the hub filed.
        record, doc = self.totp_record, self.first_key
        jws = record.get("result_jws")
        if not jws:
            return False, f"the hub's record has no result_jws: {brief(record)}"
        _, payload = verify_compact_jws(jws, doc["jwk"], RESULT_TYP)
        problems = []
        if json.loads(payload) != record["result"]:
            problems.append(f"payload {payload[:300]!r} differs from the filed result")
        if b"\n" in payload:
            problems.append("the payload is not one line")
        signature = record.get("signature") or {}
        if signature.get("status") != "verified" or signature.get("kid") != doc["kid"]:
            problems.append(f"the hub filed the signature as {signature}")
        return not problems, "\n".join(problems) if problems else \
            f"{len(payload)} payload bytes verify with kid {doc['kid'][:12]}..."

    def signed_answer(self, app_id, jwk):
        """A restart straight through the socket: (result dict, problems)."""
        token, jti = mint(self.hub, {"id": app_id, "type": "systemd", "identifier": DEMO_UNIT})
        envelope = self.c.ask_envelope(request(app_id, token))
        answer = envelope.get("answer", "")
        lines = answer.split("\n")
        if len(lines) < 2 or not lines[1].strip():
            return None, [f"no JWS line in monsys-action's answer: {envelope}"]
        try:
            _, payload = verify_compact_jws(lines[1], jwk, RESULT_TYP)
        except ValueError as error:
            return None, [f"the answer's JWS: {error}"]
        if payload != lines[0].encode():
            return None, [f"the JWS payload is not the result line: {payload[:200]!r}"]
        result = json.loads(lines[0])
        if result.get("jti") != jti or result.get("status") != "succeeded":
            return result, [f"result: {brief(result)}"]
        return result, []

    def check_rotate_key(self):
        old = self.first_key
        proc = self.c.run("/usr/libexec/monsys/monsys-action rotate-key")
        if proc.returncode != 0:
            return False, f"rotate-key exited {proc.returncode}: {proc.stderr}"
        new = self.key_document()
        problems = []
        if new["kid"] == old["kid"] or new["kid"] != jwk_thumbprint(new["jwk"]):
            problems.append(f"new key {new['kid']!r} (old {old['kid']!r})")
        statements = new.get("rotations") or []
        if not statements:
            return False, f"no rotation statement: {new}"
        # The last statement is signed by the old key and names the new one.
        try:
            _, payload = verify_compact_jws(statements[-1], old["jwk"], ROTATION_TYP)
            named = json.loads(payload)
            if (named.get("old_kid"), named.get("new_kid"), named.get("new_jwk")) != \
                    (old["kid"], new["kid"], new["jwk"]):
                problems.append(f"the statement names {named}")
        except ValueError as error:
            problems.append(f"the rotation statement: {error}")
        mode = self.c.out(f"stat -c '%U %a' {KEY_DIR}/action-key.secret", check=False)
        if mode != "monsys-action 600":
            problems.append(f"after the rotation the secret is {mode!r}")
        # Results are now signed with the new key, and only with it.
        _, answer_problems = self.signed_answer("app-rotated", new["jwk"])
        problems += answer_problems
        # The agent reports the new key on its next connection; the hub follows the statement
        # from the pinned key without being re-pinned.
        self.c.out("systemctl restart monsys-agent.service", check=False)
        followed = wait_for(lambda: [e for e in self.hub.audit("agent.action_key_rotated")
                                     if e.get("to_kid") == new["kid"]], 45)
        if not followed:
            problems.append("the hub did not follow the rotation: " +
                            json.dumps(self.hub.audit("agent.action_key_mismatch"))[:300])
        return not problems, "\n".join(problems) if problems else \
            f"{old['kid'][:12]}... -> {new['kid'][:12]}..., statement verified, hub followed"

    # ------------------------------------------------------------ 2c. one restart in the journal

    def check_journal_fields(self):
        # `journalctl MONSYS_JTI=<jti>` tells the TOTP restart's story from both programs, with
        # the MESSAGE_IDs docs/logging.md lists and the app's id, type and status.
        jti, app_id = self.totp_jti, self.apps["demo"]["id"]
        ids = documented_message_ids()
        wanted = {"action_accepted", "action_result"}
        if not wanted <= set(ids):
            return False, f"docs/logging.md lists {sorted(ids)}"
        by_id = {v: k for k, v in ids.items()}
        def read_entries():
            text = self.c.out(f"journalctl --no-pager -o json MONSYS_JTI={shlex.quote(jti)}",
                              check=False)
            return [json.loads(line) for line in text.splitlines() if line.strip()]

        def both_programs_done():
            # journald may file the last lines a moment after the hub has the result
            entries = read_entries()
            done = {(e.get("SYSLOG_IDENTIFIER"), by_id.get(e.get("MESSAGE_ID"))) for e in entries}
            return entries if {("monsys-agent", "action_result"),
                               ("monsys-action", "action_result")} <= done else None
        entries = self.c.wait(both_programs_done, 15) or read_entries()
        seen = {}
        problems = []
        for entry in entries:
            program = entry.get("SYSLOG_IDENTIFIER") or entry.get("_COMM")
            event = by_id.get(entry.get("MESSAGE_ID"))
            seen.setdefault(program, set()).add(event)
            if entry.get("_COMM") != program:
                problems.append(f"SYSLOG_IDENTIFIER {program!r} but _COMM {entry.get('_COMM')!r}")
            if entry.get("MONSYS_APP_ID") != app_id or entry.get("MONSYS_APP_TYPE") != "systemd":
                problems.append(f"{program} {event}: app {entry.get('MONSYS_APP_ID')!r} "
                                f"type {entry.get('MONSYS_APP_TYPE')!r}")
            if event == "action_result" and entry.get("MONSYS_STATUS") != "succeeded":
                problems.append(f"{program} action_result: status {entry.get('MONSYS_STATUS')!r}")
            if event is None:
                problems.append(f"{program}: MESSAGE_ID {entry.get('MESSAGE_ID')!r} is not listed "
                                "in docs/logging.md")
        for program in ("monsys-agent", "monsys-action"):
            if not wanted <= seen.get(program, set()):
                problems.append(f"{program}: events {sorted(e or '?' for e in seen.get(program, ()))}"
                                f", expected {sorted(wanted)}")
        summary = "; ".join(f"{p}: {', '.join(sorted(e or '?' for e in events))}"
                            for p, events in sorted(seen.items()))
        return not problems, "\n".join(problems + [f"seen: {summary}"]) if problems else summary

    # ------------------------------------------------------------ 3. refusals

    def check_status_command(self):
        """`monsys-agent status` as the operator runs it on a packaged host: the snapshot in the
        unit's RuntimeDirectory, readable by root and group monsys only, showing the link, the
        tracked unit and the TOTP restart; another user is told why it cannot read it."""
        problems = []
        modes = self.c.out("stat -c '%a %U %G %n' /run/monsys-agent /run/monsys-agent/status.json",
                           check=False).splitlines()
        if modes != ["750 monsys monsys /run/monsys-agent",
                     "640 monsys monsys /run/monsys-agent/status.json"]:
            problems.append(f"modes: {modes}")

        def healthy():
            proc = self.c.run("monsys-agent status --json")
            try:
                answer = json.loads(proc.stdout)
            except ValueError:
                return None
            snapshot = answer.get("snapshot") or {}
            actions = [a for a in snapshot.get("actions", []) if a.get("jti") == self.totp_jti]
            if proc.returncode == 0 and actions:
                return proc.returncode, answer, actions[0]
            return None
        # The result is filed at the hub before the next snapshot is written (at most 1 s).
        got = wait_for(healthy, 15)
        if not got:
            proc = self.c.run("monsys-agent status --json")
            return False, "\n".join(problems + [f"status --json exited {proc.returncode}, "
                                                 f"without the restart {self.totp_jti}: "
                                                 f"{proc.stdout[-1500:]}{proc.stderr[-500:]}"])
        _, answer, action = got
        snapshot = answer["snapshot"]
        if answer["verdict"]["exit_code"] != 0 or not snapshot["hub"]["connected"]:
            problems.append(f"verdict {answer['verdict']}, hub {snapshot['hub']}")
        apps = {a["id"]: a for a in snapshot.get("apps", [])}
        demo = apps.get(self.apps["demo"]["id"]) or {}
        if demo.get("state") != "running":
            problems.append(f"tracked unit in the snapshot: {demo}")
        if action.get("status") != "succeeded" or action.get("reported_by") != "monsys-action":
            problems.append(f"the restart in the snapshot: {action}")
        table = self.c.run("monsys-agent status")
        if table.returncode != 0 or "connected to the hub" not in table.stdout or \
                self.apps["demo"]["id"] not in table.stdout:
            problems.append(f"table exited {table.returncode}: {table.stdout[-800:]}")
        other = self.c.run("monsys-agent status", user="nobody")
        if other.returncode != 2 or "group monsys" not in other.stdout + other.stderr:
            problems.append(f"as nobody: exit {other.returncode}: {other.stdout}{other.stderr}")
        return not problems, "\n".join(problems) if problems else (
            f"exit 0, {len(apps)} app(s), the restart {action['status']}; nobody: exit 2")

    def check_replayed_token(self):
        token, jti = mint(self.hub, {"id": "app-replay", "type": "systemd",
                                     "identifier": DEMO_UNIT})
        self.replay_token = token
        pid0 = self.c.show(DEMO_UNIT, "MainPID")["MainPID"]
        first = self.c.ask(request("app-replay", token))
        pid1_ = self.c.show(DEMO_UNIT, "MainPID")["MainPID"]
        second = self.c.ask(request("app-replay", token))
        pid2 = self.c.show(DEMO_UNIT, "MainPID")["MainPID"]
        ok = (first.get("status") == "succeeded" and pid1_ != pid0 and
              second.get("status") == "rejected" and second.get("reason") == "replayed" and
              pid2 == pid1_)
        return ok, f"first: {brief(first)} (MainPID {pid0} -> {pid1_})\nsecond: {brief(second)} " \
                   f"(MainPID {pid2})"

    def check_foreign_user(self):
        token, _ = mint(self.hub, {"id": "app-foreign", "type": "systemd",
                                   "identifier": DEMO_UNIT})
        pid0 = self.c.show(DEMO_UNIT, "MainPID")["MainPID"]
        answers = {user: self.c.ask(request("app-foreign", token), user=user)
                   for user in ("nobody", "monsys-action")}
        pid1_ = self.c.show(DEMO_UNIT, "MainPID")["MainPID"]
        ok = all(a.get("connect_error") in ("EACCES", "EPERM", "ECONNREFUSED")
                 for a in answers.values()) and pid1_ == pid0
        return ok, "; ".join(f"{u}: {a}" for u, a in answers.items())

    def dangerous_unit_check(self, unit, why):
        def check():
            target = unit
            if unit == "dbus-org.freedesktop.login1.service":
                target = "systemd-logind.service"
            before = self.c.show(target, "ActiveState", "MainPID", "InvocationID")
            state0 = self.c.system_state()
            token, _ = mint(self.hub, {"id": "app-danger", "type": "systemd",
                                       "identifier": unit})
            answer = self.c.ask(request("app-danger", token))
            time.sleep(0.5)
            alive = self.c.podman("inspect", "-f", "{{.State.Running}}", self.c.name)
            state = self.c.system_state()
            after = self.c.show(target, "ActiveState", "MainPID", "InvocationID")
            problems = []
            if answer.get("status") != "rejected" or answer.get("reason") != "policy_denied":
                problems.append(f"answer: {brief(answer)}")
            if alive.stdout.strip() != "true":
                problems.append("the container is no longer running")
            if state != state0 or state not in ("running", "degraded"):
                problems.append(f"system state {state!r}, was {state0!r}")
            if after != before:
                problems.append(f"{target} changed: {before} -> {after}")
            return not problems, "\n".join(problems) if problems else answer.get("message", "")
        return check

    def check_store_rename(self):
        store = "/var/lib/monsys-action"
        owner0 = self.c.out(f"stat -c '%U:%G %a' {store}", check=False)
        attempts = {
            "mv the store dir": f"mv {store} /var/lib/x",
            "mv the store dir inside /var/lib/monsys": f"mv {store} /var/lib/monsys/x",
            "replace the store file": f"mv {store}/eat-replay.db {store}/old",
            "create a file in the store dir": f": > {store}/new",
            "write the store file": f": >> {store}/eat-replay.db",
            "remove the store file": f"rm -f {store}/eat-replay.db",
        }
        problems, seen = [], []
        for what, command in attempts.items():
            proc = self.c.run(command, user="monsys")
            if proc.returncode == 0:
                problems.append(f"{what} worked as monsys ({command})")
            elif "Permission denied" not in proc.stderr and "Operation not permitted" not in \
                    proc.stderr:
                problems.append(f"{what}: failed, but not with EACCES/EPERM: {proc.stderr}")
            else:
                seen.append(what)
        owner1 = self.c.out(f"stat -c '%U:%G %a' {store}", check=False)
        lib = self.c.out("stat -c '%U:%G %a' /var/lib", check=False)
        if not owner0.startswith("monsys-action:") or owner1 != owner0:
            problems.append(f"{store} is {owner0!r} before, {owner1!r} after")
        if self.c.run("test -e /var/lib/monsys/eat").returncode == 0:
            problems.append("the old store /var/lib/monsys/eat (inside the agent's dir) exists")
        return not problems, "\n".join(problems) if problems else \
            f"{store} {owner1} in /var/lib {lib}; refused: {', '.join(seen)}"

    def check_swapped_store(self):
        # If the store directory were swapped for one the agent owns (what the rename attack
        # would do), monsys-action must refuse to use it rather than start from an empty store.
        store = "/var/lib/monsys-action"
        pid0 = self.c.show(DEMO_UNIT, "MainPID")["MainPID"]
        self.c.out(f"mv {store} {store}.real && mkdir -m 0750 {store} && "
                   f"chown monsys:monsys {store}")
        try:
            answer = self.c.ask(request("app-replay", self.replay_token))
            token, _ = mint(self.hub, {"id": "app-swap", "type": "systemd",
                                       "identifier": DEMO_UNIT})
            fresh = self.c.ask(request("app-swap", token))
        finally:
            self.c.out(f"rm -rf {store} && mv {store}.real {store}")
        pid1_ = self.c.show(DEMO_UNIT, "MainPID")["MainPID"]
        ok = (answer.get("status") in ("failed", "rejected") and
              fresh.get("status") in ("failed", "rejected") and pid1_ == pid0)
        return ok, f"replayed token: {brief(answer)}\nfresh token: {brief(fresh)}\n" \
                   f"MainPID {pid0} -> {pid1_}"

    # ------------------------------------------------------------ 4. process apps of root

    def setup_accapp(self):
        c = self.c
        c.out("mkdir -p /opt/accapp && chmod 0755 /opt/accapp && "
              "cp /usr/bin/sleep /opt/accapp/run && chmod 0755 /opt/accapp/run")
        c.write("/opt/accapp/loop.sh", ACCAPP_LOOP, mode="0755")
        c.write("/opt/accapp/restart", ACCAPP_RESTART, mode="0755")
        c.write("/opt/accapp/restart-loop", ACCAPP_RESTART_LOOP, mode="0755")
        c.write("/etc/monsys/policy.json", json.dumps(POLICY, indent=2) + "\n", mode="0644")
        c.out("systemd-run --quiet --unit=accapp-run /opt/accapp/run infinity && "
              "systemd-run --quiet --unit=accapp-loop /bin/sh /opt/accapp/loop.sh")
        self.apps["run"] = self.hub.create_app(AGENT_ID, "accapp", "process", "/opt/accapp/run",
                                               restart_command="/opt/accapp/restart")
        self.apps["loop"] = self.hub.create_app(AGENT_ID, "accloop", "process",
                                                "/opt/accapp/loop.sh",
                                                restart_command="/opt/accapp/restart-loop")

    def observed_check(self, key):
        def check():
            app_id = self.apps[key]["id"]
            seen = wait_for(lambda: self.hub.app(app_id)["observed"] == "running", 45)
            app = self.hub.app(app_id)
            rows = [p for p in (((self.hub.api("GET", f"/api/v1/agents/{AGENT_ID}/inventory")
                                  .get("inventory") or {}).get("processes") or {})
                                .get("processes") or [])
                    if "/opt/accapp/" in (p.get("cmdline") or "")]
            detail = f"observed {app['observed']!r} ({app.get('detail')})"
            if rows:
                detail += "; inventory: " + json.dumps(
                    [{k: r.get(k) for k in ("pid", "user", "exe", "script", "identity")}
                     for r in rows])
            return bool(seen), detail
        return check

    def pids_of(self, pattern):
        out = self.c.out(f"pgrep -f {shlex.quote(pattern)}", check=False)
        return sorted(int(p) for p in out.split())

    def check_process_restart(self):
        old = self.pids_of("^/opt/accapp/run( |$)")
        jti = self.hub.restart(self.apps["run"]["id"], "PID 1 test: process app")["jti"]
        record = wait_for(lambda: self.hub.result(jti), 90)
        if not record:
            return False, f"no result for {jti}: {self.hub.action(jti)}"
        result = record["result"]
        # The wrapper instance and the restart's start job are over; the new app must still run.
        self.c.wait(lambda: not self.c.out("systemctl list-units --no-legend --state=active "
                                           "'monsys-action@*'", check=False), 30)
        time.sleep(2)
        new = self.pids_of("^/opt/accapp/run( |$)")
        owners = self.c.out(f"ps -o user= -p {','.join(map(str, new))}", check=False) if new \
            else ""
        cgroup = self.c.out(f"cat /proc/{new[0]}/cgroup | tail -n 1", check=False) if new else ""
        problems = []
        if result.get("status") != "succeeded":
            problems.append(f"result: {brief(result)}")
        if not new or set(new) & set(old):
            problems.append(f"pids before {old}, after {new}")
        if new and set(owners.split()) != {"root"}:
            problems.append(f"the new app runs as {owners!r}, not root")
        return not problems, "\n".join(problems) if problems else \
            f"pid {old} -> {new} (root, {cgroup.split(':')[-1]}), {result.get('message')!r}"

    def check_process_without_policy_entry(self):
        old = self.pids_of("^/bin/sh /opt/accapp/loop.sh")
        jti = self.hub.restart(self.apps["loop"]["id"], "PID 1 test: no policy entry")["jti"]
        record = wait_for(lambda: self.hub.result(jti), 60)
        if not record:
            return False, f"no result for {jti}: {self.hub.action(jti)}"
        result = record["result"]
        new = self.pids_of("^/bin/sh /opt/accapp/loop.sh")
        ok = (result.get("status") == "rejected" and result.get("reason") == "policy_denied"
              and new == old and bool(old))
        return ok, f"{brief(result)}; pids {old} -> {new}"

    # ------------------------------------------------------------ the run

    def run(self):
        ch = self.checks
        try:
            self.setup()
        except Exception as error:  # noqa: BLE001
            ch.record("setup: image, hub and container", False, str(error))
            return ch.finish()
        if not ch.run("install: dpkg -i of the .deb under systemd as PID 1", self.check_install):
            return ch.finish()
        ch.run("agent: monsys-agent.service runs as monsys with a minimal config",
               self.check_agent_runs)
        if not ch.run("agent: connects to the reference hub", self.check_agent_connects):
            return ch.finish()
        ch.run("agent: the sandbox's mount options are in force", self.check_sandbox)

        if ch.run("restart: a stopped tracked unit raises an alert at the hub",
                  self.check_stopped_unit_alerts):
            ch.run("restart: TOTP restart via hub, socket, monsys-action@, polkit, systemd; "
                   "audit shows MainPID changed", self.check_totp_restart)
        has_key = ch.run("key: the postinst made monsys-action's key (secret 0600 monsys-action, "
                         "public 0640 group monsys); monsys cannot read the secret; the hub "
                         "pinned it", self.check_action_key_files)
        if has_key and hasattr(self, "totp_record"):
            ch.run("key: the restart's result_jws verifies with the host's public key "
                   "(python3-cryptography) and its payload is the filed result",
                   self.check_result_signature)
        if hasattr(self, "totp_jti"):
            ch.run("journal: journalctl MONSYS_JTI=<jti> shows monsys-agent's and "
                   "monsys-action's events with the documented MESSAGE_IDs and fields",
                   self.check_journal_fields)
            ch.run("status: monsys-agent status reads the snapshot in /run/monsys-agent (0750, "
                   "file 0640 monsys:monsys): connected, the unit, the restart; another user "
                   "is refused with the reason (exit 2)", self.check_status_command)

        ch.run("refuse: a replayed token", self.check_replayed_token)
        ch.run("refuse: a foreign local user on the action socket", self.check_foreign_user)
        ch.run("refuse: user monsys cannot rename or replace the replay store",
               self.check_store_rename)
        if hasattr(self, "replay_token"):
            ch.run("refuse: monsys-action does not use a swapped (agent-owned) store dir",
                   self.check_swapped_store)

        for unit, why in DANGEROUS_UNITS[:-1]:
            ch.run(f"refuse: {unit} ({why}) with policy_denied, host still up",
                   self.dangerous_unit_check(unit, why))

        try:
            self.setup_accapp()
        except Exception as error:  # noqa: BLE001
            ch.record("process: set up root's apps /opt/accapp", False, str(error))
        else:
            ch.run("process: a root binary app is observed running by the agent",
                   self.observed_check("run"))
            ch.run("process: a root shell-script app is observed running by the agent",
                   self.observed_check("loop"))
            ch.run("process: a restart with a policy entry succeeds; the new pid outlives "
                   "monsys-action@", self.check_process_restart)
            ch.run("process: a restart without a policy entry is refused (policy_denied)",
                   self.check_process_without_policy_entry)

        if has_key:
            ch.run("key: rotate-key makes a new key signed by the old one; results are signed "
                   "with the new key; the hub follows without re-pinning", self.check_rotate_key)

        # Last: were it obeyed, the container would be gone for every check after it. Under the
        # built-in rules alone: without the policy file the process checks wrote.
        self.c.run("rm -f /etc/monsys/policy.json")
        unit, why = DANGEROUS_UNITS[-1]
        ch.run(f"refuse: {unit} ({why}) with policy_denied, host still up",
               self.dangerous_unit_check(unit, why))
        return ch.finish()


if __name__ == "__main__":
    sys.exit(main_of(SystemSuite, sys.argv[1:], __doc__))
