"""monsys-action's signatures as the hub checks them (docs/protocol.md, "Result signatures").

Pure functions over strings and dicts; the key pinning and filing live in core.py. Ed25519 comes
from `cryptography`, an implementation independent of the agent's libsodium.

    kid        RFC 7638 thumbprint of the Ed25519 JWK (RFC 8037)
    result     compact JWS, header exactly {"alg":"EdDSA","kid":K,"typ":RESULT_TYP}, payload the
               exact bytes of the action_result's `result`
    rotation   compact JWS signed by the old key, typ ROTATION_TYP, payload
               {"new_jwk", "new_kid", "old_kid", "rotated_at"}
"""

import base64
import hashlib
import json

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

import validate

RESULT_TYP = "monsys-action-result+jws"
ROTATION_TYP = "monsys-action-key-rotation+jws"
MAX_ROTATIONS = 32          # the agent keeps 16; a little slack
MAX_JWS_BYTES = 96 << 20    # the frame cap bounds it anyway
MAX_HEADER_BYTES = 1024


class SignatureProblem(ValueError):
    """Why a signature or key document is not accepted (one line)."""


def b64url_decode(text):
    if not isinstance(text, str) or "=" in text or any(
            c not in "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
            for c in text):
        raise SignatureProblem("not base64url")
    try:
        raw = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except ValueError:
        raise SignatureProblem("not base64url") from None
    if b64url_encode(raw) != text:
        raise SignatureProblem("not canonical base64url")
    return raw


def b64url_encode(raw):
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def thumbprint(jwk):
    """RFC 7638 for an OKP key: SHA-256 over {"crv","kty","x"} sorted, no whitespace."""
    text = json.dumps({"crv": jwk["crv"], "kty": jwk["kty"], "x": jwk["x"]}, sort_keys=True,
                      separators=(",", ":"))
    return b64url_encode(hashlib.sha256(text.encode("ascii")).digest())


def public_key(jwk):
    """The Ed25519 key of a JWK with exactly crv, kty, x."""
    if not isinstance(jwk, dict) or set(jwk) != {"crv", "kty", "x"}:
        raise SignatureProblem("jwk must have exactly crv, kty and x")
    if jwk["kty"] != "OKP" or jwk["crv"] != "Ed25519":
        raise SignatureProblem("jwk must be kty OKP, crv Ed25519")
    raw = b64url_decode(jwk["x"])
    if len(raw) != 32:
        raise SignatureProblem("jwk x is not 32 bytes")
    try:
        return Ed25519PublicKey.from_public_bytes(raw)
    except ValueError as e:
        raise SignatureProblem(f"jwk x is not an Ed25519 key: {e}") from None


def check_key_document(doc):
    """hello's action_key: {"kid", "jwk", "rotations"}; raises SignatureProblem."""
    if not isinstance(doc, dict) or set(doc) != {"kid", "jwk", "rotations"}:
        raise SignatureProblem("action_key must have exactly kid, jwk and rotations")
    public_key(doc["jwk"])
    if doc["kid"] != thumbprint(doc["jwk"]):
        raise SignatureProblem("action_key: kid is not the jwk's thumbprint")
    rotations = doc["rotations"]
    if not isinstance(rotations, list) or len(rotations) > MAX_ROTATIONS or not all(
            isinstance(r, str) and len(r) <= 4096 for r in rotations):
        raise SignatureProblem(f"action_key: rotations must be at most {MAX_ROTATIONS} strings")


def jws_kid(jws):
    """The header's kid without verifying anything, or None."""
    try:
        header = json.loads(b64url_decode(jws.split(".")[0]))
        kid = header.get("kid") if isinstance(header, dict) else None
        return kid if isinstance(kid, str) else None
    except (ValueError, AttributeError, SignatureProblem):
        return None


def verify_compact(jws, typ, jwk):
    """The payload bytes of `jws` if it is a valid EdDSA JWS of `typ` by `jwk`."""
    if not isinstance(jws, str) or len(jws) > MAX_JWS_BYTES:
        raise SignatureProblem("the JWS is not a string of an allowed size")
    parts = jws.split(".")
    if len(parts) != 3:
        raise SignatureProblem("not a compact JWS (three parts)")
    if len(parts[0]) > MAX_HEADER_BYTES:
        raise SignatureProblem("JWS header too large")
    try:
        header = validate.parse_json_strict(b64url_decode(parts[0]).decode("utf-8"))
    except (validate.BadMessage, UnicodeDecodeError) as e:
        raise SignatureProblem(f"JWS header is not JSON: {e}") from None
    if not isinstance(header, dict) or set(header) != {"alg", "kid", "typ"}:
        raise SignatureProblem("JWS header must have exactly alg, kid and typ")
    if header["alg"] != "EdDSA":
        raise SignatureProblem("JWS alg is not EdDSA")
    if header["typ"] != typ:
        raise SignatureProblem(f"JWS typ is not {typ}")
    if header["kid"] != thumbprint(jwk):
        raise SignatureProblem(f"JWS kid {header['kid']!r} is not the key's")
    signature = b64url_decode(parts[2])
    payload = b64url_decode(parts[1])
    try:
        public_key(jwk).verify(signature, f"{parts[0]}.{parts[1]}".encode("ascii"))
    except InvalidSignature:
        raise SignatureProblem("JWS signature does not verify") from None
    return payload


def _canonical(value):
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def check_result(result, result_jws, keys):
    """The kid that signed `result` if `result_jws` verifies with one of `keys` ({kid: jwk}) and
    its payload is `result` (same members, values and JSON types); raises SignatureProblem."""
    if result_jws is None:
        raise SignatureProblem("no result_jws")
    kid = jws_kid(result_jws)
    if kid is None:
        raise SignatureProblem("result_jws has no readable kid")
    jwk = keys.get(kid)
    if jwk is None:
        raise SignatureProblem(f"result_jws is signed with key {kid}, not a key pinned for "
                               "this agent")
    payload = verify_compact(result_jws, RESULT_TYP, jwk)
    try:
        signed = validate.parse_json_strict(payload.decode("utf-8"))
    except (validate.BadMessage, UnicodeDecodeError) as e:
        raise SignatureProblem(f"the signed payload is not JSON: {e}") from None
    if _canonical(signed) != _canonical(result):
        raise SignatureProblem("the signed payload is not the result (it was changed)")
    return kid


def follow_rotations(current_kid, current_jwk, doc):
    """The keys [(kid, jwk, statement), ...] that lead from the trusted `current_kid` to doc's kid through
    doc's rotation statements, each signed by its predecessor; raises SignatureProblem."""
    chain = []
    kid, jwk = current_kid, current_jwk
    for statement in doc["rotations"]:
        if kid == doc["kid"]:
            break
        if jws_kid(statement) != kid:
            continue  # a statement from before the trusted key
        try:
            payload = validate.parse_json_strict(
                verify_compact(statement, ROTATION_TYP, jwk).decode("utf-8"))
        except (validate.BadMessage, UnicodeDecodeError) as e:
            raise SignatureProblem(f"rotation statement of {kid}: {e}") from None
        if not isinstance(payload, dict) or payload.get("old_kid") != kid:
            raise SignatureProblem(f"rotation statement of {kid} does not name it as old_kid")
        new_jwk = payload.get("new_jwk")
        public_key(new_jwk)
        if payload.get("new_kid") != thumbprint(new_jwk):
            raise SignatureProblem(f"rotation statement of {kid}: new_kid is not new_jwk's")
        kid, jwk = payload["new_kid"], new_jwk
        chain.append((kid, jwk, statement))
    if kid != doc["kid"] or jwk != doc["jwk"]:
        raise SignatureProblem(f"no chain of rotation statements leads from the pinned key "
                               f"{current_kid} to {doc['kid']}")
    return chain


def verify_log_signatures(entries):
    """Checks the signatures a transparency log carries (its entries, chain already checked):
    every key entry ("agent.action_key": first use, or a rotation whose statement the previous
    key signed) and every "restart.result" the hub filed as verified (its result_jws verifies with
    that agent's key `kid` and its payload is the result). Returns {"ok": True, "signatures": N,
    "keys": K} or {"ok": False, "bad_index": i, "error": ...}."""
    keys = {}  # agent_id -> {kid: jwk}
    checked = 0
    key_entries = 0
    for index, entry in enumerate(entries):
        event, data = entry.get("event"), entry.get("data")
        if not isinstance(data, dict):
            continue

        def bad(why):
            return {"ok": False, "bad_index": index, "error": why}
        agent = data.get("agent_id")
        try:
            if event == "agent.action_key":
                jwk, kid = data.get("jwk"), data.get("kid")
                public_key(jwk)
                if kid != thumbprint(jwk):
                    return bad(f"key {kid!r} is not its jwk's thumbprint")
                if data.get("how") == "first_use":
                    keys[agent] = {kid: jwk}
                elif data.get("how") == "rotation":
                    previous = keys.get(agent, {}).get(data.get("previous_kid"))
                    if previous is None:
                        return bad(f"rotation from {data.get('previous_kid')!r}, a key not "
                                   f"trusted for {agent} at this point")
                    payload = json.loads(verify_compact(data.get("statement"), ROTATION_TYP,
                                                        previous))
                    if (payload.get("old_kid") != data["previous_kid"]
                            or payload.get("new_kid") != kid or payload.get("new_jwk") != jwk):
                        return bad("the rotation statement does not name this key")
                    keys[agent][kid] = jwk
                else:
                    return bad(f"unknown how {data.get('how')!r}")
                key_entries += 1
            elif event == "agent.action_key_unpinned":
                keys.pop(agent, None)
            elif event == "restart.result" and data.get("signature") == "verified":
                kid = data.get("kid")
                if kid not in keys.get(agent, {}):
                    return bad(f"filed as verified with key {kid!r}, not trusted for {agent} "
                               "at this point")
                check_result(data.get("result"), data.get("result_jws"), keys[agent])
                checked += 1
        except (SignatureProblem, ValueError, TypeError, AttributeError) as e:
            return bad(f"{event}: {e}")
    return {"ok": True, "signatures": checked, "keys": key_entries}


# --- signing, for tests that play monsys-action (the real one signs with libsodium) ---

def jwk_of(private_key):
    raw = private_key.public_key().public_bytes(serialization.Encoding.Raw,
                                                serialization.PublicFormat.Raw)
    return {"crv": "Ed25519", "kty": "OKP", "x": b64url_encode(raw)}


def sign_compact(private_key, typ, payload):
    """A compact JWS as monsys-action makes it; `payload` is bytes or str."""
    if isinstance(payload, str):
        payload = payload.encode("utf-8")
    header = json.dumps({"alg": "EdDSA", "kid": thumbprint(jwk_of(private_key)), "typ": typ},
                        separators=(",", ":"), sort_keys=True).encode("utf-8")
    signing_input = f"{b64url_encode(header)}.{b64url_encode(payload)}"
    return signing_input + "." + b64url_encode(private_key.sign(signing_input.encode("ascii")))


def rotation_statement(old_key, new_key, rotated_at="2026-11-29T01:00:00.000Z"):
    new_jwk = jwk_of(new_key)
    payload = {"new_jwk": new_jwk, "new_kid": thumbprint(new_jwk),
               "old_kid": thumbprint(jwk_of(old_key)), "rotated_at": rotated_at}
    return sign_compact(old_key, ROTATION_TYP, json.dumps(payload, separators=(",", ":")))


def key_document(private_key, rotations=()):
    jwk = jwk_of(private_key)
    return {"kid": thumbprint(jwk), "jwk": jwk, "rotations": list(rotations)}
