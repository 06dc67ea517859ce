#!/usr/bin/env python3
"""A minimal API client that signs statements with its own Ed25519 key.

The platform never sees the private key. What is signed, byte for byte:

    b"drug-traceability/statement/v1\\n" + JCS(statement)

where JCS is RFC 8785 canonical JSON and statement is

    {"v": 1, "kind": "ship", "body": <EPCIS ObjectEvent>,
     "signer": {"org": "<your GLN>", "key": "<key id>"},
     "issued_at": "2026-11-23T09:30:00.000000Z", "nonce": "<base64 of 16 random bytes>"}

and the key id is the first 16 hex digits of SHA-256(raw 32-byte public key).

    python examples/client.py keygen                 # prints a seed and the public key
    python examples/client.py ship --url http://127.0.0.1:8000 --token dt_... \\
        --seed <base64 seed> --gln <your GLN> --to <receiver GLN> \\
        --pack 04000001000012/SERIAL [--pack ...]

A regulator must register the public key for your organisation first.
Needs only PyNaCl and rfc8785 (pip install pynacl rfc8785).
"""

import argparse
import base64
import hashlib
import json
import os
import sys
import urllib.error
import urllib.request
import uuid
from datetime import UTC, datetime
from urllib.parse import quote

import nacl.signing
import rfc8785

DOMAIN = b"drug-traceability/statement/v1\n"


def key_id(public_key: bytes) -> str:
    return hashlib.sha256(public_key).hexdigest()[:16]


def now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def ship_event(sender_gln: str, receiver_gln: str, packs: list[tuple[str, str]]) -> dict:
    def party(kind, gln):
        uri = f"https://id.gs1.org/414/{gln}"
        return [{"type": "owning_party", kind: uri}, {"type": "possessing_party", kind: uri}]

    return {
        "type": "ObjectEvent",
        "eventTime": now(),
        "eventTimeZoneOffset": "+00:00",
        "action": "OBSERVE",
        "bizStep": "shipping",
        "disposition": "in_transit",
        "epcList": [f"https://id.gs1.org/01/{g}/21/{quote(s, safe='')}" for g, s in packs],
        "sourceList": party("source", sender_gln),
        "destinationList": party("destination", receiver_gln),
        "shipment": str(uuid.uuid4()),
    }


def sign(kind: str, body: dict, gln: str, seed: bytes) -> dict:
    key = nacl.signing.SigningKey(seed)
    statement = {
        "v": 1,
        "kind": kind,
        "body": body,
        "signer": {"org": gln, "key": key_id(bytes(key.verify_key))},
        "issued_at": now(),
        "nonce": base64.b64encode(os.urandom(16)).decode(),
    }
    signature = key.sign(DOMAIN + rfc8785.dumps(statement)).signature
    return {"statement": statement, "signature": base64.b64encode(signature).decode()}


def submit(url: str, token: str, signed: list[dict]) -> dict:
    if not url.startswith(("http://", "https://")):
        raise SystemExit(f"--url must start with http:// or https://, not {url!r}")
    request = urllib.request.Request(  # noqa: S310 (scheme checked above)
        url.rstrip("/") + "/api/v1/statements",
        data=json.dumps({"statements": signed}).encode(),
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
        method="POST",
    )
    try:
        with urllib.request.urlopen(request) as response:  # noqa: S310 (scheme checked above)
            return json.load(response)
    except urllib.error.HTTPError as error:
        return json.load(error)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("keygen")
    ship = sub.add_parser("ship")
    for flag in ("--url", "--token", "--seed", "--gln", "--to"):
        ship.add_argument(flag, required=True)
    ship.add_argument("--pack", action="append", required=True, help="GTIN/SERIAL")
    args = parser.parse_args()
    if args.command == "keygen":
        key = nacl.signing.SigningKey.generate()
        public = bytes(key.verify_key)
        print(f"seed (keep secret): {base64.b64encode(bytes(key)).decode()}")
        print(f"public key:         {base64.b64encode(public).decode()}")
        print(f"key id:             {key_id(public)}")
        return 0
    packs = [tuple(p.split("/", 1)) for p in args.pack]
    event = ship_event(args.gln, args.to, packs)
    signed = sign("ship", event, args.gln, base64.b64decode(args.seed))
    print(json.dumps(submit(args.url, args.token, [signed]), indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
