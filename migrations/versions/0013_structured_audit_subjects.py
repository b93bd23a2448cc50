"""Audit rows: what they are about in id columns, why in a coded reason, instead of parsed text

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-10

`security_event` gains `reason` (an `events.Reason` value, String(40) as `kind` is) and
`mail_change_request_id`, `registration_id`, `passkey_id`. The ids are plain integers, not
foreign keys: the audit trail must outlive the rows it names. A passkey is deleted right
after its `passkey_deleted` row is written, and `uploads purge` deletes unconfirmed
registrations; a foreign key would either refuse those deletions or (ON DELETE SET NULL)
erase the very id the row is about. They carry no index: no page looks rows up by them yet.

The old rows are parsed once, here: « request 12 », « registration 5 » and « passkey 7 »
move to their column; the codes (« staff », « unknown_numero », « challenge »…) to `reason`;
a passkey's « creation: X » becomes the kind `passkey_creation_failure` with reason X, and
« second factor: X » reason X (the row's staff id already says it was the second factor).
Only the kinds that wrote each form are read: a staff member's typed reason stays text,
whatever it says. Anything else is left as it was. Downgrade writes the same strings back.
"""

import re

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None

# The values of events.Reason when this migration was written (copied: a migration must not
# change when the code does).
REASONS = {
    "personal", "provisional", "passkey", "staff", "change_pin", "email_change", "charter_refused",
    "unknown_numero", "blocked", "failed", "provisional_expired", "legacy", "disabled",
    "address", "busy", "locked", "capped",
    "questionnaire", "first_connection", "forgotten_password", "enrolment",
    "challenge", "owner", "invalid", "duplicate", "unknown_credential", "other_owner", "user_handle", "cloned", "counter",
}  # fmt: skip
# The kinds whose detail was a code, never text someone typed.
CODED_KINDS = {
    "login_success", "login_failure", "login_refused", "logout",
    "identification_failure", "second_factor_failure", "passkey_failure",
}  # fmt: skip
# The kinds whose detail named a subject, and the column each form goes to.
SUBJECT_KINDS = {
    "request": ("mail_change_request_id", {"personal_data_viewed", "payslip_downloaded", "mail_change_accepted", "mail_change_rejected"}),
    "registration": ("registration_id", {"personal_data_viewed", "payslip_downloaded", "registration_accepted", "registration_rejected"}),
    "passkey": ("passkey_id", {"passkey_added", "passkey_deleted", "passkey_cloned"}),
}  # fmt: skip
SUBJECT = re.compile(r"(request|registration|passkey) ([0-9]{1,9})")
CREATION = "creation: "
SECOND_FACTOR = "second factor: "
CREATION_FAILURE = "passkey_creation_failure"
ID_COLUMNS = ("mail_change_request_id", "registration_id", "passkey_id")
# Rows read and written at a time: the audit trail may hold millions.
BATCH = 5000

events = sa.table(
    "security_event",
    sa.column("id", sa.Integer),
    sa.column("kind", sa.String),
    sa.column("staff_id", sa.Integer),
    sa.column("detail", sa.String),
    sa.column("reason", sa.String),
    *(sa.column(name, sa.Integer) for name in ID_COLUMNS),
)


def structured(kind: str, detail: str) -> dict | None:
    """The kind, reason and ids an old row's detail becomes, or None to leave the row as it was."""
    values = {"kind": kind, "reason": None, **dict.fromkeys(ID_COLUMNS)}
    code = detail
    if kind == "passkey_failure" and detail.startswith(CREATION):
        values["kind"], code = CREATION_FAILURE, detail.removeprefix(CREATION)
    elif kind == "passkey_failure" and detail.startswith(SECOND_FACTOR):
        code = detail.removeprefix(SECOND_FACTOR)
    if kind in CODED_KINDS and code in REASONS:
        return {**values, "reason": code}
    match = SUBJECT.fullmatch(detail)
    if match and kind in SUBJECT_KINDS[match[1]][1]:
        return {**values, SUBJECT_KINDS[match[1]][0]: int(match[2])}
    return None


def flattened(row) -> dict:
    """The kind and detail a row had before this revision, from its new columns."""
    kind = "passkey_failure" if row.kind == CREATION_FAILURE else row.kind
    for prefix, (column, _) in SUBJECT_KINDS.items():
        if getattr(row, column) is not None:
            return {"kind": kind, "detail": f"{prefix} {getattr(row, column)}"}
    if row.kind == CREATION_FAILURE:
        return {"kind": kind, "detail": f"{CREATION}{row.reason}"}
    if row.kind == "passkey_failure" and row.staff_id is not None and row.reason is not None:
        return {"kind": kind, "detail": f"{SECOND_FACTOR}{row.reason}"}
    return {"kind": kind, "detail": row.reason}


def rewrite(candidates, statement, change) -> None:
    """Read the candidate rows by batches of ids; `statement` updates each row `change` returns values for."""
    connection = op.get_bind()
    last = 0
    while True:
        rows = connection.execute(candidates.where(events.c.id > last).order_by(events.c.id).limit(BATCH)).all()
        if not rows:
            return
        last = rows[-1].id
        updates = [{"row_id": row.id, **values} for row in rows if (values := change(row)) is not None]
        if updates:
            connection.execute(statement, updates)


def update(*columns: str):
    """UPDATE security_event SET each column to its own parameter WHERE id = :row_id (for executemany)."""
    return events.update().where(events.c.id == sa.bindparam("row_id")).values({c: sa.bindparam(c) for c in columns})


def upgrade():
    with op.batch_alter_table("security_event", schema=None) as batch_op:
        batch_op.add_column(sa.Column("reason", sa.String(length=40), nullable=True))
        batch_op.add_column(sa.Column("mail_change_request_id", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("registration_id", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("passkey_id", sa.Integer(), nullable=True))
    kinds = CODED_KINDS.union(*(subject_kinds for _, subject_kinds in SUBJECT_KINDS.values()))
    rewrite(
        sa.select(events.c.id, events.c.kind, events.c.detail).where(
            events.c.kind.in_(kinds), events.c.detail.is_not(None)
        ),
        update("kind", "reason", *ID_COLUMNS).values(detail=None),
        lambda row: structured(row.kind, row.detail),
    )


def downgrade():
    structured_rows = sa.or_(
        events.c.kind == CREATION_FAILURE,
        events.c.reason.is_not(None),
        *(events.c[name].is_not(None) for name in ID_COLUMNS),
    )
    rewrite(
        sa.select(
            events.c.id, events.c.kind, events.c.staff_id, events.c.reason, *(events.c[n] for n in ID_COLUMNS)
        ).where(structured_rows, events.c.detail.is_(None)),
        update("kind", "detail"),
        flattened,
    )
    # In place, not a copy of the whole audit trail: SQLite drops a column itself since 3.35 (as 0011 relies on).
    with op.batch_alter_table("security_event", schema=None, recreate="never") as batch_op:
        batch_op.drop_column("passkey_id")
        batch_op.drop_column("registration_id")
        batch_op.drop_column("mail_change_request_id")
        batch_op.drop_column("reason")
