"""The hub's state, kept in memory and persisted in the state directory as JSON files, each
replaced atomically (write a temporary file, fsync, rename, fsync the directory).

    apps.json             tracked apps, the next app number, liveness counters
    agents.json           per agent: hello, connection times, seen seqs, latest state, counters
    inventory-<id>.json   per agent: the latest inventory message as received
    actions.json          restart requests by jti (a pending token is kept until it is sent)
    alerts.json           raised alerts
    results.jsonl         every stored action_result (append-only, one per line)
    audit.jsonl, transparency.jsonl   the evidence (evidence.py)
"""

import json
import os

from evidence import read_jsonl, append_jsonl


def write_json_atomic(path, value, indent=1):
    directory = os.path.dirname(path) or "."
    tmp = f"{path}.tmp"
    data = json.dumps(value, ensure_ascii=False, indent=indent,
                      separators=None if indent else (",", ":")).encode("utf-8")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o640)
    try:
        os.write(fd, data)
        os.fsync(fd)
    finally:
        os.close(fd)
    os.rename(tmp, path)
    dfd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(dfd)
    finally:
        os.close(dfd)


def read_json(path, default):
    try:
        with open(path, encoding="utf-8") as f:
            return json.load(f)
    except FileNotFoundError:
        return default


def new_agent_record(agent_id):
    return {
        "agent_id": agent_id,
        "hello": None,                 # the last hello, without "type"
        "connected_at": None,          # of the current or last connection
        "disconnected_at": None,
        "last_seen_at": None,          # last frame received
        "max_seq": 0,                  # highest seq stored (and acked)
        "seen": {},                    # str(seq) -> {"type", "sha256"}
        "last_inventory": None,        # {"seq", "kind", "collected_at", "received_at", "rows"}
        "last_state": None,            # {"seq", "observed_at", "apps", "received_at"}
        "action_key": None,            # the pinned monsys-action key (core.py, _on_action_key)
        "counters": {
            "frames": 0, "hello": 0, "inventory": 0, "state": 0, "action_result": 0,
            "duplicate_seq": 0, "duplicate_jti": 0, "seq_conflicts": 0, "bad_messages": 0,
            "unknown_types": 0, "connections": 0,
        },
    }


def verified_jti(record):
    """The jti the agent verified (result.jti), or None for a refusal of an unverifiable token."""
    inner = (record.get("result") or {}).get("jti")
    return inner if isinstance(inner, str) and inner else None


class Store:
    def __init__(self, state_dir):
        self.dir = state_dir
        os.makedirs(state_dir, exist_ok=True)
        apps = read_json(self._p("apps.json"), {})
        self.apps = apps.get("apps", {})                   # id -> app
        self.next_app = apps.get("next_app", 1)
        self.liveness = apps.get("liveness", {})           # id -> counters
        self.agents = read_json(self._p("agents.json"), {})
        self.actions = read_json(self._p("actions.json"), {})   # jti -> request
        alerts = read_json(self._p("alerts.json"), {})
        self.alerts = alerts.get("alerts", [])
        self.results = {}                                    # jti -> stored action_result
        self.result_list = []
        for record in read_jsonl(self._p("results.jsonl")):
            self._index_result(record)
        self._inventories = {}

    def _p(self, name):
        return os.path.join(self.dir, name)

    # --- apps ---

    def save_apps(self):
        write_json_atomic(self._p("apps.json"), {"apps": self.apps, "next_app": self.next_app,
                                                 "liveness": self.liveness})

    def new_app_id(self):
        app_id = f"app-{self.next_app}"
        self.next_app += 1
        return app_id

    def apps_of(self, agent_id):
        return sorted((a for a in self.apps.values() if a["agent_id"] == agent_id),
                      key=lambda a: int(a["id"].split("-")[1]))

    # --- agents ---

    def agent(self, agent_id):
        if agent_id not in self.agents:
            self.agents[agent_id] = new_agent_record(agent_id)
        return self.agents[agent_id]

    def save_agents(self):
        write_json_atomic(self._p("agents.json"), self.agents)

    def _inventory_path(self, agent_id):
        return self._p(f"inventory-{agent_id}.json")

    def save_inventory(self, agent_id, message):
        write_json_atomic(self._inventory_path(agent_id), message, indent=None)
        self._inventories[agent_id] = message

    def inventory(self, agent_id):
        if agent_id not in self._inventories:
            self._inventories[agent_id] = read_json(self._inventory_path(agent_id), None)
        return self._inventories[agent_id]

    # --- actions, results, alerts ---

    def save_actions(self):
        write_json_atomic(self._p("actions.json"), self.actions)

    def _index_result(self, record):
        """By jti: the first result of a verified jti (result.jti set) wins; a refusal of an
        unverifiable token (result.jti null, the jti only claimed) is found by its claimed jti
        until a verified result for that jti arrives, and never blocks one."""
        self.result_list.append(record)
        jti = record.get("jti")
        if not jti:
            return
        known = self.results.get(jti)
        if known is None or (verified_jti(record) and not verified_jti(known)):
            self.results[jti] = record

    def append_result(self, record):
        append_jsonl(self._p("results.jsonl"), record)
        self._index_result(record)

    def save_alerts(self):
        write_json_atomic(self._p("alerts.json"), {"alerts": self.alerts})
