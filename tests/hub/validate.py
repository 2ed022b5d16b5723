"""Input checks of the reference hub: the identifier grammar of docs/eat.md, strict JSON parsing
of agent frames, and the shape of every agent message of docs/protocol.md.

Every check returns a problem string (or raises BadMessage) naming the field, so that the
`error` frame and the REST 400 body say what was wrong.
"""

import json
import re

APP_TYPES = ("systemd", "docker", "compose", "process")
OBSERVED_STATES = ("running", "stopped", "unknown")
EXPECTED_STATES = ("running", "stopped")
REPORTED_BY = ("monsys-action", "agent", "agent-recovery")
RESULT_STATUSES = ("succeeded", "failed", "rejected", "timeout")
DROP_COUNTS = ("results_evicted", "refusals_evicted", "refusals_suppressed",
               "action_frames_dropped")

UNIT_SUFFIXES = (".service", ".socket", ".target", ".timer", ".path", ".mount", ".automount",
                 ".swap", ".slice", ".scope", ".device")
_UNIT_STEM = re.compile(r"[A-Za-z0-9:_.\\@-]*")
_DOCKER_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]*")
_COMPOSE_PROJECT = re.compile(r"[a-z0-9][a-z0-9_-]*")
AGENT_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,127}")


class BadMessage(ValueError):
    """A frame from the agent that the hub refuses (answered with an `error` frame)."""

    def __init__(self, message, code="bad_message"):
        super().__init__(message)
        self.code = code


# --- identifiers (docs/eat.md, "Identifier grammar per app type") ---

def _is_unit_name(name):
    if not name or len(name.encode()) > 255 or name[0] in "-.@":
        return False
    suffix = next((s for s in UNIT_SUFFIXES if len(name) > len(s) and name.endswith(s)), None)
    if suffix is None:
        return False
    stem = name[:-len(suffix)]
    return bool(_UNIT_STEM.fullmatch(stem)) and stem.count("@") <= 1


def _is_docker_name(name):
    return bool(_DOCKER_NAME.fullmatch(name)) and len(name) <= 255


def is_absolute_normalized_path(path):
    if not isinstance(path, str) or not 2 <= len(path) <= 4096:
        return False
    if path[0] != "/" or path[-1] == "/":
        return False
    if any(not 0x20 <= ord(c) <= 0x7e for c in path):
        return False
    return all(part not in ("", ".", "..") for part in path[1:].split("/"))


def identifier_problem(app_type, identifier):
    """None when `identifier` fits the grammar of `app_type`, else why not."""
    if not isinstance(identifier, str):
        return "identifier must be a string"
    if app_type == "systemd":
        ok = _is_unit_name(identifier)
        hint = "not a valid systemd unit name (e.g. nginx.service)"
    elif app_type == "docker":
        ok = _is_docker_name(identifier)
        hint = "not a valid container name or id"
    elif app_type == "compose":
        parts = identifier.split("::")
        ok = (len(parts) == 2 and bool(_COMPOSE_PROJECT.fullmatch(parts[0]))
              and len(parts[0]) <= 255 and _is_docker_name(parts[1]))
        hint = "not a valid compose service (<project>::<service>, e.g. flowd_dev::app)"
    elif app_type == "process":
        ok = is_absolute_normalized_path(identifier)
        hint = "not an absolute, normalized path"
    else:
        return f"unknown app_type {app_type!r}"
    return None if ok else f"identifier {identifier!r}: {hint}"


# --- strict JSON ---

def _no_duplicates(pairs):
    obj = {}
    for name, value in pairs:
        if name in obj:
            raise BadMessage(f"duplicate member name {name!r}")
        obj[name] = value
    return obj


def _no_constant(name):
    raise BadMessage(f"{name} is not JSON")


_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F]")


def _unencodable(value):
    """True when a string in `value` (a member name too) cannot be written as UTF-8: a lone
    surrogate escape such as "\\ud800" that json.loads lets through."""
    if isinstance(value, str):
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            return True
        return False
    if isinstance(value, dict):
        return any(_unencodable(k) or _unencodable(v) for k, v in value.items())
    if isinstance(value, list):
        return any(_unencodable(v) for v in value)
    return False


def parse_json_strict(text):
    """json.loads refusing duplicate member names, NaN/Infinity, absurd nesting and lone
    surrogates (which could not be stored as UTF-8)."""
    try:
        value = json.loads(text, object_pairs_hook=_no_duplicates, parse_constant=_no_constant)
    except BadMessage:
        raise
    except RecursionError:
        raise BadMessage("JSON nested too deeply") from None
    except ValueError as e:
        raise BadMessage(f"invalid JSON: {e}") from None
    if _SURROGATE_ESCAPE.search(text) and _unencodable(value):
        raise BadMessage("a string holds a lone UTF-16 surrogate (not valid Unicode)")
    return value


# --- agent messages (docs/protocol.md, "Agent -> hub") ---

def _is_int(value):
    return isinstance(value, int) and not isinstance(value, bool)


def _require(msg, name, kind, what, *, nullable=False):
    if name not in msg:
        raise BadMessage(f"{msg['type']}: missing {name}")
    value = msg[name]
    if value is None and nullable:
        return None
    if kind == "int":
        ok = _is_int(value)
    else:
        ok = isinstance(value, kind)
    if not ok:
        raise BadMessage(f"{msg['type']}: {name} must be {what}")
    return value


def _check_seq(msg):
    seq = _require(msg, "seq", "int", "an integer")
    if seq < 1:
        raise BadMessage(f"{msg['type']}: seq must be at least 1")
    return seq


def check_hello(msg):
    _require(msg, "agent_id", str, "a string")
    for name in ("version", "hostname", "boot_id"):
        if name in msg:
            _require(msg, name, str, "a string")
    for name in ("tags", "capabilities"):
        if name in msg:
            value = _require(msg, name, list, "an array of strings")
            if not all(isinstance(v, str) for v in value):
                raise BadMessage(f"hello: {name} must be an array of strings")
    if "action_key" in msg and msg["action_key"] is not None and not isinstance(
            msg["action_key"], dict):
        raise BadMessage("hello: action_key must be an object or null")
    if "dropped" in msg:
        dropped = msg["dropped"]
        if not isinstance(dropped, dict) or set(dropped) != set(DROP_COUNTS) or not all(
                _is_int(v) and v >= 0 for v in dropped.values()):
            raise BadMessage("hello: dropped must be an object of the non-negative integers "
                             + ", ".join(DROP_COUNTS))
    seq = _require(msg, "last_acked_seq", "int", "an integer")
    if seq < 0:
        raise BadMessage("hello: last_acked_seq must not be negative")


def check_inventory(msg):
    _check_seq(msg)
    _require(msg, "kind", str, "a string")
    _require(msg, "collected_at", str, "a string")
    inventory = _require(msg, "inventory", dict, "an object")
    rows = inventory.get("discovered")
    if not isinstance(rows, list):
        raise BadMessage("inventory: inventory.discovered must be an array")
    for i, row in enumerate(rows):
        if not isinstance(row, dict):
            raise BadMessage(f"inventory: inventory.discovered[{i}] must be an object")
        for name in ("type", "identifier", "name", "state"):
            if not isinstance(row.get(name), str):
                raise BadMessage(f"inventory: inventory.discovered[{i}].{name} must be a string")
        if row["state"] not in OBSERVED_STATES:
            raise BadMessage(f"inventory: inventory.discovered[{i}].state must be one of "
                             + ", ".join(OBSERVED_STATES))


def check_state(msg):
    _check_seq(msg)
    _require(msg, "observed_at", str, "a string")
    apps = _require(msg, "apps", list, "an array")
    for i, app in enumerate(apps):
        if not isinstance(app, dict):
            raise BadMessage(f"state: apps[{i}] must be an object")
        for name in ("id", "observed", "detail", "changed_at"):
            if not isinstance(app.get(name), str):
                raise BadMessage(f"state: apps[{i}].{name} must be a string")
        if app["observed"] not in OBSERVED_STATES:
            raise BadMessage(f"state: apps[{i}].observed must be one of "
                             + ", ".join(OBSERVED_STATES))


def check_action_result(msg):
    _check_seq(msg)
    # A string; null or "" are taken when the agent could not read one (a token refused before
    # its signature verified): such a result is then unique by its seq alone.
    _require(msg, "jti", str, "a string or null", nullable=True)
    reported_by = _require(msg, "reported_by", str, "a string")
    if reported_by not in REPORTED_BY:
        raise BadMessage("action_result: reported_by must be one of " + ", ".join(REPORTED_BY))
    result = _require(msg, "result", dict, "an object")
    if result.get("status") not in RESULT_STATUSES:
        raise BadMessage("action_result: result.status must be one of "
                         + ", ".join(RESULT_STATUSES))
    for name in ("jti", "reason", "message", "app_id"):
        if name in result and result[name] is not None and not isinstance(result[name], str):
            raise BadMessage(f"action_result: result.{name} must be a string or null")
    if "exit_code" in result and result["exit_code"] is not None and not _is_int(
            result["exit_code"]):
        raise BadMessage("action_result: result.exit_code must be an integer or null")
    if "result_jws" in msg and not isinstance(msg["result_jws"], str):
        raise BadMessage("action_result: result_jws must be a string")


DATA_CHECKS = {"inventory": check_inventory, "state": check_state,
               "action_result": check_action_result}


def parse_agent_frame(text):
    """The message object of one text frame; raises BadMessage."""
    msg = parse_json_strict(text)
    if not isinstance(msg, dict):
        raise BadMessage("a frame must hold a JSON object")
    kind = msg.get("type")
    if not isinstance(kind, str):
        raise BadMessage("missing or non-string type")
    return msg


def result_jti(msg):
    """The jti an action_result is unique by: the message's, else the result's, else None."""
    if isinstance(msg.get("jti"), str) and msg["jti"]:
        return msg["jti"]
    inner = msg.get("result", {}).get("jti")
    return inner if isinstance(inner, str) and inner else None
