"""A passkey authenticator in software, for whole WebAuthn ceremonies over HTTP without a browser.

It answers the server's options as a phone would through `navigator.credentials`: ES256
keys made with `cryptography`, CBOR authenticator data (cbor2), a clientDataJSON naming
the origin, attestation `none`, resident credentials with their user handle, a counter.
Every field an attacker controls can be overridden, to forge what a real one never sends.
"""

import hashlib
import json
import os
import struct
from base64 import urlsafe_b64decode, urlsafe_b64encode
from dataclasses import dataclass, field

import cbor2
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec

FLAG_USER_PRESENT = 0x01
FLAG_USER_VERIFIED = 0x04
FLAG_ATTESTED_DATA = 0x40
# The AAGUID of an authenticator that attests nothing.
NO_AAGUID = bytes(16)


def b64url(data: bytes) -> str:
    """base64url without padding, as WebAuthn's JSON writes bytes."""
    return urlsafe_b64encode(data).rstrip(b"=").decode()


def from_b64url(text: str) -> bytes:
    """The bytes of a base64url string, padded or not."""
    return urlsafe_b64decode(text + "=" * (-len(text) % 4))


@dataclass
class Credential:
    """A resident credential: its id, key, account and counter."""

    id: bytes
    key: ec.EllipticCurvePrivateKey
    rp_id: str
    user_handle: bytes
    user_name: str
    display_name: str
    sign_count: int = 0

    def cose_public_key(self) -> bytes:
        """The public key as COSE_Key (EC2, P-256, ES256)."""
        numbers = self.key.public_key().public_numbers()
        return cbor2.dumps({1: 2, 3: -7, -1: 1, -2: numbers.x.to_bytes(32, "big"), -3: numbers.y.to_bytes(32, "big")})


@dataclass
class SoftAuthenticator:
    """A platform authenticator with user verification (a phone's fingerprint), in software."""

    counter_step: int = 1
    credentials: list[Credential] = field(default_factory=list)

    def create(self, options: dict, origin: str, **forged) -> dict:
        """The browser's JSON answer to `navigator.credentials.create()` for these options.

        `forged` overrides what an honest browser fills in: `rp_id`, `challenge` (bytes),
        `type`, `user_verified`.
        """
        rp_id = forged.get("rp_id", options["rp"]["id"])
        credential = Credential(
            id=os.urandom(16),
            key=ec.generate_private_key(ec.SECP256R1()),
            rp_id=rp_id,
            user_handle=from_b64url(options["user"]["id"]),
            user_name=options["user"]["name"],
            display_name=options["user"]["displayName"],
        )
        client_data = self.client_data(
            forged.get("type", "webauthn.create"), forged.get("challenge", from_b64url(options["challenge"])), origin
        )
        attested = NO_AAGUID + struct.pack(">H", len(credential.id)) + credential.id + credential.cose_public_key()
        flags = FLAG_USER_PRESENT | FLAG_ATTESTED_DATA
        if forged.get("user_verified", True):
            flags |= FLAG_USER_VERIFIED
        auth_data = self.authenticator_data(rp_id, flags, credential.sign_count) + attested
        attestation = cbor2.dumps({"fmt": "none", "attStmt": {}, "authData": auth_data})
        self.credentials.append(credential)
        return {
            "id": b64url(credential.id),
            "rawId": b64url(credential.id),
            "type": "public-key",
            "authenticatorAttachment": "platform",
            "clientExtensionResults": {},
            "response": {
                "clientDataJSON": b64url(client_data),
                "attestationObject": b64url(attestation),
                "transports": ["internal", "hybrid"],
            },
        }

    def get(self, options: dict, origin: str, credential: Credential | None = None, **forged) -> dict:
        """The browser's JSON answer to `navigator.credentials.get()`: signed with `credential`
        (the newest for the options' RP ID by default), its counter moved on by `counter_step`.

        `forged` overrides: `rp_id`, `challenge` (bytes), `user_handle` (bytes or None),
        `sign_count`, `user_verified`.
        """
        rp_id = forged.get("rp_id", options["rpId"])
        credential = credential or [c for c in self.credentials if c.rp_id == options["rpId"]][-1]
        credential.sign_count += self.counter_step
        sign_count = forged.get("sign_count", credential.sign_count)
        flags = FLAG_USER_PRESENT | (FLAG_USER_VERIFIED if forged.get("user_verified", True) else 0)
        auth_data = self.authenticator_data(rp_id, flags, sign_count)
        client_data = self.client_data(
            "webauthn.get", forged.get("challenge", from_b64url(options["challenge"])), origin
        )
        signature = credential.key.sign(auth_data + hashlib.sha256(client_data).digest(), ec.ECDSA(hashes.SHA256()))
        user_handle = forged.get("user_handle", credential.user_handle)
        return {
            "id": b64url(credential.id),
            "rawId": b64url(credential.id),
            "type": "public-key",
            "authenticatorAttachment": "platform",
            "clientExtensionResults": {},
            "response": {
                "clientDataJSON": b64url(client_data),
                "authenticatorData": b64url(auth_data),
                "signature": b64url(signature),
                "userHandle": b64url(user_handle) if user_handle is not None else None,
            },
        }

    @staticmethod
    def client_data(kind: str, challenge: bytes, origin: str) -> bytes:
        """The clientDataJSON a browser writes: what the authenticator signs over (hashed)."""
        return json.dumps(
            {"type": kind, "challenge": b64url(challenge), "origin": origin, "crossOrigin": False}
        ).encode()

    @staticmethod
    def authenticator_data(rp_id: str, flags: int, sign_count: int) -> bytes:
        """The RP ID's hash, the flags and the counter (attested data follows at creation)."""
        return hashlib.sha256(rp_id.encode()).digest() + bytes([flags]) + struct.pack(">I", sign_count)
