"""Database models: reference data, agents, sessions, the mail queue and the audit trail."""

from __future__ import annotations

import enum
from datetime import date, datetime, timezone

from sqlalchemy import JSON, BigInteger, CheckConstraint, ForeignKey, Index, LargeBinary, String, Text, func
from sqlalchemy.orm import Mapped, declared_attr, mapped_column, relationship, validates

from .extensions import db
from .reference_data import normalize_search_text


def utcnow() -> datetime:
    """Current time, timezone-aware UTC (every stored time is UTC)."""
    return datetime.now(timezone.utc)


class Region(db.Model):
    """A French region (INSEE code), as published by Etalab."""

    code: Mapped[str] = mapped_column(String(3), primary_key=True)
    name: Mapped[str] = mapped_column(String(80))


class Department(db.Model):
    """A French department (INSEE code: `35`, `2A`, `971`)."""

    code: Mapped[str] = mapped_column(String(3), primary_key=True)
    name: Mapped[str] = mapped_column(String(80))
    region_code: Mapped[str] = mapped_column(ForeignKey("region.code"))


class Commune(db.Model):
    """A current French commune with its postal codes."""

    insee: Mapped[str] = mapped_column(String(5), primary_key=True)
    name: Mapped[str] = mapped_column(String(120))
    # Lower-case, accent-free name: the column the prefix search uses.
    search_name: Mapped[str] = mapped_column(String(120), index=True)
    postal_codes: Mapped[str] = mapped_column(String(200))
    department_code: Mapped[str] = mapped_column(ForeignKey("department.code"))
    region_code: Mapped[str] = mapped_column(ForeignKey("region.code"))

    region: Mapped[Region] = relationship()

    def __str__(self) -> str:
        return f"{self.name} ({self.department_code})"


class CommuneWord(db.Model):
    """Each word of a commune's search name: « brieuc » finds Saint-Brieuc through an indexed prefix range."""

    word: Mapped[str] = mapped_column(String(120), primary_key=True)
    insee: Mapped[str] = mapped_column(ForeignKey("commune.insee", ondelete="CASCADE"), primary_key=True, index=True)


class Delegation(db.Model):
    """A C.G.O.S regional delegation, which handles the agents of one region."""

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(40), unique=True)
    name: Mapped[str] = mapped_column(String(120))
    region_code: Mapped[str] = mapped_column(ForeignKey("region.code"), unique=True)
    phone: Mapped[str] = mapped_column(String(20))
    email: Mapped[str] = mapped_column(String(254))

    region: Mapped[Region] = relationship()


class DelegationStaff(db.Model):
    """A member of a delegation's staff, who works through the back office."""

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)
    password_hash: Mapped[str] = mapped_column(String(100))
    delegation_id: Mapped[int] = mapped_column(ForeignKey("delegation.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    # The delegation's lead sees the « Historique » of every staff member of the delegation.
    lead: Mapped[bool] = mapped_column(default=False)
    # The TOTP secret (base32), Fernet-encrypted (cgos/sealing.py); None until enrolled.
    totp_secret_sealed: Mapped[str | None] = mapped_column(Text)
    totp_enrolled_at: Mapped[datetime | None]
    # The last 30-second step whose code was accepted: a code is good once (no replay).
    totp_last_step: Mapped[int | None] = mapped_column(BigInteger)

    delegation: Mapped[Delegation] = relationship()


class StaffRecoveryCode(db.Model):
    """One of the ten single-use codes a staff member may type instead of the TOTP code."""

    id: Mapped[int] = mapped_column(primary_key=True)
    staff_id: Mapped[int] = mapped_column(ForeignKey("delegation_staff.id"), index=True)
    # HMAC-SHA256 of the code keyed by the pepper (see cgos/backoffice/second_factor.py).
    digest: Mapped[str] = mapped_column(String(64), unique=True)
    used_at: Mapped[datetime | None]


class Establishment(db.Model):
    """A public health or medico-social establishment that employs agents."""

    id: Mapped[int] = mapped_column(primary_key=True)
    finess: Mapped[str | None] = mapped_column(String(9), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    search_name: Mapped[str] = mapped_column(String(200), index=True)
    category: Mapped[str] = mapped_column(String(20))
    commune_insee: Mapped[str] = mapped_column(ForeignKey("commune.insee"), index=True)

    commune: Mapped[Commune] = relationship()

    __table_args__ = (Index("ix_establishment_name_commune", "name", "commune_insee", unique=True),)


class PasswordState(enum.StrEnum):
    """What secret an agent logs in with (a provisional PIN may be pending on top)."""

    NONE = "none"
    PROVISIONAL = "provisional"
    PERSONAL = "personal"
    LEGACY = "legacy"


class Position(enum.StrEnum):
    """Position statutaire, as the CGOS file spells it."""

    TITULAIRE = "titulaire"
    STAGIAIRE = "stagiaire"
    CONTRACTUEL = "contractuel"
    APPRENTI = "apprenti"
    CONTRAT_AIDE = "contrat aidé"
    RETRAITE = "retraité"


def agent_search_name(last_name: str, first_name: str) -> str:
    """What `Agent.search_name` holds: `dupont marie` for Marie DUPONT (accents and case folded)."""
    return normalize_search_text(f"{last_name} {first_name}")


class Agent(db.Model):
    """A hospital agent (or retiree) known to the C.G.O.S."""

    id: Mapped[int] = mapped_column(primary_key=True)
    numero: Mapped[str] = mapped_column(String(9), unique=True)
    # The NIR is never stored in clear: a keyed digest (pepper) finds an agent by it.
    nir_digest: Mapped[str | None] = mapped_column(String(64), unique=True)
    civility: Mapped[str] = mapped_column(String(3))
    last_name: Mapped[str] = mapped_column(String(100))
    first_name: Mapped[str] = mapped_column(String(100))
    # `dupont marie`: last and first names folded (reference_data.normalize_search_text), for the back office's search.
    search_name: Mapped[str] = mapped_column(String(201), index=True, default="")
    birth_date: Mapped[date]
    email: Mapped[str | None] = mapped_column(String(254))
    phone_mobile: Mapped[str | None] = mapped_column(String(20))
    phone_home: Mapped[str | None] = mapped_column(String(20))
    phone_work: Mapped[str | None] = mapped_column(String(20))
    establishment_id: Mapped[int | None] = mapped_column(ForeignKey("establishment.id"))
    position: Mapped[str | None] = mapped_column(String(20))

    password_state: Mapped[str] = mapped_column(String(12), default=PasswordState.NONE)
    pin_hash: Mapped[str | None] = mapped_column(String(100))
    legacy_password_hash: Mapped[str | None] = mapped_column(String(100))
    provisional_pin_hash: Mapped[str | None] = mapped_column(String(100))
    provisional_issued_at: Mapped[datetime | None]
    charter_accepted_at: Mapped[datetime | None]
    # The charter version accepted (with charter_accepted_at, when); another version is asked for again.
    charter_version: Mapped[str | None] = mapped_column(String(40))
    personal_data_confirmed_at: Mapped[datetime | None]
    # A new address typed by the agent, in force once its confirmation link is followed.
    pending_email: Mapped[str | None] = mapped_column(String(254))
    # SHA-256 of the random token of that confirmation link, and when the link stops working.
    email_change_token_digest: Mapped[str | None] = mapped_column(String(64), unique=True, index=True)
    email_change_expires_at: Mapped[datetime | None]
    # The last reminder day (7, 21, 28…) mailed for the current provisional password.
    provisional_reminder_day: Mapped[int | None]
    # Set when a delegation rejects the registration that created the agent: no login.
    disabled_at: Mapped[datetime | None]
    # When the daily cap of failed logins was passed: the personal (or legacy) password stays
    # refused until a provisional PIN issued after this moment is used, or the delegation unlocks.
    pin_blocked_at: Mapped[datetime | None]
    # When the provisional PIN was used by an agent who had a personal PIN: single use, it logs
    # in no more (its hash stays, so the new PIN can still be compared with it).
    provisional_used_at: Mapped[datetime | None]

    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    establishment: Mapped[Establishment | None] = relationship()

    # The back office finds an agent by mail address whatever its case.
    __table_args__ = (Index("ix_agent_email_lower", func.lower(email)),)

    @validates("last_name", "first_name")
    def _fold_search_name(self, key: str, value: str) -> str:
        """Keep `search_name` in step with the names it is made of."""
        names = {"last_name": self.last_name, "first_name": self.first_name, key: value}
        self.search_name = agent_search_name(names["last_name"] or "", names["first_name"] or "")
        return value

    @property
    def display_name(self) -> str:
        """`Marie DUPONT`, as the CGOS writes names."""
        return f"{self.first_name} {self.last_name.upper()}"


class AuthSession(db.Model):
    """A logged-in session, kept on the server so that it can be revoked."""

    # SHA-256 of the random token held in the cookie: a database leak yields no session.
    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    # Either an agent's session or a delegation staff member's.
    agent_id: Mapped[int | None] = mapped_column(ForeignKey("agent.id"), index=True)
    staff_id: Mapped[int | None] = mapped_column(ForeignKey("delegation_staff.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_seen_at: Mapped[datetime] = mapped_column(default=utcnow)
    revoked_at: Mapped[datetime | None]

    agent: Mapped[Agent | None] = relationship()
    staff: Mapped[DelegationStaff | None] = relationship()


class OutboundMail(db.Model):
    """A mail waiting to go out, or gone: the queue that makes sure none is lost."""

    id: Mapped[int] = mapped_column(primary_key=True)
    recipient: Mapped[str] = mapped_column(String(254))
    subject: Mapped[str] = mapped_column(String(200))
    text_body: Mapped[str] = mapped_column(Text)
    html_body: Mapped[str | None] = mapped_column(Text)
    # The PIN or link the bodies hold a marker for, Fernet-encrypted; erased once sent (cgos/mail.py).
    sealed_secrets: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    sent_at: Mapped[datetime | None] = mapped_column(index=True)
    attempts: Mapped[int] = mapped_column(default=0)
    last_attempt_at: Mapped[datetime | None]
    last_error: Mapped[str | None] = mapped_column(String(500))

    attachments: Mapped[list["MailAttachment"]] = relationship()


class MailAttachment(db.Model):
    """A file sent with a queued mail (the payslip of a questionnaire)."""

    id: Mapped[int] = mapped_column(primary_key=True)
    mail_id: Mapped[int] = mapped_column(ForeignKey("outbound_mail.id"), index=True)
    path: Mapped[str] = mapped_column(String(300))
    filename: Mapped[str] = mapped_column(String(100))
    mimetype: Mapped[str] = mapped_column(String(50))


class RequestStatus(enum.StrEnum):
    """Where a request handled by a delegation stands."""

    PENDING = "pending"
    ACCEPTED = "accepted"
    REJECTED = "rejected"


class PayslipMixin:
    """The payslip file sent with a request; the path is cleared when the file is purged, the rest stays."""

    payslip_path: Mapped[str | None] = mapped_column(String(300))
    payslip_filename: Mapped[str] = mapped_column(String(100))
    payslip_mimetype: Mapped[str] = mapped_column(String(50))
    payslip_size: Mapped[int]
    payslip_deleted_at: Mapped[datetime | None]


class DecisionMixin:
    """A delegation's decision on a request: pending until a staff member accepts or rejects it."""

    status: Mapped[str] = mapped_column(String(10), default=RequestStatus.PENDING, index=True)
    decided_at: Mapped[datetime | None]
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("delegation_staff.id"))
    decision_reason: Mapped[str | None] = mapped_column(Text)

    @declared_attr
    def decided_by(cls) -> Mapped[DelegationStaff | None]:
        """The staff member who decided."""
        return relationship()


class MailChangeRequest(PayslipMixin, DecisionMixin, db.Model):
    """The questionnaire of an agent whose mail address on file is wrong or missing."""

    id: Mapped[int] = mapped_column(primary_key=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    # None when the numéro and birth date typed match no agent: staff can only refuse it.
    agent_id: Mapped[int | None] = mapped_column(ForeignKey("agent.id"), index=True)
    delegation_id: Mapped[int] = mapped_column(ForeignKey("delegation.id"), index=True)
    numero: Mapped[str] = mapped_column(String(9))
    birth_date: Mapped[date]
    new_email: Mapped[str] = mapped_column(String(254))
    last_name: Mapped[str] = mapped_column(String(100))
    first_name: Mapped[str] = mapped_column(String(100))
    commune_insee: Mapped[str] = mapped_column(ForeignKey("commune.insee"))
    establishment_id: Mapped[int] = mapped_column(ForeignKey("establishment.id"))

    agent: Mapped[Agent | None] = relationship()
    delegation: Mapped[Delegation] = relationship()
    commune: Mapped[Commune] = relationship()
    establishment: Mapped[Establishment] = relationship()


class Registration(PayslipMixin, DecisionMixin, db.Model):
    """« Demande de n°C.G.O.S » by an agent unknown to the C.G.O.S (guide 3.1)."""

    id: Mapped[int] = mapped_column(primary_key=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    # The NIR is kept as its keyed digest (to create the agent) and masked (for staff).
    nir_digest: Mapped[str] = mapped_column(String(64), index=True)
    nir_masked: Mapped[str] = mapped_column(String(40))
    civility: Mapped[str] = mapped_column(String(3))
    last_name: Mapped[str] = mapped_column(String(100))
    first_name: Mapped[str] = mapped_column(String(100))
    birth_date: Mapped[date]
    email: Mapped[str] = mapped_column(String(254))
    address_flat: Mapped[str | None] = mapped_column(String(100))
    address_building: Mapped[str | None] = mapped_column(String(100))
    address_street: Mapped[str | None] = mapped_column(String(100))
    address_locality: Mapped[str | None] = mapped_column(String(100))
    country: Mapped[str] = mapped_column(String(2))
    postal_code: Mapped[str] = mapped_column(String(10))
    city: Mapped[str] = mapped_column(String(100))
    commune_insee: Mapped[str | None] = mapped_column(ForeignKey("commune.insee"))
    establishment_id: Mapped[int] = mapped_column(ForeignKey("establishment.id"))
    delegation_id: Mapped[int] = mapped_column(ForeignKey("delegation.id"), index=True)
    entry_date: Mapped[date]
    position: Mapped[str] = mapped_column(String(20))
    # SHA-256 of the token of the mail confirmation link (48 hours, single use).
    token_digest: Mapped[str] = mapped_column(String(64), unique=True)
    confirmed_at: Mapped[datetime | None]
    agent_id: Mapped[int | None] = mapped_column(ForeignKey("agent.id"))

    establishment: Mapped[Establishment] = relationship()
    delegation: Mapped[Delegation] = relationship()
    agent: Mapped[Agent | None] = relationship()


class SecurityEvent(db.Model):
    """An audit row for a sensitive action: never a PIN, a NIR or a token."""

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(40), index=True)
    agent_id: Mapped[int | None] = mapped_column(ForeignKey("agent.id"), index=True)
    staff_id: Mapped[int | None] = mapped_column(ForeignKey("delegation_staff.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    ip_address: Mapped[str | None] = mapped_column(String(45))
    # Why, or by which way: an `events.Reason` value, stored as `kind` is.
    reason: Mapped[str | None] = mapped_column(String(40))
    # What the row is about, by id: plain integers, not foreign keys, since the trail outlives
    # the rows it names (a passkey is deleted just after its event; see migration 0013).
    mail_change_request_id: Mapped[int | None]
    registration_id: Mapped[int | None]
    passkey_id: Mapped[int | None]
    # Text no code knows in advance: the reason a staff member typed, a command's note.
    detail: Mapped[str | None] = mapped_column(String(200))


class FlowState(db.Model):
    """What a browser is in the middle of (a wizard's step, a keypad shown), kept on the server.

    The session cookie is signed, not encrypted: it only holds a random handle;
    what the handle stands for (an agent id, a NIR digest, a keypad order) stays here.
    """

    # SHA-256 of the handle held in the session: a database leak yields no handle.
    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    purpose: Mapped[str] = mapped_column(String(40))
    data: Mapped[dict] = mapped_column(JSON)
    expires_at: Mapped[datetime] = mapped_column(index=True)


class Passkey(db.Model):
    """A passkey (« clé d'accès », a WebAuthn credential) of an agent or of a staff member.

    One table for both owners, as `AuthSession` does: one ceremony module, one lookup by
    credential id at sign-in, and a credential id unique across the whole site. Exactly one
    owner is set (the check constraint).
    """

    id: Mapped[int] = mapped_column(primary_key=True)
    agent_id: Mapped[int | None] = mapped_column(ForeignKey("agent.id", ondelete="CASCADE"), index=True)
    staff_id: Mapped[int | None] = mapped_column(ForeignKey("delegation_staff.id", ondelete="CASCADE"), index=True)
    # The authenticator's id for the credential (at most 1023 bytes in WebAuthn).
    credential_id: Mapped[bytes] = mapped_column(LargeBinary(1023), unique=True)
    # The COSE public key: a signature check, never a secret.
    public_key: Mapped[bytes] = mapped_column(LargeBinary)
    # The authenticator's signature counter at the last use (0 for those that keep none).
    sign_count: Mapped[int] = mapped_column(BigInteger, default=0)
    # What the browser said the authenticator is reached by ("internal", "hybrid"…).
    transports: Mapped[list] = mapped_column(JSON, default=list)
    # The WebAuthn user handle (random, the same for every passkey of one owner): an assertion
    # must carry the one of its credential's owner.
    user_handle: Mapped[bytes] = mapped_column(LargeBinary(64))
    # « iPhone — Safari », from the User-Agent at creation; the owner may rename it.
    name: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_used_at: Mapped[datetime | None]
    # Set when its signature counter went backwards (a copied authenticator?): refused from then on.
    cloned_at: Mapped[datetime | None]

    agent: Mapped[Agent | None] = relationship()
    staff: Mapped[DelegationStaff | None] = relationship()

    __table_args__ = (CheckConstraint("(agent_id IS NULL) <> (staff_id IS NULL)", name="ck_passkey_one_owner"),)
