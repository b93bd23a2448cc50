"""The two WebAuthn ceremonies, for agents and staff alike: creating a passkey, signing in with one.

Options: discoverable credentials (resident key required), user verification required,
attestation `none`, the RP ID and origin of `relying_party`. Each `finish_*` takes the
browser's challenge first (single use, see `challenges`), then checks the answer with
py_webauthn, then what py_webauthn leaves to the site:

- the credential belongs to an owner of the ceremony's kind (an agent's passkey does not
  open the back office, nor a staff member's an agent's space) and, when the challenge was
  issued for one owner, to that one;
- the user handle the authenticator returns is the one of the credential's owner;
- the signature counter moved forward: if it went backwards (or stood still while not
  zero), the authenticator may have been copied, so the passkey is flagged (`cloned_at`),
  refused from then on, and a `passkey_cloned` event recorded;
- the owner's account is not disabled.

A refusal raises `Refused` with a short reason for the audit row (never shown as such).
The caller records its events and commits, refused or not (a flagged passkey must stay
flagged).
"""

import json
import secrets
from dataclasses import dataclass

from webauthn import (
    generate_authentication_options,
    generate_registration_options,
    options_to_json,
    verify_authentication_response,
    verify_registration_response,
)
from webauthn.helpers import parse_authentication_credential_json, parse_registration_credential_json
from webauthn.helpers.cose import COSEAlgorithmIdentifier
from webauthn.helpers.exceptions import WebAuthnException
from webauthn.helpers.structs import (
    AttestationConveyancePreference,
    AuthenticatorSelectionCriteria,
    PublicKeyCredentialDescriptor,
    ResidentKeyRequirement,
    UserVerificationRequirement,
)

from .. import events
from ..events import Event, Reason
from ..extensions import db
from ..models import Agent, DelegationStaff, Passkey, utcnow
from . import challenges
from .challenges import Purpose
from .relying_party import RP_NAME, expected_origin, rp_id

# How long the browser may wait for the person, in milliseconds: the challenge's lifetime.
TIMEOUT_MS = int(challenges.LIFETIME.total_seconds() * 1000)
ALGORITHMS = [
    COSEAlgorithmIdentifier.ECDSA_SHA_256,
    COSEAlgorithmIdentifier.EDDSA,
    COSEAlgorithmIdentifier.RSASSA_PKCS1_v1_5_SHA_256,
]
USER_HANDLE_BYTES = 32
# What a malformed answer raises besides py_webauthn's own exceptions (bad base64, wrong types).
MALFORMED = (WebAuthnException, ValueError, TypeError, KeyError, AttributeError)

Owner = Agent | DelegationStaff


class Refused(Exception):
    """A ceremony's answer that does not hold; `reason` is for the audit row."""

    def __init__(self, reason: Reason, passkey: Passkey | None = None):
        super().__init__(reason)
        self.reason = reason
        self.passkey = passkey


@dataclass(frozen=True)
class UserEntity:
    """How the authenticator shows the account: `name` (an identifier) and `display_name`."""

    name: str
    display_name: str


def owner_of(passkey: Passkey) -> Owner:
    """The agent or staff member a passkey belongs to."""
    return passkey.agent if passkey.agent_id is not None else passkey.staff


def passkeys_of(owner: Owner) -> list[Passkey]:
    """The owner's passkeys, oldest first."""
    column = Passkey.staff_id if isinstance(owner, DelegationStaff) else Passkey.agent_id
    return list(db.session.scalars(db.select(Passkey).where(column == owner.id).order_by(Passkey.id)))


def usable_passkeys(owner: Owner) -> list[Passkey]:
    """The owner's passkeys that can still sign in (not flagged as copied)."""
    return [passkey for passkey in passkeys_of(owner) if passkey.cloned_at is None]


def _owner_matches(purpose: Purpose, passkey: Passkey, owner_id: int | None) -> bool:
    """True when the passkey belongs to the ceremony's kind of owner (and to `owner_id` if given)."""
    passkey_owner = passkey.staff_id if purpose.for_staff else passkey.agent_id
    return passkey_owner is not None and (owner_id is None or passkey_owner == owner_id)


def _descriptors(passkeys: list[Passkey]) -> list[PublicKeyCredentialDescriptor]:
    """The credentials as the browser is told of them (to exclude or to allow)."""
    return [PublicKeyCredentialDescriptor(id=p.credential_id) for p in passkeys]


def registration_options(purpose: Purpose, owner: Owner, user: UserEntity) -> dict:
    """The options of `navigator.credentials.create()` for a new passkey of `owner` (JSON-ready).

    The user handle is random and the same for all the owner's passkeys (an authenticator
    then replaces its passkey for this account rather than adding one); the owner's passkeys
    are excluded, so one authenticator is not enrolled twice.
    """
    existing = passkeys_of(owner)
    user_handle = existing[0].user_handle if existing else secrets.token_bytes(USER_HANDLE_BYTES)
    challenge = challenges.issue(purpose, owner_id=owner.id, user_handle=user_handle)
    options = generate_registration_options(
        rp_id=rp_id(),
        rp_name=RP_NAME,
        user_id=user_handle,
        user_name=user.name,
        user_display_name=user.display_name,
        challenge=challenge,
        timeout=TIMEOUT_MS,
        attestation=AttestationConveyancePreference.NONE,
        authenticator_selection=AuthenticatorSelectionCriteria(
            resident_key=ResidentKeyRequirement.REQUIRED,
            user_verification=UserVerificationRequirement.REQUIRED,
        ),
        exclude_credentials=_descriptors(existing),
        supported_pub_key_algs=ALGORITHMS,
    )
    return json.loads(options_to_json(options))


def finish_registration(purpose: Purpose, owner: Owner, credential: dict | str, name: str) -> Passkey:
    """Check the browser's answer to `registration_options` and add the new passkey to the session.

    The caller records the event, mails the owner and commits.
    """
    challenge = challenges.take(purpose)
    if challenge is None:
        raise Refused(Reason.CHALLENGE)
    if challenge.owner_id != owner.id or challenge.user_handle is None:
        raise Refused(Reason.OWNER)
    try:
        parsed = parse_registration_credential_json(credential)
        verified = verify_registration_response(
            credential=parsed,
            expected_challenge=challenge.value,
            expected_rp_id=rp_id(),
            expected_origin=expected_origin(),
            require_user_verification=True,
            supported_pub_key_algs=ALGORITHMS,
        )
    except MALFORMED as error:
        raise Refused(Reason.INVALID) from error
    if db.session.scalar(db.select(Passkey.id).where(Passkey.credential_id == verified.credential_id)):
        raise Refused(Reason.DUPLICATE)
    passkey = Passkey(
        credential_id=verified.credential_id,
        public_key=verified.credential_public_key,
        sign_count=verified.sign_count,
        transports=[str(t.value) for t in parsed.response.transports or []],
        user_handle=challenge.user_handle,
        name=name,
        **({"staff_id": owner.id} if purpose.for_staff else {"agent_id": owner.id}),
    )
    db.session.add(passkey)
    db.session.flush()
    return passkey


def authentication_options(purpose: Purpose, owner: Owner | None = None) -> dict:
    """The options of `navigator.credentials.get()` (JSON-ready).

    Without `owner` (an agent's sign-in) no credential is named: the passkey names the
    account. With one (a staff member past the password), only their passkeys are allowed
    and the challenge is bound to them.
    """
    challenge = challenges.issue(purpose, owner_id=owner.id if owner is not None else None)
    options = generate_authentication_options(
        rp_id=rp_id(),
        challenge=challenge,
        timeout=TIMEOUT_MS,
        allow_credentials=_descriptors(passkeys_of(owner)) if owner is not None else [],
        user_verification=UserVerificationRequirement.REQUIRED,
    )
    return json.loads(options_to_json(options))


def finish_authentication(purpose: Purpose, credential: dict | str) -> Passkey:
    """Check the browser's answer to `authentication_options`; the passkey used, its counter and
    last use updated (in the session, the caller commits). Raises `Refused`."""
    challenge = challenges.take(purpose)
    if challenge is None:
        raise Refused(Reason.CHALLENGE)
    try:
        parsed = parse_authentication_credential_json(credential)
    except MALFORMED as error:
        raise Refused(Reason.INVALID) from error
    passkey = db.session.scalar(db.select(Passkey).where(Passkey.credential_id == parsed.raw_id))
    if passkey is None:
        raise Refused(Reason.UNKNOWN_CREDENTIAL)
    if not _owner_matches(purpose, passkey, challenge.owner_id):
        raise Refused(Reason.OTHER_OWNER, passkey)
    returned_handle = parsed.response.user_handle
    if returned_handle is None and challenge.owner_id is None:
        # Nothing else says whose account this is: a discoverable credential always tells.
        raise Refused(Reason.USER_HANDLE, passkey)
    if returned_handle is not None and not secrets.compare_digest(returned_handle, passkey.user_handle):
        raise Refused(Reason.USER_HANDLE, passkey)
    if passkey.cloned_at is not None:
        raise Refused(Reason.CLONED, passkey)
    try:
        verified = verify_authentication_response(
            credential=parsed,
            expected_challenge=challenge.value,
            expected_rp_id=rp_id(),
            expected_origin=expected_origin(),
            credential_public_key=passkey.public_key,
            # The counter is checked below, once the signature holds, to flag a copy.
            credential_current_sign_count=0,
            require_user_verification=True,
        )
    except MALFORMED as error:
        raise Refused(Reason.INVALID, passkey) from error
    if counter_went_back(passkey.sign_count, verified.new_sign_count):
        flag_cloned(passkey)
        raise Refused(Reason.COUNTER, passkey)
    owner = owner_of(passkey)
    if isinstance(owner, Agent) and owner.disabled_at is not None:
        raise Refused(Reason.DISABLED, passkey)
    passkey.sign_count = verified.new_sign_count
    passkey.last_used_at = utcnow()
    return passkey


def counter_went_back(stored: int, new: int) -> bool:
    """WebAuthn's clone signal: a counter in use (either is not zero) that did not increase."""
    return (stored > 0 or new > 0) and new <= stored


def flag_cloned(passkey: Passkey) -> None:
    """Refuse this passkey from now on, and record why (the caller commits)."""
    passkey.cloned_at = utcnow()
    owner = owner_of(passkey)
    if isinstance(owner, Agent):
        events.record(Event.PASSKEY_CLONED, owner, subject=passkey)
    else:
        events.record(Event.PASSKEY_CLONED, None, staff=owner, subject=passkey)


def delete_all(owner: Owner) -> int:
    """Forget every passkey of `owner` (a lost phone, `staff reset-2fa`); how many there were.
    The caller records, mails and commits."""
    column = Passkey.staff_id if isinstance(owner, DelegationStaff) else Passkey.agent_id
    return db.session.execute(db.delete(Passkey).where(column == owner.id)).rowcount
