"""The hub's evidence: the audit log and the hash-chained transparency log.

Both are JSON Lines files in the state directory, appended to and fsync'd once per entry.

Transparency log entry i (0-based, one line each):

    {"index": i, "ts": TS, "event": EVENT, "data": DATA, "prev_hash": P, "hash": H}

    H = sha256_hex( P + canonical_json({"index": i, "ts": TS, "event": EVENT, "data": DATA}) )

where P is the previous line's H (64 "0" for the first entry), + is concatenation of the UTF-8
bytes, sha256_hex is the lowercase hex digest, and canonical_json is

    json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode("utf-8")

(members sorted by name, no whitespace, non-ASCII characters as UTF-8, not escaped).
"""

import datetime
import hashlib
import json
import os

ZERO_HASH = "0" * 64
ENTRY_KEYS = {"index", "ts", "event", "data", "prev_hash", "hash"}


def now_iso():
    """RFC 3339 UTC with milliseconds, e.g. 2026-11-28T09:14:02.950Z."""
    now = datetime.datetime.now(datetime.timezone.utc)
    return now.strftime("%Y-%m-%dT%H:%M:%S.") + f"{now.microsecond // 1000:03d}Z"


def canonical_json(value):
    return json.dumps(value, sort_keys=True, separators=(",", ":"),
                      ensure_ascii=False).encode("utf-8")


def entry_hash(prev_hash, index, ts, event, data):
    body = canonical_json({"index": index, "ts": ts, "event": event, "data": data})
    return hashlib.sha256(prev_hash.encode("ascii") + body).hexdigest()


def append_jsonl(path, obj):
    line = json.dumps(obj, ensure_ascii=False, separators=(",", ":")) + "\n"
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o640)
    try:
        os.write(fd, line.encode("utf-8"))
        os.fsync(fd)
    finally:
        os.close(fd)


def read_jsonl(path):
    """Every parseable line of a JSON Lines file; a torn last line (crash mid-write) is skipped."""
    entries = []
    try:
        with open(path, encoding="utf-8") as f:
            for line in f:
                try:
                    entries.append(json.loads(line))
                except ValueError:
                    continue
    except FileNotFoundError:
        pass
    return entries


class AuditLog:
    """<state-dir>/audit.jsonl: {"ts", "event", ...details} per line."""

    def __init__(self, path):
        self.path = path
        self.entries = read_jsonl(path)

    def append(self, event, **details):
        entry = {"ts": now_iso(), "event": event, **details}
        append_jsonl(self.path, entry)
        self.entries.append(entry)
        return entry


class TransparencyLog:
    """<state-dir>/transparency.jsonl, append-only and hash-chained (see the module docstring).

    The hub remembers the head (count and last hash) of what it wrote, so `verify` also notices a
    file that was cut short or replaced while the hub runs."""

    def __init__(self, path):
        self.path = path
        self.count = 0
        self.head = ZERO_HASH
        for entry in read_jsonl(path):
            if isinstance(entry, dict) and isinstance(entry.get("hash"), str):
                self.count = entry.get("index", self.count) + 1
                self.head = entry["hash"]

    def append(self, event, data):
        index, ts = self.count, now_iso()
        entry = {"index": index, "ts": ts, "event": event, "data": data,
                 "prev_hash": self.head, "hash": entry_hash(self.head, index, ts, event, data)}
        append_jsonl(self.path, entry)
        self.count, self.head = index + 1, entry["hash"]
        return entry

    def verify(self):
        result = verify_file(self.path)
        if result["ok"] and (result["entries"] != self.count or result["head"] != self.head):
            return {"ok": False, "entries": result["entries"], "bad_index": result["entries"],
                    "error": f"the file ends after {result['entries']} entries with head "
                             f"{result['head']}, the hub wrote {self.count} with head {self.head}"}
        return result


def verify_file(path):
    """{"ok": True, "entries": N, "head": H} or {"ok": False, "bad_index": i, "line": n,
    "error": ...} for the first entry (0-based index i, 1-based line n) that breaks the chain."""
    prev = ZERO_HASH
    count = 0
    try:
        f = open(path, "rb")
    except FileNotFoundError:
        return {"ok": True, "entries": 0, "head": ZERO_HASH}
    with f:
        for lineno, raw in enumerate(f, start=1):
            def bad(why):
                return {"ok": False, "entries": count, "bad_index": count, "line": lineno,
                        "error": why}
            if not raw.endswith(b"\n"):
                return bad("the line is not terminated (truncated write?)")
            try:
                entry = json.loads(raw.decode("utf-8"))
            except ValueError as e:
                return bad(f"not JSON: {e}")
            if not isinstance(entry, dict) or set(entry) != ENTRY_KEYS:
                return bad("not an object with exactly the members "
                           + ", ".join(sorted(ENTRY_KEYS)))
            if entry["index"] != count or isinstance(entry["index"], bool):
                return bad(f"index is {entry['index']!r}, expected {count}")
            if entry["prev_hash"] != prev:
                return bad(f"prev_hash {entry['prev_hash']!r} is not the previous hash {prev}")
            if not isinstance(entry["ts"], str) or not isinstance(entry["event"], str):
                return bad("ts and event must be strings")
            expected = entry_hash(prev, entry["index"], entry["ts"], entry["event"],
                                  entry["data"])
            if entry["hash"] != expected:
                return bad(f"hash {entry['hash']!r} does not match the content ({expected})")
            prev = entry["hash"]
            count += 1
    return {"ok": True, "entries": count, "head": prev}
