"""The hub's logic, shared by the agent link (agent_link.py), the REST API (rest_api.py) and the
liveness worker (liveness.py). Everything runs on one asyncio event loop; the methods that touch
the state are plain functions run to completion between awaits, so no locking is needed."""

import collections
import hashlib
import hmac
import json
import re
import sys
import time

import pyotp

import liveness
import minting
import signatures
import validate
from evidence import AuditLog, TransparencyLog, canonical_json, now_iso, read_jsonl
from store import Store, new_agent_record, verified_jti

MAX_APPS_PER_AGENT = 1000
FRAME_HISTORY = 2000
_EMAIL = re.compile(r"[^@\s]+@[^@\s]+")


class ApiError(Exception):
    def __init__(self, status, message):
        super().__init__(message)
        self.status = status
        self.message = message


def log(event, **fields):
    """One line per event on stderr: `<ts> hub <event> key=value ...`."""
    parts = [now_iso(), "hub", event]
    for name, value in fields.items():
        text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=True)
        if len(text) > 1000 and name != "traceback":
            text = text[:1000] + "..."
        if not text or any(c in text for c in ' ="\\') or not text.isprintable():
            text = json.dumps(text, ensure_ascii=True)
        parts.append(f"{name}={text}")
    print(" ".join(parts), file=sys.stderr, flush=True)


def load_agent_tokens(path, default_agent_id):
    """`agent_id:token` lines, or one bare token bound to `default_agent_id`. Blank lines and
    lines starting with # are ignored. Returns {token: agent_id}."""
    with open(path, encoding="utf-8") as f:
        lines = [line.strip() for line in f]
    lines = [line for line in lines if line and not line.startswith("#")]
    tokens = {}
    if len(lines) == 1 and ":" not in lines[0]:
        if not default_agent_id:
            raise ValueError(f"{path} holds a bare token: --agent-id is required")
        tokens[lines[0]] = default_agent_id
    else:
        for n, line in enumerate(lines, start=1):
            agent_id, sep, token = line.partition(":")
            if not sep or not token:
                raise ValueError(f"{path}: line {n} is not agent_id:token")
            tokens[token] = agent_id
    for agent_id in tokens.values():
        if not validate.AGENT_ID.fullmatch(agent_id):
            raise ValueError(f"{path}: bad agent id {agent_id!r}")
    if not tokens:
        raise ValueError(f"{path} holds no token")
    return tokens


class Hub:
    def __init__(self, *, state_dir, agent_tokens, signing_key, kid, issuer, totp_secret,
                 state_interval=None, inventory_interval=None):
        self.store = Store(state_dir)
        self.audit = AuditLog(f"{state_dir}/audit.jsonl")
        self.transparency = TransparencyLog(f"{state_dir}/transparency.jsonl")
        self.agent_tokens = agent_tokens
        self.signing_key = signing_key
        self.kid = kid
        self.issuer = issuer
        self.totp = pyotp.TOTP(totp_secret)
        try:
            self.totp.now()
        except Exception:
            raise ValueError("the TOTP secret is not base32") from None
        self.state_interval = state_interval
        self.inventory_interval = inventory_interval
        self.links = {}                      # agent_id -> connected AgentLink
        self.frames = collections.defaultdict(lambda: collections.deque(maxlen=FRAME_HISTORY))
        self.acks_enabled = {}               # agent_id -> False to withhold acks (tests)
        self.log = log

    # ------------------------------------------------------------------ agents

    def authenticate(self, authorization):
        """The agent id an `Authorization: Bearer <token>` header belongs to, or None."""
        if not authorization:
            return None
        scheme, _, token = authorization.strip().partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            return None
        token = token.strip().encode("utf-8", "surrogateescape")
        found = None
        for known, agent_id in self.agent_tokens.items():
            if hmac.compare_digest(known.encode("utf-8"), token):
                found = agent_id
        return found

    def known_agent_ids(self):
        return sorted(set(self.agent_tokens.values()) | set(self.store.agents))

    def record_frame(self, agent_id, direction, kind, size, **extra):
        if isinstance(kind, str) and len(kind) > 64:
            kind = kind[:64] + "..."
        self.frames[agent_id].append({"ts": now_iso(), "dir": direction, "type": kind,
                                      "bytes": size, **extra})

    def attach(self, link):
        """A new connection of an agent; an older one of the same agent is closed."""
        old = self.links.get(link.agent_id)
        self.links[link.agent_id] = link
        rec = self.store.agent(link.agent_id)
        rec["connected_at"] = now_iso()
        rec["counters"]["connections"] += 1
        self.store.save_agents()
        log("agent.connected", agent=link.agent_id, remote=link.remote,
            replaces=bool(old))
        return old

    def detach(self, link):
        if self.links.get(link.agent_id) is link:
            del self.links[link.agent_id]
            rec = self.store.agent(link.agent_id)
            rec["disconnected_at"] = now_iso()
            self.store.save_agents()
        log("agent.disconnected", agent=link.agent_id, remote=link.remote,
            code=link.close_code)

    def app_view_for_agent(self, app):
        view = {name: app[name] for name in
                ("id", "name", "app_type", "identifier", "expected_state")}
        if app.get("restart_command"):
            view["restart_command"] = app["restart_command"]
        return view

    def tracked_apps_message(self, agent_id):
        return [self.app_view_for_agent(a) for a in self.store.apps_of(agent_id)]

    def welcome(self, agent_id):
        msg = {"type": "welcome", "server_time": now_iso(),
               "apps": self.tracked_apps_message(agent_id)}
        if self.state_interval is not None:
            msg["state_interval_secs"] = self.state_interval
        if self.inventory_interval is not None:
            msg["inventory_interval_secs"] = self.inventory_interval
        return msg

    def on_hello(self, agent_id, msg):
        rec = self.store.agent(agent_id)
        self._on_dropped(agent_id, (rec.get("hello") or {}).get("dropped"), msg.get("dropped"))
        rec["hello"] = {k: v for k, v in msg.items() if k != "type"}
        rec["hello"]["received_at"] = now_iso()
        rec["counters"]["hello"] += 1
        self._on_action_key(agent_id, rec, msg.get("action_key"))
        self.store.save_agents()

    def verify_transparency(self):
        """The chain (evidence.py), then the signatures it carries (signatures.py)."""
        verdict = self.transparency.verify()
        if not verdict["ok"]:
            return verdict
        signed = signatures.verify_log_signatures(read_jsonl(self.transparency.path))
        if not signed["ok"]:
            return {**verdict, **signed}
        return {**verdict, "signatures": signed["signatures"], "keys": signed["keys"]}

    def _on_dropped(self, agent_id, before, now):
        """The agent's counts restart with its process: a rise against the previous hello, or
        any count after a restart (fewer than before), is news."""
        if not now:
            return
        before = before or {}
        restarted = any(value < before.get(name, 0) for name, value in now.items())
        baseline = {} if restarted else before
        if any(value > baseline.get(name, 0) for name, value in now.items()):
            self.audit.append("agent.outbox_dropped", agent_id=agent_id, dropped=now,
                              previous=before or None)
            log("agent.outbox_dropped", agent=agent_id, **{k: v for k, v in now.items()})

    # ------------------------------------------------------------------ monsys-action's key

    def _on_action_key(self, agent_id, rec, doc):
        """Trust on first use, then only rotations signed by a trusted key (docs/protocol.md,
        "Result signatures"). rec["action_key"] = {"kid", "jwk", "keys": {kid: jwk}, ...}."""
        pinned = rec.get("action_key")
        if doc is None:
            if pinned is not None:
                self.audit.append("agent.action_key_missing", agent_id=agent_id,
                                  pinned_kid=pinned["kid"])
                log("agent.action_key_missing", agent=agent_id, pinned=pinned["kid"])
            return
        try:
            signatures.check_key_document(doc)
        except signatures.SignatureProblem as e:
            self.audit.append("agent.action_key_invalid", agent_id=agent_id, problem=str(e))
            log("agent.action_key_invalid", agent=agent_id, problem=str(e))
            return
        if pinned is None:
            rec["action_key"] = {"kid": doc["kid"], "jwk": doc["jwk"],
                                 "keys": {doc["kid"]: doc["jwk"]}, "pinned_at": now_iso(),
                                 "how": "first_use"}
            details = {"agent_id": agent_id, "kid": doc["kid"], "jwk": doc["jwk"],
                       "how": "first_use"}
            self.audit.append("agent.action_key_pinned", **details)
            self.transparency.append("agent.action_key", details)
            log("agent.action_key_pinned", agent=agent_id, kid=doc["kid"])
            return
        if pinned["kid"] == doc["kid"]:
            return
        try:
            chain = signatures.follow_rotations(pinned["kid"], pinned["jwk"], doc)
        except signatures.SignatureProblem as e:
            self.audit.append("agent.action_key_mismatch", agent_id=agent_id,
                              pinned_kid=pinned["kid"], reported_kid=doc["kid"], problem=str(e))
            log("agent.action_key_mismatch", agent=agent_id, pinned=pinned["kid"],
                reported=doc["kid"], problem=str(e))
            return
        first_kid = previous = pinned["kid"]
        for kid, jwk, statement in chain:
            pinned["keys"][kid] = jwk
            details = {"agent_id": agent_id, "kid": kid, "jwk": jwk, "how": "rotation",
                       "previous_kid": previous, "statement": statement}
            self.transparency.append("agent.action_key", details)
            previous = kid
        pinned.update(kid=doc["kid"], jwk=doc["jwk"], rotated_at=now_iso())
        self.audit.append("agent.action_key_rotated", agent_id=agent_id,
                          from_kid=first_kid,
                          to_kid=doc["kid"], steps=len(chain))
        log("agent.action_key_rotated", agent=agent_id, kid=doc["kid"], steps=len(chain))

    def _check_inventory_action_key(self, agent_id, rec, inventory, seq):
        """The inventory's host.action_key held against the key pinned from hello (docs/protocol.md,
        "inventory"). Only hello pins or rotates; a disagreement is an audit event. Returns
        {"kid", "check"}: check is match, older (a key of the trusted chain, collected before a
        rotation), ahead (a rotation the next hello will bring), not_pinned, not_reported (an
        agent without the field), missing or mismatch."""
        host = inventory.get("host")
        if not isinstance(host, dict) or "action_key" not in host:
            return {"kid": None, "check": "not_reported"}
        doc = host["action_key"]
        kid = doc.get("kid") if isinstance(doc, dict) else None
        pinned = rec.get("action_key")
        if pinned is None:
            return {"kid": kid, "check": "not_pinned"}
        if doc is None:
            self.audit.append("agent.inventory_action_key_missing", agent_id=agent_id, seq=seq,
                              pinned_kid=pinned["kid"], error=host.get("action_key_error"))
            log("agent.inventory_action_key_missing", agent=agent_id, pinned=pinned["kid"])
            return {"kid": None, "check": "missing"}
        try:
            signatures.check_key_document(doc)
            if pinned["keys"].get(doc["kid"]) == doc["jwk"]:
                return {"kid": kid, "check": "match" if kid == pinned["kid"] else "older"}
            signatures.follow_rotations(pinned["kid"], pinned["jwk"], doc)
            return {"kid": kid, "check": "ahead"}
        except signatures.SignatureProblem as e:
            self.audit.append("agent.inventory_action_key_mismatch", agent_id=agent_id, seq=seq,
                              pinned_kid=pinned["kid"], reported_kid=kid, problem=str(e))
            log("agent.inventory_action_key_mismatch", agent=agent_id, pinned=pinned["kid"],
                reported=kid, problem=str(e))
            return {"kid": kid, "check": "mismatch"}

    def unpin_action_key(self, agent_id):
        """An operator's reset: the next hello pins whatever key it reports."""
        rec = self.store.agents.get(agent_id)
        if rec is None or rec.get("action_key") is None:
            raise ApiError(404, f"no action key pinned for {agent_id!r}")
        old = rec["action_key"]
        rec["action_key"] = None
        self.store.save_agents()
        self.audit.append("agent.action_key_unpinned", agent_id=agent_id, kid=old["kid"])
        self.transparency.append("agent.action_key_unpinned", {"agent_id": agent_id,
                                                               "kid": old["kid"]})
        log("agent.action_key_unpinned", agent=agent_id, kid=old["kid"])
        return {"agent_id": agent_id, "unpinned_kid": old["kid"]}

    def result_signature(self, agent_id, msg):
        """{"status": "verified" | "unverified" | "agent-reported", "kid", "problem"}."""
        jws = msg.get("result_jws")
        if msg["reported_by"] != "monsys-action":
            if jws is None:
                return {"status": "agent-reported", "kid": None, "problem": None}
            return {"status": "unverified", "kid": signatures.jws_kid(jws),
                    "problem": f"a result reported by {msg['reported_by']} carries a result_jws"}
        pinned = (self.store.agents.get(agent_id) or {}).get("action_key")
        if pinned is None:
            return {"status": "unverified", "kid": signatures.jws_kid(jws) if jws else None,
                    "problem": "no monsys-action key is pinned for this agent"}
        try:
            kid = signatures.check_result(msg["result"], jws, pinned["keys"])
        except signatures.SignatureProblem as e:
            return {"status": "unverified", "kid": signatures.jws_kid(jws) if jws else None,
                    "problem": str(e)}
        return {"status": "verified", "kid": kid, "problem": None}

    def on_data(self, agent_id, msg):
        """Stores one validated data message. Returns "stored", "duplicate" (a seq already
        stored, same content), "conflict" (a seq already stored with other content) or
        "duplicate_jti" (a new seq, but an action_result for a jti already recorded)."""
        rec = self.store.agent(agent_id)
        counters = rec["counters"]
        seq = msg["seq"]
        digest = hashlib.sha256(canonical_json(msg)).hexdigest()
        seen = rec["seen"].get(str(seq))
        if seen is not None:
            counters["duplicate_seq"] += 1
            outcome = "duplicate"
            if seen["sha256"] != digest:
                counters["seq_conflicts"] += 1
                outcome = "conflict"
            self.store.save_agents()
            return outcome

        kind = msg["type"]
        outcome = "stored"
        received_at = now_iso()
        if kind == "inventory":
            newest = rec["last_inventory"]
            if newest is None or seq > newest["seq"]:
                self.store.save_inventory(agent_id, msg)
                rec["last_inventory"] = {
                    "seq": seq, "kind": msg["kind"], "collected_at": msg["collected_at"],
                    "received_at": received_at,
                    "discovered": len(msg["inventory"]["discovered"]),
                    "action_key": self._check_inventory_action_key(agent_id, rec,
                                                                   msg["inventory"], seq)}
        elif kind == "state":
            newest = rec["last_state"]
            if newest is None or seq > newest["seq"]:
                rec["last_state"] = {"seq": seq, "observed_at": msg["observed_at"],
                                     "apps": msg["apps"], "received_at": received_at}
        elif kind == "action_result":
            jti = validate.result_jti(msg)
            first = self.store.results.get(jti) if jti is not None else None
            if verified_jti(msg) and first is not None and verified_jti(first):
                # At most one action_result per verified jti (docs/protocol.md): a second one
                # with a new seq is the agent breaking the rule. The first stays filed; the
                # second is evidence of the breach, so it goes to the audit log, not lost.
                counters["duplicate_jti"] += 1
                outcome = "duplicate_jti"
                self._duplicate_jti(agent_id, msg, jti, first)
            else:
                self._record_result(agent_id, msg, jti, received_at)
        rec["seen"][str(seq)] = {"type": kind, "sha256": digest}
        rec["max_seq"] = max(rec["max_seq"], seq)
        counters[kind] += 1
        self.store.save_agents()
        return outcome

    def _duplicate_jti(self, agent_id, msg, jti, first):
        status, first_status = msg["result"].get("status"), first["result"].get("status")
        details = {"agent_id": agent_id, "jti": jti, "seq": msg["seq"],
                   "first_seq": first["seq"], "reported_by": msg["reported_by"],
                   "first_reported_by": first["reported_by"], "status": status,
                   "first_status": first_status, "reason": msg["result"].get("reason"),
                   "contradicts": status != first_status}
        self.audit.append("restart.result_duplicate_jti", **details)
        log("restart.result_duplicate_jti", agent=agent_id, jti=jti, seq=msg["seq"],
            first_seq=first["seq"], status=status, first_status=first_status,
            contradicts=details["contradicts"])

    def _record_result(self, agent_id, msg, jti, received_at):
        result = msg["result"]
        signature = self.result_signature(agent_id, msg)
        record = {"jti": jti, "agent_id": agent_id, "seq": msg["seq"],
                  "reported_by": msg["reported_by"], "received_at": received_at,
                  "result": result, "result_jws": msg.get("result_jws"),
                  "signature": signature}
        action = self.store.actions.get(jti) if jti else None
        app_id = result.get("app_id") or (action or {}).get("app_id")
        self.store.append_result(record)
        summary = {"agent_id": agent_id, "jti": jti, "app_id": app_id, "seq": msg["seq"],
                   "reported_by": msg["reported_by"], "status": result.get("status"),
                   "reason": result.get("reason"), "message": result.get("message"),
                   "exit_code": result.get("exit_code"), "stdout": result.get("stdout"),
                   "stderr": result.get("stderr"), "requested_by_hub": action is not None,
                   "signature": signature["status"], "kid": signature["kid"]}
        self.audit.append("restart.result", **summary, result=result)
        if signature["status"] == "unverified":
            self.audit.append("restart.result_unverified", agent_id=agent_id, jti=jti,
                              app_id=app_id, seq=msg["seq"], reported_by=msg["reported_by"],
                              status=result.get("status"), kid=signature["kid"],
                              problem=signature["problem"])
            log("restart.result_unverified", agent=agent_id, jti=jti, seq=msg["seq"],
                problem=signature["problem"])
        if result.get("status") == "rejected":
            self.audit.append("restart.rejected", agent_id=agent_id, jti=jti, app_id=app_id,
                              reason=result.get("reason"), message=result.get("message"),
                              reported_by=msg["reported_by"], seq=msg["seq"])
        self.transparency.append("restart.result", {
            "agent_id": agent_id, "jti": jti, "seq": msg["seq"],
            "reported_by": msg["reported_by"], "result": result,
            "result_jws": msg.get("result_jws"), "kid": signature["kid"],
            "signature": signature["status"]})
        if action is not None:
            action.update(status="done", result_status=result.get("status"),
                          result_reason=result.get("reason"), result_at=received_at,
                          result_seq=msg["seq"], result_signature=signature["status"])
            action.pop("token", None)
            self.store.save_actions()
        log("restart.result", agent=agent_id, jti=jti, app=app_id,
            status=result.get("status"), reason=result.get("reason"),
            reported_by=msg["reported_by"], exit_code=result.get("exit_code"),
            signature=signature["status"])

    async def push_apps(self, agent_id):
        link = self.links.get(agent_id)
        if link is not None:
            await link.send_json({"type": "apps", "apps": self.tracked_apps_message(agent_id)})

    async def deliver_pending(self, agent_id):
        """Sends the actions kept for an agent that was not connected; expired ones are dropped."""
        pending = [a for a in self.store.actions.values()
                   if a["agent_id"] == agent_id and a["status"] == "pending"]
        pending.sort(key=lambda a: a["requested_at"])
        for action in pending:
            if action.get("exp") is not None and action["exp"] <= time.time():
                action["status"] = "expired"
                action.pop("token", None)
                self.store.save_actions()
                self.audit.append("restart.expired", jti=action["jti"], agent_id=agent_id,
                                  app_id=action["app_id"])
                log("restart.expired", agent=agent_id, jti=action["jti"])
                continue
            if not await self._send_action(action):
                break

    async def _send_action(self, action):
        link = self.links.get(action["agent_id"])
        if link is None:
            return False
        if not await link.send_json({"type": "action", "eat": action["token"]}):
            return False
        action["status"] = "sent"
        action["sent_at"] = now_iso()
        # The token stays until its result arrives (never in a REST view), so a test can send
        # the very same action again (resend_action), as a hub unsure of a delivery would.
        self.store.save_actions()
        log("restart.sent", agent=action["agent_id"], jti=action["jti"], app=action["app_id"])
        return True

    # ------------------------------------------------------------------ agent views (REST)

    def agent_view(self, agent_id, full=False):
        if agent_id not in self.agent_tokens.values() and agent_id not in self.store.agents:
            raise ApiError(404, f"unknown agent {agent_id!r}")
        rec = self.store.agents.get(agent_id)
        if rec is None:  # configured, never connected
            rec = new_agent_record(agent_id)
        link = self.links.get(agent_id)
        view = {
            "agent_id": agent_id,
            "connected": link is not None,
            "remote": link.remote if link else None,
            "connected_at": rec["connected_at"],
            "disconnected_at": rec["disconnected_at"],
            "hello": rec["hello"],
            "max_seq": rec["max_seq"],
            "seqs_stored": len(rec["seen"]),
            "last_inventory": rec["last_inventory"],
            "last_inventory_at": (rec["last_inventory"] or {}).get("received_at"),
            "last_state": rec["last_state"],
            "counters": rec["counters"],
            "acks_enabled": self.acks_enabled.get(agent_id, True),
            "action_key": ({"kid": rec["action_key"]["kid"],
                            "kids": sorted(rec["action_key"]["keys"]),
                            "pinned_at": rec["action_key"]["pinned_at"]}
                           if rec.get("action_key") else None),
            "pending_actions": sum(1 for a in self.store.actions.values()
                                   if a["agent_id"] == agent_id and a["status"] == "pending"),
        }
        if rec["hello"]:
            view["dropped"] = rec["hello"].get("dropped")
            for name in ("version", "hostname", "boot_id", "tags", "capabilities",
                         "last_acked_seq"):
                view[name] = rec["hello"].get(name)
        if full:
            view["seen_seqs"] = sorted(int(s) for s in rec["seen"])
        return view

    def discovered(self, agent_id):
        self.agent_view(agent_id)
        inventory = self.store.inventory(agent_id)
        if inventory is None:
            raise ApiError(404, f"no inventory from {agent_id} yet")
        tracked = {(a["app_type"], a["identifier"]): a["id"]
                   for a in self.store.apps_of(agent_id)}
        rows = []
        for row in inventory["inventory"]["discovered"]:
            app_id = tracked.get((row["type"], row["identifier"]))
            rows.append({**row, "tracked": app_id is not None, "app_id": app_id})
        return {"agent_id": agent_id, "seq": inventory["seq"],
                "collected_at": inventory["collected_at"], "discovered": rows}

    # ------------------------------------------------------------------ apps (REST)

    def app_or_404(self, app_id):
        app = self.store.apps.get(app_id)
        if app is None:
            raise ApiError(404, f"unknown app {app_id!r}")
        return app

    def app_view(self, app):
        view = dict(app)
        entry = None
        last_state = (self.store.agents.get(app["agent_id"]) or {}).get("last_state")
        if last_state:
            entry = next((e for e in last_state["apps"] if e["id"] == app["id"]), None)
        counters = self.store.liveness.get(app["id"]) or liveness.new_counters()
        view.update(
            observed=entry["observed"] if entry else None,
            detail=entry["detail"] if entry else None,
            changed_at=entry["changed_at"] if entry else None,
            observed_at=last_state["observed_at"] if entry else None,
            consecutive_mismatch=counters["consecutive_mismatch"],
            consecutive_unknown=counters["consecutive_unknown"],
            alerting=counters["alerting"],
            checked_at=counters.get("checked_at"))
        return view

    @staticmethod
    def _text(body, name, *, required=False, max_len=255, allow_empty=True):
        if name not in body:
            if required:
                raise ApiError(400, f"{name} is required")
            return None
        value = body[name]
        if not isinstance(value, str):
            raise ApiError(400, f"{name} must be a string")
        if not value and (required or not allow_empty):
            raise ApiError(400, f"{name} must not be empty")
        if len(value) > max_len:
            raise ApiError(400, f"{name} is longer than {max_len} characters")
        if name != "notes" and not value.isprintable():
            raise ApiError(400, f"{name} contains control characters")
        return value

    def _check_app_fields(self, body, app_type):
        out = {}
        for name, max_len in (("name", 255), ("owner_email", 255), ("runbook_url", 2048),
                              ("notes", 4096)):
            value = self._text(body, name, max_len=max_len, allow_empty=(name != "name"))
            if value is not None:
                out[name] = value
        if out.get("owner_email") and not _EMAIL.fullmatch(out["owner_email"]):
            raise ApiError(400, f"owner_email {out['owner_email']!r} is not an e-mail address")
        if out.get("runbook_url") and not out["runbook_url"].startswith(("http://",
                                                                          "https://")):
            raise ApiError(400, "runbook_url must be an http:// or https:// URL")
        if "expected_state" in body:
            if body["expected_state"] not in validate.EXPECTED_STATES:
                raise ApiError(400, "expected_state must be running or stopped")
            out["expected_state"] = body["expected_state"]
        if "restart_command" in body:
            command = body["restart_command"]
            if command is not None:
                if app_type != "process":
                    raise ApiError(400, "restart_command is only for process apps")
                if not validate.is_absolute_normalized_path(command):
                    raise ApiError(400, f"restart_command {command!r} is not an absolute, "
                                        "normalized path")
            out["restart_command"] = command
        return out

    CREATE_FIELDS = {"agent_id", "name", "app_type", "identifier", "owner_email", "runbook_url",
                     "notes", "restart_command", "expected_state"}
    PATCH_FIELDS = {"name", "owner_email", "runbook_url", "notes", "restart_command",
                    "expected_state"}

    async def create_app(self, body):
        unknown = set(body) - self.CREATE_FIELDS
        if unknown:
            raise ApiError(400, "unknown field(s): " + ", ".join(sorted(unknown)))
        agent_id = self._text(body, "agent_id", required=True, max_len=128)
        if agent_id not in self.agent_tokens.values():
            raise ApiError(400, f"unknown agent_id {agent_id!r} (no token for it)")
        app_type = self._text(body, "app_type", required=True)
        if app_type not in validate.APP_TYPES:
            raise ApiError(400, "app_type must be one of " + ", ".join(validate.APP_TYPES))
        if "identifier" not in body:
            raise ApiError(400, "identifier is required")
        problem = validate.identifier_problem(app_type, body["identifier"])
        if problem:
            raise ApiError(400, problem)
        if "name" not in body:
            raise ApiError(400, "name is required")
        fields = self._check_app_fields(body, app_type)
        existing = self.store.apps_of(agent_id)
        for other in existing:
            if other["app_type"] == app_type and other["identifier"] == body["identifier"]:
                raise ApiError(409, f"{app_type} {body['identifier']} on {agent_id} is already "
                                    f"tracked as {other['id']}")
        if len(existing) >= MAX_APPS_PER_AGENT:
            raise ApiError(409, f"{agent_id} already has {MAX_APPS_PER_AGENT} apps")
        now = now_iso()
        app = {"id": self.store.new_app_id(), "agent_id": agent_id, "name": fields["name"],
               "app_type": app_type, "identifier": body["identifier"],
               "expected_state": fields.get("expected_state", "running"),
               "restart_command": fields.get("restart_command"),
               "owner_email": fields.get("owner_email", ""),
               "runbook_url": fields.get("runbook_url", ""), "notes": fields.get("notes", ""),
               "created_at": now, "updated_at": now}
        self.store.apps[app["id"]] = app
        self.store.save_apps()
        self.audit.append("app.created", app_id=app["id"], app=app)
        log("app.created", app=app["id"], agent=agent_id, type=app_type,
            identifier=app["identifier"])
        await self.push_apps(agent_id)
        return app

    async def update_app(self, app_id, body):
        app = self.app_or_404(app_id)
        unknown = set(body) - self.PATCH_FIELDS
        if unknown:
            raise ApiError(400, "field(s) that cannot be changed or do not exist: "
                           + ", ".join(sorted(unknown)))
        fields = self._check_app_fields(body, app["app_type"])
        changes = {k: [app.get(k), v] for k, v in fields.items() if app.get(k) != v}
        if changes:
            app.update(fields)
            app["updated_at"] = now_iso()
            if "expected_state" in changes:
                # a new intent: the counting starts again
                self.store.liveness.pop(app_id, None)
            self.store.save_apps()
            self.audit.append("app.updated", app_id=app_id, agent_id=app["agent_id"],
                              changes=changes)
            log("app.updated", app=app_id, changes=changes)
            await self.push_apps(app["agent_id"])
        return app

    async def delete_app(self, app_id):
        app = self.app_or_404(app_id)
        del self.store.apps[app_id]
        self.store.liveness.pop(app_id, None)
        self.store.save_apps()
        self.audit.append("app.deleted", app_id=app_id, app=app)
        log("app.deleted", app=app_id)
        await self.push_apps(app["agent_id"])

    # ------------------------------------------------------------------ restarts (REST)

    async def request_restart(self, app_id, totp_code, body, remote):
        app = self.app_or_404(app_id)
        if not totp_code or not self.totp.verify(totp_code.strip(), valid_window=1):
            why = "missing" if not totp_code else "wrong"
            self.audit.append("restart.denied_totp", app_id=app_id, agent_id=app["agent_id"],
                              totp=why, remote=remote)
            log("restart.denied_totp", app=app_id, totp=why, remote=remote)
            raise ApiError(401, f"TOTP code {why} (X-TOTP-Code)")
        if isinstance(body, ApiError):
            raise body
        unknown = set(body) - {"reason", "by"}
        if unknown:
            raise ApiError(400, "unknown field(s): " + ", ".join(sorted(unknown)))
        reason = body.get("reason")
        if not isinstance(reason, str) or not reason.strip():
            raise ApiError(400, "reason is required (a non-empty string)")
        if len(reason.encode("utf-8")) > 1024:
            raise ApiError(400, "reason is longer than 1024 bytes")
        by = body.get("by", "operator")
        if not isinstance(by, str) or not by or len(by) > 128:
            raise ApiError(400, "by must be a non-empty string of at most 128 characters")
        if app["app_type"] == "process" and not app.get("restart_command"):
            raise ApiError(409, f"{app_id} is a process app without a restart_command")

        token, claims = minting.mint_restart(self.signing_key, self.kid, self.issuer, app,
                                             reason, by)
        if len(token) > minting.MAX_TOKEN_BYTES:
            raise ApiError(400, f"the token would be {len(token)} bytes, over the "
                                f"{minting.MAX_TOKEN_BYTES} an agent accepts: shorten the reason")
        return await self._register_action(app["agent_id"], token, claims, source="rest",
                                           remote=remote)

    async def _register_action(self, agent_id, token, claims, *, source, remote):
        jti = claims.get("jti") if isinstance(claims.get("jti"), str) else None
        key = jti or f"no-jti-{len(self.store.actions) + 1}"
        app = claims.get("app") if isinstance(claims.get("app"), dict) else {}
        action = {"jti": jti, "agent_id": agent_id, "app_id": app.get("id"),
                  "status": "pending", "source": source, "requested_at": now_iso(),
                  "exp": claims.get("exp"), "reason": claims.get("reason"),
                  "by": claims.get("by"), "token_sha256": minting.token_sha256(token),
                  "token": token}
        self.store.actions[key] = action
        self.store.save_actions()
        details = {"jti": jti, "agent_id": agent_id, "app_id": app.get("id"), "app": app,
                   "reason": claims.get("reason"), "by": claims.get("by"),
                   "iat": claims.get("iat"), "exp": claims.get("exp"), "kid": self.kid,
                   "token_sha256": action["token_sha256"], "source": source}
        self.audit.append("restart.requested", **details, remote=remote)
        self.transparency.append("restart.requested", details)
        log("restart.requested", agent=agent_id, jti=jti, app=app.get("id"), source=source,
            connected=agent_id in self.links)
        sent = await self._send_action(action)
        return {"jti": jti, "status": "sent" if sent else "pending", "exp": claims.get("exp")}

    async def send_test_action(self, agent_id, token):
        if agent_id not in self.links:
            raise ApiError(409, f"{agent_id} is not connected")
        if not isinstance(token, str):
            raise ApiError(400, "eat must be a string")
        return await self._register_action(agent_id, token, minting.peek_claims(token),
                                           source="test", remote=None)

    async def resend_action(self, agent_id, jti):
        """Test hook: the same `action` frame again, byte for byte the same token."""
        action = self.store.actions.get(jti) if isinstance(jti, str) else None
        if action is None or action["agent_id"] != agent_id:
            raise ApiError(404, f"no action {jti!r} for {agent_id}")
        if not action.get("token"):
            raise ApiError(409, f"the token of {jti} is no longer kept (its result arrived)")
        link = self.links.get(agent_id)
        if link is None:
            raise ApiError(409, f"{agent_id} is not connected")
        if not await link.send_json({"type": "action", "eat": action["token"]}):
            raise ApiError(409, "the connection closed")
        action["resent"] = action.get("resent", 0) + 1
        self.store.save_actions()
        self.audit.append("restart.resent", jti=jti, agent_id=agent_id, app_id=action["app_id"])
        log("restart.resent", agent=agent_id, jti=jti)
        return {"jti": jti, "resent": action["resent"]}

    def action_view(self, action):
        return {k: v for k, v in action.items() if k != "token"}

    # ------------------------------------------------------------------ liveness

    def check_liveness(self):
        changed = False
        for app in list(self.store.apps.values()):
            last_state = (self.store.agents.get(app["agent_id"]) or {}).get("last_state")
            if not last_state:
                continue
            entry = next((e for e in last_state["apps"] if e["id"] == app["id"]), None)
            if entry is None:
                continue
            counters = self.store.liveness.setdefault(app["id"], liveness.new_counters())
            before = dict(counters)
            events = liveness.step(counters, app["expected_state"], entry["observed"])
            counters["checked_at"] = now_iso()
            changed = changed or before != {**counters, "checked_at": before["checked_at"]}
            details = {"app_id": app["id"], "agent_id": app["agent_id"],
                       "expected": app["expected_state"], "observed": entry["observed"],
                       "detail": entry["detail"],
                       "consecutive_mismatch": counters["consecutive_mismatch"],
                       "consecutive_unknown": counters["consecutive_unknown"]}
            for event in events:
                if event == "mismatch":
                    self.audit.append("app.state_mismatch", **details)
                    log("app.state_mismatch", app=app["id"], expected=app["expected_state"],
                        observed=entry["observed"], count=counters["consecutive_mismatch"])
                elif event == "alert":
                    alert = {"id": f"alert-{len(self.store.alerts) + 1}", "ts": now_iso(),
                             "severity": "warning", **details, "name": app["name"],
                             "identifier": app["identifier"], "cleared_at": None,
                             "message": f"{app['name']} ({app['app_type']} {app['identifier']} "
                                        f"on {app['agent_id']}) is {entry['observed']}, "
                                        f"expected {app['expected_state']}, "
                                        f"{counters['consecutive_mismatch']} checks in a row"}
                    self.store.alerts.append(alert)
                    self.store.save_alerts()
                    self.audit.append("alert", **alert)
                    log("alert", app=app["id"], message=alert["message"])
                elif event == "cleared":
                    for alert in self.store.alerts:
                        if alert["app_id"] == app["id"] and alert["cleared_at"] is None:
                            alert["cleared_at"] = now_iso()
                    self.store.save_alerts()
                    self.audit.append("alert.cleared", app_id=app["id"],
                                      agent_id=app["agent_id"], observed=entry["observed"])
                    log("alert.cleared", app=app["id"])
        if changed:
            self.store.save_apps()
