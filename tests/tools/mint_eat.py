#!/usr/bin/python3
"""Mint Emergency Action Tokens (EAT) for tests, with a library independent of the agent.

Well-formed tokens are made by PyJWT (jwt.encode with algorithm="EdDSA"). The malformed ones
PyJWT will not produce (duplicate member names, padding, illegal characters, alg "none" or
"Ed25519", header overrides, tampering after signing) are assembled here and signed over the raw
bytes with the Ed25519 of python3-cryptography. Run with /usr/bin/python3 (Debian's python3-jwt
and python3-cryptography).

Examples:
  # a valid token for agent "web-01", restarting nginx.service, valid for 120 s from now
  mint_eat.py --key tests/fixtures/eat/hub-1.pem --kid hub-1 --sub web-01 \\
      --app-id app-7 --app-type systemd --identifier nginx.service

  # a process app, and print the token together with its header and claims as JSON
  mint_eat.py --key hub-1.pem --app-type process --identifier /opt/app/bin/app \\
      --restart-command /opt/app/bin/restart --json

  # any claim, or its removal (null), through --claims; expired a minute ago
  mint_eat.py --key hub-1.pem --claims '{"exp": 1767225540, "reason": null}'

  # the hostile cases
  mint_eat.py --key hub-1.pem --alg none
  mint_eat.py --key hub-1.pem --header '{"crit": ["exp"]}'
  mint_eat.py --key hub-1.pem --raw-payload '{"sub":"a","sub":"b"}'
  mint_eat.py --key hub-1.pem --mutate strip-signature
  mint_eat.py --key hub-1.pem --tamper-claims '{"lvl": 9}'

  # keys: make a new hub key, or print the public key of one (standard base64, padded)
  mint_eat.py --generate-key /tmp/hub-9.pem
  mint_eat.py --public-key tests/fixtures/eat/hub-1.pem

The token goes to stdout followed by a newline; errors go to stderr with exit status 2.
"""

import argparse
import base64
import hashlib
import hmac
import json
import sys
import time
import uuid

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519, padding, rsa
from cryptography.hazmat.primitives.hashes import SHA256

TYP = "monsys-eat+jwt"
DEFAULT_TTL = 120

MUTATIONS = {
    "strip-signature": "remove the signature part (the token ends with '.')",
    "flip-signature": "flip one bit of the signature",
    "short-signature": "a 32-byte signature instead of 64",
    "pad-header": "base64 '=' padding on the header part (signed as such)",
    "pad-payload": "base64 '=' padding on the payload part (signed as such)",
    "pad-signature": "base64 '=' padding on the signature part",
    "plus-in-payload": "a '+' (standard alphabet) inside the payload part (signed as such)",
    "slash-in-header": "a '/' (standard alphabet) inside the header part (signed as such)",
    "space-in-payload": "a space inside the payload part (signed as such)",
    "newline-in-payload": "a newline inside the payload part (signed as such)",
    "star-in-signature": "a '*' inside the signature part",
}

# Mutations of the signed text: they must be applied before signing, so PyJWT cannot be used.
PRE_SIGNING = {"pad-header", "pad-payload", "plus-in-payload", "slash-in-header",
               "space-in-payload", "newline-in-payload"}


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def compact_json(value) -> str:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def load_private_key(path: str) -> ed25519.Ed25519PrivateKey:
    with open(path, "rb") as f:
        key = serialization.load_pem_private_key(f.read(), password=None)
    if not isinstance(key, ed25519.Ed25519PrivateKey):
        raise ValueError(f"{path} is not an Ed25519 private key")
    return key


def public_key_base64(key: ed25519.Ed25519PrivateKey) -> str:
    raw = key.public_key().public_bytes(serialization.Encoding.Raw,
                                        serialization.PublicFormat.Raw)
    return base64.b64encode(raw).decode("ascii")


def generate_key(path: str) -> ed25519.Ed25519PrivateKey:
    key = ed25519.Ed25519PrivateKey.generate()
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                            serialization.NoEncryption())
    with open(path, "wb") as f:
        f.write(pem)
    return key


def default_claims(now: int, ttl: int = DEFAULT_TTL) -> dict:
    return {
        "iss": "monsys-hub",
        "aud": "monsys-agent",
        "sub": "agent-test",
        "jti": str(uuid.uuid4()),
        "iat": now,
        "nbf": now,
        "exp": now + ttl,
        "lvl": 2,
        "act": "restart-app",
        "amr": ["otp"],
        "app": {"id": "app-1", "type": "systemd", "identifier": "nginx.service"},
        "reason": "minted for a test",
    }


def merge(base: dict, changes: dict) -> dict:
    """Shallow merge; a None (JSON null) value removes the member."""
    out = dict(base)
    for name, value in changes.items():
        if value is None:
            out.pop(name, None)
        else:
            out[name] = value
    return out


def _insert_middle(part: str, char: str) -> str:
    middle = len(part) // 2
    return part[:middle] + char + part[middle:]


def _padded_part(text: str) -> str:
    """base64url of text with '=' padding; whitespace is added to the JSON until padding is due."""
    while len(text.encode()) % 3 == 0:
        text += " "
    return base64.urlsafe_b64encode(text.encode()).decode("ascii")


def _sign(alg: str, key, signing_input: bytes) -> bytes:
    if alg in ("EdDSA", "Ed25519"):
        return key.sign(signing_input)
    if alg == "none":
        return b""
    if alg == "HS256":
        # The key-confusion attempt: the hub's public key used as an HMAC secret.
        secret = base64.b64decode(public_key_base64(key))
        return hmac.new(secret, signing_input, hashlib.sha256).digest()
    if alg == "RS256":
        rsa_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        return rsa_key.sign(signing_input, padding.PKCS1v15(), SHA256())
    raise ValueError(f"cannot sign with alg {alg!r} (use --header to only name it)")


def mint(key: ed25519.Ed25519PrivateKey, kid, claims: dict, *, alg: str = "EdDSA",
         typ=TYP, header: dict | None = None, raw_header: str | None = None,
         raw_payload: str | None = None, mutations=(), tamper_claims: dict | None = None,
         pad_to: int | None = None) -> str:
    """Returns a compact JWS. `alg` is the signing algorithm and the header's alg unless
    `header` overrides it; kid or typ None leaves the member out."""
    unknown = set(mutations) - set(MUTATIONS)
    if unknown:
        raise ValueError(f"unknown mutation(s): {', '.join(sorted(unknown))}")
    if pad_to is not None:
        return _mint_padded_to(key, kid, claims, pad_to, alg=alg, typ=typ, header=header,
                               raw_header=raw_header, mutations=mutations,
                               tamper_claims=tamper_claims)

    header_members = {"alg": alg}
    if typ is not None:
        header_members["typ"] = typ
    if kid is not None:
        header_members["kid"] = kid
    header_members = merge(header_members, header or {})

    use_pyjwt = (alg in ("EdDSA", "RS256", "HS256") and raw_header is None
                 and raw_payload is None and not (set(mutations) & PRE_SIGNING)
                 and "alg" not in (header or {}) and typ is not None and kid is not None)
    if use_pyjwt:
        token = _mint_with_pyjwt(key, alg, claims, header_members)
        h, p, s = token.split(".")
    else:
        header_text = raw_header if raw_header is not None else compact_json(header_members)
        payload_text = raw_payload if raw_payload is not None else compact_json(claims)
        h = _padded_part(header_text) if "pad-header" in mutations else b64url(
            header_text.encode())
        p = _padded_part(payload_text) if "pad-payload" in mutations else b64url(
            payload_text.encode())
        if "plus-in-payload" in mutations:
            p = _insert_middle(p, "+")
        if "space-in-payload" in mutations:
            p = _insert_middle(p, " ")
        if "newline-in-payload" in mutations:
            p = _insert_middle(p, "\n")
        if "slash-in-header" in mutations:
            h = _insert_middle(h, "/")
        s = b64url(_sign(alg, key, f"{h}.{p}".encode("ascii")))

    if tamper_claims is not None:
        p = b64url(compact_json(merge(claims, tamper_claims)).encode())
    if "flip-signature" in mutations:
        raw = bytearray(base64.urlsafe_b64decode(s + "=" * (-len(s) % 4)))
        raw[len(raw) // 2] ^= 0x01
        s = b64url(bytes(raw))
    if "short-signature" in mutations:
        s = b64url(base64.urlsafe_b64decode(s + "=" * (-len(s) % 4))[:32])
    if "pad-signature" in mutations:
        s = base64.urlsafe_b64encode(base64.urlsafe_b64decode(s + "=" * (-len(s) % 4))).decode()
    if "star-in-signature" in mutations:
        s = _insert_middle(s, "*")
    if "strip-signature" in mutations:
        s = ""
    return f"{h}.{p}.{s}"


def _mint_with_pyjwt(key, alg: str, claims: dict, header_members: dict) -> str:
    extra = {name: value for name, value in header_members.items() if name != "alg"}
    if alg == "EdDSA":
        signing_key = key
    elif alg == "HS256":
        signing_key = base64.b64decode(public_key_base64(key))
    else:  # RS256
        signing_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    token = jwt.encode(claims, signing_key, algorithm=alg, headers=extra)
    return token if isinstance(token, str) else token.decode("ascii")


def _mint_padded_to(key, kid, claims: dict, size: int, **options) -> str:
    """Grows a "pad" claim until the token is `size` bytes, or the first size above it (base64url
    cannot produce every length)."""
    length = 0
    while True:
        token = mint(key, kid, merge(claims, {"pad": "x" * length}), **options)
        if len(token) >= size:
            return token
        length += max(1, (size - len(token)) * 3 // 4 - 2)


def parse_json_object(text: str, option: str) -> dict:
    try:
        value = json.loads(text)
    except json.JSONDecodeError as e:
        raise ValueError(f"{option}: not JSON: {e}") from None
    if not isinstance(value, dict):
        raise ValueError(f"{option}: not a JSON object")
    return value


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="mint_eat.py", description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter)
    keys = parser.add_argument_group("keys")
    keys.add_argument("--key", metavar="PEM",
                      help="Ed25519 private key (PKCS#8 PEM) that signs the token")
    keys.add_argument("--kid", default="hub-1",
                      help="header kid (default: hub-1); --kid '' leaves it out")
    keys.add_argument("--generate-key", metavar="PEM",
                      help="write a new Ed25519 private key to PEM, print its public key, exit")
    keys.add_argument("--public-key", metavar="PEM",
                      help="print the public key of PEM as standard base64, exit")

    claims = parser.add_argument_group(
        "claims", "defaults: iss monsys-hub, aud monsys-agent, sub agent-test, jti a random "
        "UUID, iat = nbf = now, exp = now + ttl, lvl 2, act restart-app, amr [\"otp\"], app "
        "{id app-1, type systemd, identifier nginx.service}, reason \"minted for a test\". "
        "Applied in this order: defaults, the options below, then --claims.")
    claims.add_argument("--now", type=int, help="Unix time the defaults are based on "
                        "(default: the current time)")
    claims.add_argument("--ttl", type=int, default=DEFAULT_TTL,
                        help=f"seconds from now to the default exp (default: {DEFAULT_TTL})")
    claims.add_argument("--iss", help="issuer")
    claims.add_argument("--sub", help="agent id the token is for")
    claims.add_argument("--jti", help="token id (default: a random UUID)")
    claims.add_argument("--lvl", type=int, help="authorization level")
    claims.add_argument("--app-id", help="app.id")
    claims.add_argument("--app-type", choices=["systemd", "docker", "compose", "process"],
                        help="app.type")
    claims.add_argument("--identifier", help="app.identifier")
    claims.add_argument("--restart-command", help="app.restart_command (process apps)")
    claims.add_argument("--reason", help="reason")
    claims.add_argument("--claims", metavar="JSON",
                        help="JSON object merged over the claims (shallow: an app given here "
                        "replaces the whole app); a null value removes a claim")
    claims.add_argument("--no-defaults", action="store_true",
                        help="start from no claims: only --claims and the options above")

    header = parser.add_argument_group("header and hostile variants")
    header.add_argument("--alg", default="EdDSA",
                        choices=["EdDSA", "Ed25519", "none", "HS256", "RS256"],
                        help="signing algorithm and header alg (default: EdDSA). none: empty "
                        "signature; HS256: HMAC keyed with the hub's raw public key; RS256: a "
                        "fresh RSA key")
    header.add_argument("--typ", default=TYP,
                        help=f"header typ (default: {TYP}); --typ '' leaves it out")
    header.add_argument("--header", metavar="JSON",
                        help="JSON object merged over the header, e.g. '{\"crit\":[\"exp\"]}'; "
                        "null removes a member; an alg here only names it, --alg still signs")
    header.add_argument("--raw-header", metavar="TEXT",
                        help="the exact header JSON text (e.g. with duplicate member names)")
    header.add_argument("--raw-payload", metavar="TEXT",
                        help="the exact payload JSON text (e.g. with duplicate member names)")
    header.add_argument("--mutate", action="append", default=[], metavar="KIND",
                        choices=sorted(MUTATIONS),
                        help="repeatable; one of: " + "; ".join(
                            f"{name}: {about}" for name, about in MUTATIONS.items()))
    header.add_argument("--tamper-claims", metavar="JSON",
                        help="after signing, replace the payload by the claims merged with this")
    header.add_argument("--pad-to", type=int, metavar="BYTES",
                        help="add a \"pad\" claim until the token is at least BYTES long")

    parser.add_argument("--json", action="store_true",
                        help="print {\"token\", \"header\", \"claims\"} as JSON instead")
    return parser


def main(argv=None) -> int:
    args = build_parser().parse_args(argv)
    try:
        if args.generate_key:
            print(public_key_base64(generate_key(args.generate_key)))
            return 0
        if args.public_key:
            print(public_key_base64(load_private_key(args.public_key)))
            return 0
        if not args.key:
            raise ValueError("--key is required to mint a token")
        key = load_private_key(args.key)

        now = args.now if args.now is not None else int(time.time())
        claims = {} if args.no_defaults else default_claims(now, args.ttl)
        for name in ("iss", "sub", "jti", "lvl", "reason"):
            if getattr(args, name) is not None:
                claims[name] = getattr(args, name)
        app_changes = {"id": args.app_id, "type": args.app_type,
                       "identifier": args.identifier, "restart_command": args.restart_command}
        if any(value is not None for value in app_changes.values()):
            claims["app"] = dict(claims.get("app", {}))
            claims["app"].update({k: v for k, v in app_changes.items() if v is not None})
        if args.claims:
            claims = merge(claims, parse_json_object(args.claims, "--claims"))

        token = mint(
            key, args.kid or None, claims, alg=args.alg, typ=args.typ or None,
            header=parse_json_object(args.header, "--header") if args.header else None,
            raw_header=args.raw_header, raw_payload=args.raw_payload, mutations=args.mutate,
            tamper_claims=(parse_json_object(args.tamper_claims, "--tamper-claims")
                           if args.tamper_claims else None),
            pad_to=args.pad_to)
    except (OSError, ValueError, TypeError) as e:
        print(f"mint_eat.py: {e}", file=sys.stderr)
        return 2

    if args.json:
        header_part = token.split(".")[0]
        try:
            header_value = json.loads(base64.urlsafe_b64decode(
                header_part + "=" * (-len(header_part) % 4)))
        except ValueError:
            header_value = None
        print(json.dumps({"token": token, "header": header_value, "claims": claims}))
    else:
        print(token)
    return 0


if __name__ == "__main__":
    sys.exit(main())
