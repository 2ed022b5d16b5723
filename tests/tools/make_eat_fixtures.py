#!/usr/bin/python3
"""Regenerates tests/fixtures/eat/tokens.json (and keys.json) from the committed hub keys.

Every token is minted at the fixed time NOW by mint_eat.py (PyJWT, or raw Ed25519 signing for
what PyJWT will not produce), so the unit tests verify them with that fixed now. Each entry says
what the verifier must answer ("ok" or a refusal reason) and, where the settings differ from
the common ones, the override. Ed25519 signatures are deterministic, so re-running changes
nothing but the RS256 tokens (a fresh RSA key each time).

  /usr/bin/python3 tests/tools/make_eat_fixtures.py            # rewrite tokens.json, keys.json
  /usr/bin/python3 tests/tools/make_eat_fixtures.py --new-keys # also replace the hub keys
"""

import argparse
import base64
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import mint_eat  # noqa: E402

FIXTURES = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "fixtures", "eat")
NOW = 1767225600  # 2026-01-01T00:00:00Z
SKEW = 30
MAX_LIFETIME = 300

# hub-0 is a rotated-out key: its kid is no longer pinned. hub-1 and hub-2 are pinned.
KEYS = {
    "hub-0": {"pinned": False, "about": "rotated out; no longer pinned"},
    "hub-1": {"pinned": True, "about": "the current hub key"},
    "hub-2": {"pinned": True, "about": "a second pinned key (rotation overlap)"},
}

HOSTILE_IDENTIFIERS = {
    "semicolon": "nginx.service; rm -rf /",
    "command_substitution": "$(id)",
    "backticks": "`id`",
    "newline": "nginx\n.service",
    "leading_dash": "-nginx.service",
    "dot_dot": "../etc/passwd",
}


def load_keys(new_keys: bool) -> dict:
    keys = {}
    for kid in KEYS:
        path = os.path.join(FIXTURES, f"{kid}.pem")
        keys[kid] = mint_eat.generate_key(path) if new_keys or not os.path.exists(path) \
            else mint_eat.load_private_key(path)
    return keys


def build(keys: dict) -> dict:
    tokens = {}

    def claims(**changes):
        base = mint_eat.default_claims(NOW)
        base["jti"] = "fixture-jti"
        return mint_eat.merge(base, changes)

    def add(name, expect, about, token=None, *, key="hub-1", kid="hub-1", settings=None,
            **mint_options):
        if token is None:
            mint_options.setdefault("claims_", claims())
            token_claims = mint_options.pop("claims_")
            token = mint_eat.mint(keys[key], kid, token_claims, **mint_options)
        entry = {"token": token, "expect": expect, "about": about}
        if settings:
            entry["settings"] = settings
        assert name not in tokens, name
        tokens[name] = entry

    def app(**members):
        return {"app": members}

    # Accepted
    add("valid", "ok", "a well-formed token from hub-1")
    add("valid_hub2", "ok", "signed by the second pinned key", key="hub-2", kid="hub-2")
    add("valid_alg_ed25519", "ok", "alg Ed25519 (RFC 9864) instead of EdDSA", alg="Ed25519")
    add("valid_aud_array", "ok", "aud as an array containing monsys-agent",
        claims_=claims(aud=["monsys-console", "monsys-agent"]))
    add("valid_process", "ok", "a process app with its restart command",
        claims_=claims(**app(id="app-9", type="process", identifier="/opt/worker/bin/worker",
                             restart_command="/opt/worker/bin/restart")))
    add("valid_docker", "ok", "a docker app",
        claims_=claims(**app(id="app-2", type="docker", identifier="web-frontend_1")))
    add("valid_compose", "ok", "a compose service",
        claims_=claims(**app(id="app-3", type="compose", identifier="flowd_dev::app")))
    add("valid_optional_claims", "ok", "with by, tid and a reason of exactly 1024 bytes",
        claims_=claims(by="alice@example.org", tid="ticket-42", reason="r" * 1024))
    add("valid_jti_128", "ok", "jti of exactly 128 bytes", claims_=claims(jti="j" * 128))
    add("valid_lvl_3", "ok", "a level above the required one", claims_=claims(lvl=3))
    add("valid_unknown_claim", "ok", "an unknown claim is carried, not refused",
        claims_=claims(ext={"note": "kept in payload"}))
    add("at_size_limit", "ok", "exactly 8192 bytes", pad_to=8192)
    assert len(tokens["at_size_limit"]["token"]) == 8192, "adjust: 8192 is not reachable"

    # Size and structure
    add("oversized", "too_large", "8193 bytes", pad_to=8193)
    assert len(tokens["oversized"]["token"]) == 8193
    valid = tokens["valid"]["token"]
    h, p, s = valid.split(".")
    add("two_parts", "malformed", "header.payload without a signature part", f"{h}.{p}")
    add("four_parts", "malformed", "a fourth part", f"{valid}.{s}")
    add("empty_payload_part", "malformed", "header..signature", f"{h}..{s}")
    add("signature_removed", "missing_signature", "the signature part is empty",
        mutations=["strip-signature"])

    # Encoding
    add("padded_header", "bad_encoding", "'=' padding on the header part (signed as such)",
        mutations=["pad-header"])
    add("padded_payload", "bad_encoding", "'=' padding on the payload part (signed as such)",
        mutations=["pad-payload"])
    add("padded_signature", "bad_encoding", "'=' padding on the signature part",
        mutations=["pad-signature"])
    add("plus_in_payload", "bad_encoding", "'+' (standard alphabet) in the payload, signed",
        mutations=["plus-in-payload"])
    add("slash_in_header", "bad_encoding", "'/' (standard alphabet) in the header, signed",
        mutations=["slash-in-header"])
    add("space_in_payload", "bad_encoding", "a space in the payload part, signed",
        mutations=["space-in-payload"])
    add("newline_in_payload", "bad_encoding", "a newline in the payload part, signed",
        mutations=["newline-in-payload"])
    add("star_in_signature", "bad_encoding", "'*' in the signature part",
        mutations=["star-in-signature"])

    # Header
    add("alg_none", "bad_alg", "alg none with an empty signature", alg="none")
    add("alg_none_signed", "bad_alg", "alg none in the header, Ed25519-signed anyway",
        header={"alg": "none"})
    add("alg_hs256", "bad_alg", "HS256 keyed with the hub's public key (key confusion)",
        alg="HS256")
    add("alg_rs256", "bad_alg", "RS256 with some RSA key", alg="RS256")
    add("alg_missing", "bad_alg", "no alg member", header={"alg": None})
    add("typ_jwt", "bad_typ", "typ JWT instead of monsys-eat+jwt", typ="JWT")
    add("typ_missing", "bad_typ", "no typ member", typ=None)
    add("kid_missing", "bad_header", "no kid member", kid=None)
    add("kid_unknown", "unknown_kid", "a kid that is not pinned", kid="hub-9")
    add("kid_rotated_out", "unknown_kid", "hub-0's own key under its kid, no longer pinned",
        key="hub-0", kid="hub-0")
    add("old_key_under_new_kid", "bad_signature",
        "signed by the rotated-out hub-0 key under kid hub-1, now pinned to a new key",
        key="hub-0", kid="hub-1")
    add("signature_flipped", "bad_signature", "one bit of the signature flipped",
        mutations=["flip-signature"])
    add("signature_short", "bad_signature", "a 32-byte signature", mutations=["short-signature"])
    add("payload_tampered", "bad_signature", "lvl raised after signing",
        tamper_claims={"lvl": 9})
    add("payload_tampered_app", "bad_signature", "app changed after signing",
        tamper_claims={"app": {"id": "app-1", "type": "systemd", "identifier": "sshd.service"}})
    add("header_duplicate_alg", "duplicate_key", "alg twice in the header",
        raw_header='{"alg":"EdDSA","typ":"monsys-eat+jwt","kid":"hub-1","alg":"none"}')
    add("header_duplicate_kid", "duplicate_key", "kid twice in the header",
        raw_header='{"alg":"EdDSA","typ":"monsys-eat+jwt","kid":"hub-2","kid":"hub-1"}')
    payload = json.dumps(claims(), separators=(",", ":"))
    add("payload_duplicate_sub", "duplicate_key", "sub twice in the payload",
        raw_payload=payload[:-1] + ',"sub":"other-agent"}')
    add("payload_duplicate_nested", "duplicate_key", "identifier twice inside app",
        raw_payload=payload.replace('"identifier":"nginx.service"',
                                    '"identifier":"nginx.service","identifier":"sshd.service"'))
    add("crit", "crit_unsupported", "a crit header", header={"crit": ["exp"], "exp": NOW})
    attacker = mint_eat.load_private_key(os.path.join(FIXTURES, "hub-0.pem"))
    attacker_x = base64.urlsafe_b64encode(base64.b64decode(
        mint_eat.public_key_base64(attacker))).rstrip(b"=").decode()
    add("embedded_jwk", "embedded_key", "a jwk of the signer's own key in the header",
        key="hub-0", header={"jwk": {"kty": "OKP", "crv": "Ed25519", "x": attacker_x}})
    add("embedded_jku", "embedded_key", "a jku in the header",
        header={"jku": "https://hub.invalid/keys.json"})
    add("embedded_x5u", "embedded_key", "an x5u in the header",
        header={"x5u": "https://hub.invalid/cert.pem"})
    add("embedded_x5c", "embedded_key", "an x5c in the header", header={"x5c": ["MIIB"]})
    add("header_not_json", "bad_header", "the header is not JSON",
        raw_header='{"alg":"EdDSA",')
    add("header_array", "bad_header", "the header is a JSON array", raw_header='["EdDSA"]')
    add("payload_not_json", "bad_payload", "the payload is not JSON", raw_payload="not json")
    add("payload_array", "bad_payload", "the payload is a JSON array", raw_payload="[1,2]")

    # Claims
    add("iss_wrong", "wrong_issuer", "another issuer", claims_=claims(iss="evil-hub"))
    add("iss_missing", "wrong_issuer", "no iss", claims_=claims(iss=None))
    add("aud_wrong", "wrong_audience", "aud for another service", claims_=claims(aud="grafana"))
    add("aud_array_without", "wrong_audience", "aud array without monsys-agent",
        claims_=claims(aud=["grafana", "monsys-console"]))
    add("aud_missing", "wrong_audience", "no aud", claims_=claims(aud=None))
    add("sub_wrong", "wrong_agent", "a token for another agent", claims_=claims(sub="agent-x"))
    add("jti_empty", "bad_jti", "an empty jti", claims_=claims(jti=""))
    add("jti_too_long", "bad_jti", "a jti of 129 bytes", claims_=claims(jti="j" * 129))
    add("jti_number", "bad_jti", "a numeric jti", claims_=claims(jti=42))
    add("lvl_1", "insufficient_level", "level 1", claims_=claims(lvl=1))
    add("lvl_missing", "insufficient_level", "no lvl", claims_=claims(lvl=None))
    add("lvl_string", "insufficient_level", "lvl as a string", claims_=claims(lvl="2"))
    add("act_wrong", "wrong_action", "another action", claims_=claims(act="stop-app"))
    add("amr_without_otp", "no_otp", "amr without otp", claims_=claims(amr=["pwd"]))
    add("amr_string", "no_otp", "amr as a string, not an array", claims_=claims(amr="otp"))
    add("amr_missing", "no_otp", "no amr", claims_=claims(amr=None))
    add("app_missing", "bad_app", "no app", claims_=claims(app=None))
    add("app_type_unknown", "bad_app", "an unknown app type",
        claims_=claims(**app(id="app-1", type="kubernetes", identifier="nginx")))
    add("app_id_missing", "bad_app", "app without id",
        claims_=claims(**app(type="systemd", identifier="nginx.service")))
    add("app_identifier_missing", "bad_app", "app without identifier",
        claims_=claims(**app(id="app-1", type="systemd")))
    for type_name in ("systemd", "docker", "compose", "process"):
        for label, identifier in HOSTILE_IDENTIFIERS.items():
            members = {"id": "app-1", "type": type_name, "identifier": identifier}
            if type_name == "process":
                members["restart_command"] = "/opt/app/bin/restart"
            add(f"identifier_{type_name}_{label}", "bad_identifier",
                f"hostile {type_name} identifier {identifier!r}", claims_=claims(app=members))
    add("process_without_restart_command", "bad_restart_command",
        "a process app without restart_command",
        claims_=claims(**app(id="app-9", type="process", identifier="/opt/worker/bin/worker")))
    add("process_relative_restart_command", "bad_restart_command",
        "a relative restart_command",
        claims_=claims(**app(id="app-9", type="process", identifier="/opt/worker/bin/worker",
                             restart_command="bin/restart")))
    add("process_dotdot_restart_command", "bad_restart_command",
        "a restart_command with ..",
        claims_=claims(**app(id="app-9", type="process", identifier="/opt/worker/bin/worker",
                             restart_command="/opt/worker/../../bin/sh")))
    add("systemd_with_restart_command", "bad_restart_command",
        "a restart_command on a systemd app",
        claims_=claims(**app(id="app-1", type="systemd", identifier="nginx.service",
                             restart_command="/usr/bin/reboot")))
    add("reason_too_long", "bad_reason", "a reason of 1025 bytes",
        claims_=claims(reason="r" * 1025))
    add("reason_number", "bad_reason", "a numeric reason", claims_=claims(reason=7))
    add("by_number", "bad_payload", "a numeric by", claims_=claims(by=7))

    # Time claims; the common settings have a 30 s skew and a 300 s maximum lifetime.
    def times(iat, nbf, exp):
        return claims(iat=iat, nbf=nbf, exp=exp)

    add("iat_float", "bad_time_claims", "iat as a float",
        claims_=claims(iat=float(NOW)))
    add("exp_string", "bad_time_claims", "exp as a string", claims_=claims(exp=str(NOW + 120)))
    add("nbf_missing", "bad_time_claims", "no nbf", claims_=claims(nbf=None))
    add("exp_not_after_iat", "bad_time_claims", "exp == iat", claims_=times(NOW, NOW, NOW))
    add("exp_before_nbf", "bad_time_claims", "exp < nbf",
        claims_=times(NOW - 60, NOW + 20, NOW + 10))
    add("time_negative", "bad_time_claims", "a negative iat", claims_=times(-5, NOW, NOW + 60))
    add("expired", "expired", "expired 100 s ago", claims_=times(NOW - 200, NOW - 200, NOW - 100))
    add("exp_skew_outside", "expired", "exp = now - skew: expired at the boundary",
        claims_=times(NOW - 150, NOW - 150, NOW - SKEW))
    add("exp_skew_inside", "ok", "exp = now - skew + 1: one second inside",
        claims_=times(NOW - 149, NOW - 149, NOW - SKEW + 1))
    add("exp_now_skew0", "expired", "exp == now with no skew", settings={"clock_skew_secs": 0},
        claims_=times(NOW - 60, NOW - 60, NOW))
    add("exp_now_plus_1_skew0", "ok", "exp == now + 1 with no skew",
        settings={"clock_skew_secs": 0}, claims_=times(NOW - 60, NOW - 60, NOW + 1))
    add("nbf_future", "not_yet_valid", "nbf a minute ahead",
        claims_=times(NOW, NOW + 60, NOW + 120))
    add("nbf_skew_outside", "not_yet_valid", "nbf = now + skew + 1",
        claims_=times(NOW, NOW + SKEW + 1, NOW + 120))
    add("nbf_skew_inside", "ok", "nbf = now + skew", claims_=times(NOW, NOW + SKEW, NOW + 120))
    add("iat_skew_outside", "issued_in_future", "iat = now + skew + 1",
        claims_=times(NOW + SKEW + 1, NOW, NOW + 120))
    add("iat_skew_inside", "ok", "iat = now + skew", claims_=times(NOW + SKEW, NOW, NOW + 120))
    add("lifetime_too_long", "lifetime_too_long", "exp - iat = 301 s",
        claims_=times(NOW, NOW, NOW + MAX_LIFETIME + 1))
    add("lifetime_at_max", "ok", "exp - iat = 300 s", claims_=times(NOW, NOW, NOW + MAX_LIFETIME))
    return tokens


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--new-keys", action="store_true", help="replace the hub keys too")
    args = parser.parse_args()

    keys = load_keys(args.new_keys)
    public = {kid: mint_eat.public_key_base64(key) for kid, key in keys.items()}
    keys_json = {kid: dict(KEYS[kid], pem=f"{kid}.pem", public_key=public[kid]) for kid in KEYS}
    document = {
        "generated_by": "tests/tools/make_eat_fixtures.py",
        "now": NOW,
        "settings": {
            "issuer": "monsys-hub",
            "agent_id": "agent-test",
            "clock_skew_secs": SKEW,
            "max_lifetime_secs": MAX_LIFETIME,
            "required_level": 2,
            "action": "restart-app",
            "keys": {kid: public[kid] for kid in KEYS if KEYS[kid]["pinned"]},
        },
        "tokens": build(keys),
    }
    with open(os.path.join(FIXTURES, "keys.json"), "w") as f:
        json.dump(keys_json, f, indent=2)
        f.write("\n")
    with open(os.path.join(FIXTURES, "tokens.json"), "w") as f:
        json.dump(document, f, indent=2, ensure_ascii=True)
        f.write("\n")
    print(f"{len(document['tokens'])} tokens written to {os.path.normpath(FIXTURES)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
