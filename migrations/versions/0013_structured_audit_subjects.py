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
CREATION = "creation: "
SECOND_FACTOR = "second factor: "
CREATION_FAILURE = "passkey_creation_failure"
ID_COLUMNS = ("mail_change_request_id", "registration_id", "passkey_id")

events = sa.table(
    "security_event",
    sa.column("id", sa.Integer),
    sa.column("kind", sa.String),
    sa.column("staff_id", sa.Integer),
    sa.column("detail", sa.String),
    sa.column("reason", sa.String),
    *(sa.column(name, sa.Integer) for name in ID_COLUMNS),
)
row = events.c


def execute(statement) -> None:
    """Run one statement on the migration's connection."""
    op.get_bind().execute(statement)


def move_subjects(prefix: str, column: str, kinds: set[str]) -> None:
    """« request 12 » → 12 in `column`: the prefix, then one to nine digits, checked with functions
    SQLite and PostgreSQL share (PostgreSQL's CAST would fail on anything else)."""
    number = sa.func.substr(row.detail, len(prefix) + 2)
    execute(
        events.update()
        .where(
            row.kind.in_(kinds),
            sa.func.substr(row.detail, 1, len(prefix) + 1) == f"{prefix} ",
            sa.func.length(number).between(1, 9),
            sa.func.ltrim(number, "0123456789") == "",
        )
        .values({column: sa.cast(number, sa.Integer), "detail": None})
    )


def upgrade():
    with op.batch_alter_table("security_event", schema=None) as batch_op:
        batch_op.add_column(sa.Column("reason", sa.String(length=40), nullable=True))
        batch_op.add_column(sa.Column("mail_change_request_id", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("registration_id", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("passkey_id", sa.Integer(), nullable=True))
    # One statement per form, no row read in Python: PostgreSQL's ADD COLUMN keeps the table
    # locked until the migration commits, and the trail holds a row per login.
    execute(
        events.update().where(row.kind.in_(CODED_KINDS), row.detail.in_(REASONS)).values(reason=row.detail, detail=None)
    )
    for prefix, kind in ((CREATION, CREATION_FAILURE), (SECOND_FACTOR, "passkey_failure")):
        execute(
            events.update()
            .where(row.kind == "passkey_failure", row.detail.in_([prefix + reason for reason in REASONS]))
            .values(kind=kind, reason=sa.func.substr(row.detail, len(prefix) + 1), detail=None)
        )
    for prefix, (column, kinds) in SUBJECT_KINDS.items():
        move_subjects(prefix, column, kinds)


def downgrade():
    for prefix, (column, _) in SUBJECT_KINDS.items():
        execute(
            events.update()
            .where(row[column].is_not(None), row.detail.is_(None))
            .values(detail=sa.literal(f"{prefix} ") + sa.cast(row[column], sa.String))
        )
    execute(
        events.update()
        .where(row.kind == CREATION_FAILURE)
        .values(kind="passkey_failure", detail=sa.func.coalesce(row.detail, sa.literal(CREATION) + row.reason))
    )
    execute(
        events.update()
        .where(row.kind == "passkey_failure", row.staff_id.is_not(None), row.reason.is_not(None), row.detail.is_(None))
        .values(detail=sa.literal(SECOND_FACTOR) + row.reason)
    )
    execute(events.update().where(row.reason.is_not(None), row.detail.is_(None)).values(detail=row.reason))
    # In place, not a copy of the whole audit trail: SQLite drops a column itself since 3.35 (as 0011 relies on).
    with op.batch_alter_table("security_event", schema=None, recreate="never") as batch_op:
        batch_op.drop_column("passkey_id")
        batch_op.drop_column("registration_id")
        batch_op.drop_column("mail_change_request_id")
        batch_op.drop_column("reason")
