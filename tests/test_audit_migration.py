"""Migration 0013: the audit rows' old detail strings move to their columns once, and back on downgrade.

Run on SQLite, and on PostgreSQL when CGOS_TEST_DATABASE_URL is set (`make test-postgres`).
"""

from datetime import datetime, timedelta

import pytest
import sqlalchemy as sa
from flask_migrate import downgrade, upgrade

from cgos.cli import bind_migrations
from cgos.extensions import db
from tests_support.staff import log_in_staff

# Each old row: kind, written by the demo staff?, detail as stored before 0013;
# then the row after 0013 (kind, reason, request id, registration id, passkey id, detail);
# then, for a staff row, what « Historique » showed for it before 0013 (action, subject).
OLD_ROWS = [
    ("personal_data_viewed", True, "request 12", ("personal_data_viewed", None, 12, None, None, None),
     ("Consultation de données personnelles", "Demande n° 12")),
    ("payslip_downloaded", True, "registration 5", ("payslip_downloaded", None, None, 5, None, None),
     ("Téléchargement d'un bulletin de paie", "Inscription n° 5")),
    ("payslip_downloaded", True, "request 12", ("payslip_downloaded", None, 12, None, None, None),
     ("Téléchargement d'un bulletin de paie", "Demande n° 12")),
    ("mail_change_accepted", True, "request 13", ("mail_change_accepted", None, 13, None, None, None),
     ("Demande prise en compte", "Demande n° 13")),
    ("mail_change_rejected", True, "request 14", ("mail_change_rejected", None, 14, None, None, None),
     ("Demande non prise en compte", "Demande n° 14")),
    ("registration_accepted", True, "registration 6", ("registration_accepted", None, None, 6, None, None),
     ("Inscription vérifiée", "Inscription n° 6")),
    ("registration_rejected", True, "registration 7", ("registration_rejected", None, None, 7, None, None),
     ("Inscription rejetée", "Inscription n° 7")),
    ("passkey_added", False, "passkey 3", ("passkey_added", None, None, None, 3, None), None),
    ("passkey_deleted", True, "passkey 4", ("passkey_deleted", None, None, None, 4, None),
     ("Clé d'accès supprimée", "")),
    ("passkey_cloned", False, "passkey 5", ("passkey_cloned", None, None, None, 5, None), None),
    ("login_success", False, "personal", ("login_success", "personal", None, None, None, None), None),
    ("login_success", False, "passkey", ("login_success", "passkey", None, None, None, None), None),
    ("login_success", True, "staff", ("login_success", "staff", None, None, None, None), ("Connexion", "")),
    ("login_failure", False, "unknown_numero", ("login_failure", "unknown_numero", None, None, None, None), None),
    ("login_failure", False, "email_change", ("login_failure", "email_change", None, None, None, None), None),
    ("login_refused", False, "capped", ("login_refused", "capped", None, None, None, None), None),
    ("logout", False, "charter_refused", ("logout", "charter_refused", None, None, None, None), None),
    ("identification_failure", False, "forgotten_password",
     ("identification_failure", "forgotten_password", None, None, None, None), None),
    ("second_factor_failure", True, "enrolment", ("second_factor_failure", "enrolment", None, None, None, None),
     ("Code de vérification refusé", "")),
    ("passkey_failure", False, "counter", ("passkey_failure", "counter", None, None, None, None), None),
    ("passkey_failure", True, "second factor: user_handle",
     ("passkey_failure", "user_handle", None, None, None, None), ("Clé d'accès refusée", "")),
    ("passkey_failure", True, "creation: duplicate",
     ("passkey_creation_failure", "duplicate", None, None, None, None), ("Clé d'accès refusée", "")),
    ("passkey_failure", False, "creation: challenge",
     ("passkey_creation_failure", "challenge", None, None, None, None), None),
    # Left as they were: a staff member's typed reason, whatever it says; notes; strings no code wrote.
    ("account_disabled", True, "request 12", ("account_disabled", None, None, None, None, "request 12"),
     ("Compte désactivé", "Motif : request 12")),
    ("account_unlocked", True, "staff", ("account_unlocked", None, None, None, None, "staff"),
     ("Compte débloqué", "Motif : staff")),
    ("second_factor_reset", True, "flask staff reset-2fa, 2 passkey(s)",
     ("second_factor_reset", None, None, None, None, "flask staff reset-2fa, 2 passkey(s)"),
     ("Double authentification réinitialisée", "")),
    ("login_alert", False, "1000 per hour", ("login_alert", None, None, None, None, "1000 per hour"), None),
    ("login_failure", False, "a code no version wrote",
     ("login_failure", None, None, None, None, "a code no version wrote"), None),
    ("passkey_failure", False, "creation: not a reason",
     ("passkey_failure", None, None, None, None, "creation: not a reason"), None),
    ("personal_data_viewed", True, "request twelve",
     ("personal_data_viewed", None, None, None, None, "request twelve"), ("Consultation de données personnelles", "")),
    ("personal_data_viewed", True, "request 12a",
     ("personal_data_viewed", None, None, None, None, "request 12a"), ("Consultation de données personnelles", "")),
    ("payslip_downloaded", True, "Request 12",
     ("payslip_downloaded", None, None, None, None, "Request 12"), ("Téléchargement d'un bulletin de paie", "")),
    ("passkey_deleted", False, "passkey ", ("passkey_deleted", None, None, None, None, "passkey "), None),
    ("passkey_added", False, "passkey -3", ("passkey_added", None, None, None, None, "passkey -3"), None),
    # Past an integer column's range: never an id this portal gave.
    ("passkey_added", False, "passkey 1234567890",
     ("passkey_added", None, None, None, None, "passkey 1234567890"), None),
    ("login_failure", False, "Staff", ("login_failure", None, None, None, None, "Staff"), None),
    ("logout", True, None, ("logout", None, None, None, None, None), ("Déconnexion", "")),
]  # fmt: skip
# Older than anything the test does after the upgrade: these rows end « Historique ».
FIRST_ROW_AT = datetime(2026, 1, 5, 9, 0)
NEW_COLUMNS = ("reason", "mail_change_request_id", "registration_id", "passkey_id")

old_events = sa.table(
    "security_event",
    sa.column("id", sa.Integer),
    sa.column("kind", sa.String),
    sa.column("staff_id", sa.Integer),
    sa.column("created_at", sa.DateTime),
    sa.column("detail", sa.String),
)


@pytest.fixture
def migrated(app):
    """The app's database taken back to revision 0012 (its audit trail as it was), restored to head after."""
    bind_migrations(app)
    db.session.remove()
    downgrade(revision="0012")
    yield app
    db.session.remove()
    upgrade()


def demo_staff_id() -> int:
    """The id of the demo staff member `log_in_staff` logs in, read with SQL (the model describes a newer table)."""
    query = sa.text("SELECT id FROM delegation_staff WHERE email = 'delegation.bretagne@example.org'")
    return db.session.scalar(query)


def insert_old_rows() -> list[int]:
    """OLD_ROWS as revision 0012's code wrote them, a minute apart; their ids."""
    staff_id = demo_staff_id()
    ids = []
    for index, (kind, by_staff, detail, _, _) in enumerate(OLD_ROWS):
        values = {
            "kind": kind,
            "staff_id": staff_id if by_staff else None,
            "created_at": FIRST_ROW_AT + timedelta(minutes=index),
            "detail": detail,
        }
        ids.append(db.session.execute(old_events.insert().values(values).returning(old_events.c.id)).scalar_one())
    db.session.commit()
    db.session.remove()
    return ids


def stored(ids: list[int], columns: tuple[str, ...]) -> list[tuple]:
    """The rows' columns, in the order of `ids`."""
    query = sa.text(f"SELECT id, {', '.join(columns)} FROM security_event WHERE id IN :ids").bindparams(
        sa.bindparam("ids", expanding=True)
    )
    rows = {row[0]: tuple(row[1:]) for row in db.session.execute(query, {"ids": ids})}
    return [rows[row_id] for row_id in ids]


def test_upgrade_moves_each_old_detail_to_its_column_or_leaves_it(migrated):
    ids = insert_old_rows()
    upgrade()
    after = stored(ids, ("kind", *NEW_COLUMNS, "detail"))
    assert after == [row[3] for row in OLD_ROWS]


def test_historique_shows_migrated_rows_as_it_did_before(migrated, agent):
    insert_old_rows()
    upgrade()
    log_in_staff(agent)
    page = agent.get(f"/delegation/personnel/{demo_staff_id()}/historique")
    shown = [
        (cells[1].get_text(strip=True), cells[3].get_text(strip=True))
        for cells in (row.select("td") for row in page.main.select("tbody tr"))
    ]
    expected = [row[4] for row in OLD_ROWS if row[1]]
    # Newest first: the old rows come last, the latest of them first.
    assert shown[-len(expected) :] == expected[::-1]


def test_downgrade_writes_the_old_strings_back(migrated):
    ids = insert_old_rows()
    upgrade()
    db.session.remove()
    downgrade(revision="0012")
    assert stored(ids, ("kind", "detail")) == [(row[0], row[2]) for row in OLD_ROWS]
    columns = {column["name"] for column in sa.inspect(db.engine).get_columns("security_event")}
    assert not columns & set(NEW_COLUMNS)


def test_rows_written_after_the_upgrade_go_back_to_the_strings_they_replace(migrated, agent):
    """What today's code records (the PIN login, a view of a request) downgrades to 0012's strings."""
    upgrade()
    new_rows = [
        {"kind": "login_success", "reason": "personal"},
        {"kind": "personal_data_viewed", "mail_change_request_id": 41},
        {"kind": "payslip_downloaded", "registration_id": 42},
        {"kind": "passkey_deleted", "passkey_id": 43},
        {"kind": "passkey_creation_failure", "reason": "invalid"},
        {"kind": "passkey_failure", "reason": "challenge", "staff_id": demo_staff_id()},
        {"kind": "account_disabled", "detail": "Départ de l'établissement"},
    ]
    columns = ("id", "kind", "staff_id", "created_at", "detail", *NEW_COLUMNS)
    table = sa.table("security_event", *(sa.column(name) for name in columns))
    ids = [
        db.session.execute(table.insert().values(created_at=FIRST_ROW_AT, **row).returning(table.c.id)).scalar_one()
        for row in new_rows
    ]
    db.session.commit()
    db.session.remove()
    downgrade(revision="0012")
    assert stored(ids, ("kind", "detail")) == [
        ("login_success", "personal"),
        ("personal_data_viewed", "request 41"),
        ("payslip_downloaded", "registration 42"),
        ("passkey_deleted", "passkey 43"),
        ("passkey_failure", "creation: invalid"),
        ("passkey_failure", "second factor: challenge"),
        ("account_disabled", "Départ de l'établissement"),
    ]
