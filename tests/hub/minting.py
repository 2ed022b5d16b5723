"""Emergency Action Tokens as the hub mints them (docs/eat.md), with PyJWT's EdDSA."""

import base64
import hashlib
import json
import time
import uuid

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519

TYP = "monsys-eat+jwt"
AUDIENCE = "monsys-agent"
ACTION = "restart-app"
TTL_SECS = 120
MAX_TOKEN_BYTES = 8192   # docs/eat.md: a longer token is refused as too_large


def load_signing_key(path):
    with open(path, "rb") as f:
        try:
            key = serialization.load_pem_private_key(f.read(), password=None)
        except (ValueError, TypeError):
            raise ValueError(f"{path} is not an unencrypted PEM private key") from None
    if not isinstance(key, ed25519.Ed25519PrivateKey):
        raise ValueError(f"{path} is not an Ed25519 private key")
    return key


def public_key_base64(key):
    """Standard base64 of the 32 raw public key bytes, as the agent's hub_keys want it."""
    raw = key.public_key().public_bytes(serialization.Encoding.Raw,
                                        serialization.PublicFormat.Raw)
    return base64.b64encode(raw).decode("ascii")


def app_claim(app):
    claim = {"id": app["id"], "type": app["app_type"], "identifier": app["identifier"]}
    if app["app_type"] == "process":
        claim["restart_command"] = app["restart_command"]
    return claim


def mint_restart(key, kid, issuer, app, reason, by, now=None):
    """Returns (token, claims) for restarting `app` (a hub app record) on its agent."""
    now = int(time.time()) if now is None else now
    claims = {
        "iss": issuer,
        "aud": AUDIENCE,
        "sub": app["agent_id"],
        "jti": str(uuid.uuid4()),
        "iat": now,
        "nbf": now,
        "exp": now + TTL_SECS,
        "lvl": 2,
        "act": ACTION,
        "amr": ["otp"],
        "app": app_claim(app),
        "reason": reason,
        "by": by,
    }
    token = jwt.encode(claims, key, algorithm="EdDSA", headers={"kid": kid, "typ": TYP})
    if isinstance(token, bytes):
        token = token.decode("ascii")
    return token, claims


def token_sha256(token):
    return hashlib.sha256(token.encode("utf-8", "surrogateescape")).hexdigest()


def peek_claims(token):
    """The payload of a token, NOT verified (for recording tokens the tests hand in); {} when it
    cannot be read."""
    try:
        part = token.split(".")[1]
        value = json.loads(base64.urlsafe_b64decode(part + "=" * (-len(part) % 4)))
        return value if isinstance(value, dict) else {}
    except (IndexError, ValueError):
        return {}
