"""Command line: `flask --app app setup`, `mail send-pending`, `mail worker`, `mail purge`, `keys rotate`…"""

import signal
import threading
from datetime import date, timedelta

import click
from flask import Flask, current_app
from flask.cli import AppGroup, with_appcontext
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError

from . import ROOT, events, key_rotation, reference_data
from . import mail as mail_queue
from .agents_import import ImportFailed, import_agents
from .auth import current_charter, revoke_sessions
from .backoffice import second_factor
from .credentials.hashing import hash_secret, nir_digest
from .events import Event
from .extensions import db
from .finess import import_finess
from .identifiers import numero as numero_rules
from .maintenance import purge, send_reminders
from .models import (
    Agent,
    Commune,
    CommuneWord,
    Delegation,
    DelegationStaff,
    Department,
    Establishment,
    PasswordState,
    Region,
    utcnow,
)
from .passkeys import ceremonies
from .pins import generate_provisional_pin

DEMO_STAFF = ("delegation.bretagne@example.org", "Demo-Delegation-2026", "bretagne")
# The demo staff's TOTP secret, public (contract, README): `make run` and the tests compute its codes.
DEMO_STAFF_TOTP_SECRET = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"


def bind_migrations(app: Flask) -> None:
    """Flask-Migrate, for `flask db …` and `setup`.

    Alembic is imported here, not at the top: every web worker imports this
    module and never migrates, and Alembic costs each of them ≈ 11 MB and 0.15 s.
    """
    from flask_migrate import Migrate

    if "migrate" not in app.extensions:
        Migrate(app, db, directory=str(ROOT / "migrations"))


def _upsert(model, key: str, rows: list[dict]) -> int:
    """Insert missing rows and update changed ones; how many rows changed."""
    existing = {getattr(obj, key): obj for obj in db.session.scalars(db.select(model))}
    changed = 0
    new_rows = []
    for row in rows:
        obj = existing.get(row[key])
        if obj is None:
            new_rows.append(row)
            continue
        if any(getattr(obj, field) != value for field, value in row.items()):
            for field, value in row.items():
                setattr(obj, field, value)
            changed += 1
    if new_rows:
        db.session.execute(db.insert(model), new_rows)
    return changed + len(new_rows)


def load_reference_data() -> dict[str, int]:
    """Regions, departments, communes, delegations and establishments, without network access."""
    normalize = reference_data.normalize_search_text
    counts = {
        "régions": _upsert(Region, "code", [{"code": r.code, "name": r.name} for r in reference_data.iter_regions()]),
        "départements": _upsert(
            Department,
            "code",
            [{"code": d.code, "name": d.name, "region_code": d.region} for d in reference_data.iter_departments()],
        ),
    }
    db.session.flush()
    counts["communes"] = _upsert(
        Commune,
        "insee",
        [
            {
                "insee": c.insee,
                "name": c.name,
                "search_name": normalize(c.name),
                "postal_codes": " ".join(c.postal_codes),
                "department_code": c.department,
                "region_code": c.region,
            }
            for c in reference_data.iter_communes()
        ],
    )
    sync_commune_words()
    counts["délégations"] = _upsert(
        Delegation,
        "code",
        [
            {"code": d.code, "name": d.name, "region_code": d.region, "phone": d.phone, "email": d.email}
            for d in reference_data.iter_delegations()
        ],
    )
    db.session.flush()
    known = {(e.name, e.commune_insee): e for e in db.session.scalars(db.select(Establishment))}
    added = 0
    for item in reference_data.iter_establishments():
        if (item.name, item.insee) not in known:
            db.session.add(
                Establishment(
                    finess=item.finess,
                    name=item.name,
                    search_name=normalize(item.name),
                    category=item.category,
                    commune_insee=item.insee,
                )
            )
            added += 1
    counts["établissements"] = added
    return counts


def sync_commune_words() -> None:
    """The word table of the commune search, in step with the communes' search names (no change on a rerun)."""
    wanted = {
        (word, insee)
        for insee, search_name in db.session.execute(db.select(Commune.insee, Commune.search_name))
        for word in set(search_name.split())
    }
    present = {(word, insee) for word, insee in db.session.execute(db.select(CommuneWord.word, CommuneWord.insee))}
    for word, insee in present - wanted:
        db.session.execute(db.delete(CommuneWord).where(CommuneWord.word == word, CommuneWord.insee == insee))
    missing = [{"word": word, "insee": insee} for word, insee in wanted - present]
    if missing:
        db.session.execute(db.insert(CommuneWord), missing)


def _establishment(name: str) -> Establishment | None:
    """A reference establishment by its exact name."""
    return db.session.scalar(db.select(Establishment).where(Establishment.name == name))


def demo_agents() -> list[dict]:
    """The demo agents of the contract, with their password states."""
    now = utcnow()
    return [
        dict(
            numero="35127846 S",
            nir="285033523812388",
            civility="Mme",
            first_name="Marie",
            last_name="DUPONT",
            birth_date=date(1985, 3, 14),
            email="marie.dupont@example.org",
            establishment="Centre Hospitalier Universitaire de Rennes",
            position="titulaire",
        ),
        dict(
            numero="22904518 R",
            nir="179112205604250",
            civility="M.",
            first_name="Jean",
            last_name="MARTIN",
            birth_date=date(1979, 11, 2),
            email=None,
            establishment="Centre Hospitalier Yves Le Foll",
            position="contractuel",
        ),
        dict(
            numero="29088361 J",
            nir="290062901908862",
            civility="Mme",
            first_name="Sophie",
            last_name="BERNARD",
            birth_date=date(1990, 6, 21),
            email="sophie.bernard@example.org",
            establishment="Centre Hospitalier Universitaire de Brest",
            position="titulaire",
            pin="482915",
            accepted=now - timedelta(days=400),
        ),
        dict(
            numero="35477120 M",
            nir="168013523807715",
            civility="M.",
            first_name="Luc",
            last_name="PETIT",
            birth_date=date(1968, 1, 30),
            email="luc.petit@example.org",
            establishment="Centre Hospitalier Guillaume Régnier",
            position="titulaire",
            legacy="Azerty2015!",
            accepted=now - timedelta(days=3000),
        ),
        dict(
            numero="75236094 N",
            nir="295097505613387",
            civility="Mme",
            first_name="Nadia",
            last_name="HADDAD",
            birth_date=date(1995, 9, 9),
            email="nadia.haddad@example.org",
            establishment="Assistance Publique - Hôpitaux de Paris",
            position="stagiaire",
            provisional_issued_at=now - timedelta(days=45),
        ),
    ]


def load_demo_data() -> int:
    """Demo agents and staff of the contract; existing ones are left as they are."""
    created = 0
    for spec in demo_agents():
        compact = numero_rules.compact(spec["numero"])
        if db.session.scalar(db.select(Agent).where(Agent.numero == compact)):
            continue
        establishment = _establishment(spec["establishment"])
        agent = Agent(
            numero=compact,
            nir_digest=nir_digest(spec["nir"]),
            civility=spec["civility"],
            first_name=spec["first_name"],
            last_name=spec["last_name"],
            birth_date=spec["birth_date"],
            email=spec["email"],
            establishment_id=establishment.id if establishment else None,
            position=spec["position"],
        )
        if "pin" in spec:
            agent.pin_hash = hash_secret(spec["pin"])
            agent.password_state = PasswordState.PERSONAL
        if "legacy" in spec:
            agent.legacy_password_hash = hash_secret(spec["legacy"])
            agent.password_state = PasswordState.LEGACY
        if "accepted" in spec:
            agent.charter_accepted_at = agent.personal_data_confirmed_at = spec["accepted"]
            agent.charter_version = current_charter().version
        if "provisional_issued_at" in spec:
            # Nobody knows this PIN: it only stands for a mail sent 45 days ago.
            agent.provisional_pin_hash = hash_secret(generate_provisional_pin())
            agent.provisional_issued_at = spec["provisional_issued_at"]
            agent.password_state = PasswordState.PROVISIONAL
        db.session.add(agent)
        created += 1
    email, password, code = DEMO_STAFF
    staff = db.session.scalar(db.select(DelegationStaff).where(DelegationStaff.email == email))
    if staff is None:
        delegation = db.session.scalar(db.select(Delegation).where(Delegation.code == code))
        staff = DelegationStaff(email=email, password_hash=hash_secret(password), delegation=delegation, lead=True)
        db.session.add(staff)
        created += 1
    if staff.totp_secret_sealed is None:
        staff.totp_secret_sealed = second_factor.seal(DEMO_STAFF_TOTP_SECRET)
        staff.totp_enrolled_at = utcnow()
        created += 1
    return created


def refresh_statistics(*models) -> None:
    """After a bulk load, the query planner's statistics of the tables just filled: without them
    PostgreSQL plans the city search from a guess (45 words starting with « sa » instead of 5 533)
    and drives it from the wrong table, 20 ms instead of 1, until autovacuum comes by."""
    for model in models:
        db.session.execute(text(f"ANALYZE {model.__tablename__}"))
    db.session.commit()


@click.command("setup")
@with_appcontext
@click.option("--demo", is_flag=True, help="Charge aussi les agents et le personnel de démonstration.")
def setup_command(demo: bool) -> None:
    """Create or upgrade the schema and load the reference (and demo) data."""
    from flask_migrate import upgrade  # Alembic: see bind_migrations

    if demo and current_app.config.get("PRODUCTION"):
        # The demo staff password is public (README): never on a production database.
        raise click.UsageError("--demo est refusé sur une configuration de production (FLASK_PRODUCTION).")
    bind_migrations(current_app)
    upgrade()
    counts = load_reference_data()
    if demo:
        counts["données de démonstration"] = load_demo_data()
    db.session.commit()
    refresh_statistics(Commune, CommuneWord, Establishment, Agent)
    for name, count in counts.items():
        click.echo(f"{name} : {count} ajout(s) ou mise(s) à jour")


mail_group = AppGroup("mail", help="File d'attente des mails.")


@mail_group.command("send-pending")
def send_pending_command() -> None:
    """Send every queued mail that has not gone out yet."""
    sent, pending = mail_queue.send_pending()
    click.echo(f"{sent} mail(s) envoyé(s), {pending} en attente.")
    if pending:
        raise SystemExit(1)


@mail_group.command("worker")
def mail_worker_command() -> None:
    """Send each queued mail within a second of its commit, retrying with backoff, until stopped."""
    stopping = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stopping.set())
    click.echo("Envoi des mails en attente (arrêt : Ctrl-C ou SIGTERM).")
    mail_queue.run_worker(current_app._get_current_object(), stopping)


@mail_group.command("purge")
def mail_purge_command() -> None:
    """Empty the bodies of mails sent more than MAIL_RETENTION_DAYS ago (recipient, subject and times stay)."""
    click.echo(f"{mail_queue.purge_sent(utcnow())} mail(s) vidé(s).")


@mail_group.command("remind")
def remind_command() -> None:
    """Remind agents whose provisional password is not personalised yet (days 7, 21, 28)."""
    click.echo(f"{send_reminders(utcnow())} rappel(s) mis en file d'attente.")


uploads_group = AppGroup("uploads", help="Bulletins de paie reçus.")


@uploads_group.command("purge")
def purge_command() -> None:
    """Delete decided payslips past PAYSLIP_RETENTION_DAYS, unconfirmed registrations and expired flow states."""
    for what, count in purge(utcnow()).items():
        click.echo(f"{count} {what}.")


staff_group = AppGroup("staff", help="Personnel des délégations.")


@staff_group.command("create")
@click.argument("email")
@click.option("--delegation", "code", required=True, help="Code de la délégation (bretagne, 53…).")
@click.option("--lead", is_flag=True, help="Responsable de la délégation : voit l'historique de son personnel.")
@click.password_option(envvar="CGOS_STAFF_PASSWORD", prompt="Mot de passe", confirmation_prompt=True)
def staff_create_command(email: str, code: str, lead: bool, password: str) -> None:
    """Create a delegation staff account (password from a prompt or CGOS_STAFF_PASSWORD); enrolled at first login."""
    email = email.strip().lower()
    delegation = db.session.scalar(
        db.select(Delegation).where(
            db.or_(Delegation.code == code.strip().lower(), Delegation.region_code == code.strip())
        )
    )
    if delegation is None:
        codes = ", ".join(db.session.scalars(db.select(Delegation.code).order_by(Delegation.code)))
        raise click.UsageError(f"délégation inconnue : {code} (codes : {codes})")
    if len(password) < 12:
        raise click.UsageError("le mot de passe doit comporter au moins 12 caractères")
    if db.session.scalar(db.select(DelegationStaff).where(DelegationStaff.email == email)):
        raise click.UsageError(f"{email} existe déjà")
    db.session.add(DelegationStaff(email=email, password_hash=hash_secret(password), delegation=delegation, lead=lead))
    db.session.commit()
    click.echo(f"{email} peut se connecter au back office de la {delegation.name}.")


@staff_group.command("reset-2fa")
@click.argument("email")
def staff_reset_second_factor_command(email: str) -> None:
    """Forget a staff member's second factor (lost phone), their passkeys too: enrolled again at the next login."""
    email = email.strip().lower()
    staff = db.session.scalar(db.select(DelegationStaff).where(DelegationStaff.email == email))
    if staff is None:
        raise click.UsageError(f"aucun membre du personnel n'a l'adresse {email}")
    second_factor.forget(staff)
    passkeys = ceremonies.delete_all(staff)
    revoke_sessions(staff=staff)
    events.record(Event.SECOND_FACTOR_RESET, None, f"flask staff reset-2fa, {passkeys} passkey(s)", staff=staff)
    db.session.commit()
    forgotten = f" ({passkeys} clé(s) d'accès supprimée(s))" if passkeys else ""
    click.echo(
        f"Double authentification réinitialisée{forgotten} : {email} l'activera de nouveau à sa prochaine connexion."
    )


keys_group = AppGroup("keys", help="Clés qui chiffrent les secrets conservés (TOTP_SECRET_KEYS, MAIL_SECRET_KEY).")


@keys_group.command("rotate")
@click.option(
    "--drop-unreadable-mails",
    is_flag=True,
    help="Supprime les mails en attente dont aucune clé ne lit les secrets (l'agent refera sa demande).",
)
def keys_rotate_command(drop_unreadable_mails: bool) -> None:
    """Re-seal every staff TOTP secret and every queued mail's secrets with the newest key; none is ever printed."""
    done, unreadable = key_rotation.rotate(drop_unreadable_mails)
    for line in done:
        click.echo(line)
    for line in unreadable:
        click.echo(line, err=True)
    if unreadable:
        raise SystemExit(1)


agents_group = AppGroup("agents", help="Fichier des agents.")


@agents_group.command("import")
@click.argument("path", type=click.Path(exists=True, dir_okay=False))
def agents_import_command(path: str) -> None:
    """Load or update agents from the CGOS CSV file: all rows or none."""
    try:
        result = import_agents(path)
    except ImportFailed as failure:
        for error in failure.errors:
            click.echo(error, err=True)
        raise click.ClickException("fichier refusé : aucun agent n'a été chargé") from None
    except IntegrityError:
        raise click.ClickException("fichier refusé : un NIR appartient déjà à un autre agent") from None
    refresh_statistics(Agent)
    click.echo(f"{result.created} agent(s) créé(s), {result.updated} mis à jour.")


establishments_group = AppGroup("establishments", help="Établissements employeurs.")


@establishments_group.command("import-finess")
@click.argument("path", type=click.Path(exists=True, dir_okay=False))
def import_finess_command(path: str) -> None:
    """Load public establishments from the FINESS extract (etalab-cs1100507-stock-*.csv)."""
    with open(path, "rb") as handle:
        report = import_finess(handle.read())
    refresh_statistics(Establishment)
    click.echo(f"{report.created} établissement(s) créé(s), {report.updated} mis à jour.")
    click.echo(f"Ignorés : {report.skipped_private} non publics, {report.skipped_unknown_commune} de commune inconnue.")
    if report.rejected_lines:
        lines = ", ".join(map(str, report.rejected_lines[:20]))
        click.echo(f"Lignes rejetées (nombre de colonnes incorrect) : {lines}", err=True)


def init_app(app: Flask) -> None:
    """Register the commands."""
    groups = (mail_group, uploads_group, staff_group, keys_group, agents_group, establishments_group)
    for command in (setup_command, *groups):
        app.cli.add_command(command)
