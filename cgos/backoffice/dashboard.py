"""The delegation's work at a glance: pending requests by age, decisions, a weekly chart, the CSV export."""

import csv
import io
from dataclasses import dataclass
from datetime import datetime, timedelta

from flask import Response, g, url_for
from sqlalchemy import select

from .. import events
from ..auth import staff_required
from ..dates import french_datetime, local_day
from ..events import Event
from ..extensions import db
from ..htmx import render_page
from ..models import MailChangeRequest, Registration, utcnow
from ..templating import format_numero
from . import bp, workload
from .routes import pending_questionnaires, pending_registrations

# Cells a spreadsheet would read as a formula.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
# What the triage needs: who asked, since when, where. No birth date: the one a requester typed
# may not be the agent's, it is checked on the request's page, and the file leaves the audit trail.
EXPORT_HEADER = [
    "Type",
    "Reçue le",
    "Jours ouvrés d'attente",
    "En retard",
    "N° C.G.O.S",
    "Nom",
    "Prénom",
    "Établissement",
]


@dataclass(frozen=True)
class Pending:
    """A request waiting for a decision, as the dashboard and the export list it."""

    kind: str
    url: str  # its page in the back office
    item_id: int
    received_at: datetime
    numero: str
    last_name: str
    first_name: str
    establishment: str
    working_days: int
    late: bool


def pending_requests(now: datetime) -> list[Pending]:
    """Questionnaires and registrations awaiting a decision, the oldest first."""
    today = local_day(now)
    # (kind, page, request, received at, numéro): a registration is received once its mail is confirmed.
    found = [
        (
            "Changement d'adresse mail",
            url_for("backoffice.request_detail", request_id=item.id),
            item,
            item.created_at,
            item.numero,
        )
        for item in db.session.scalars(pending_questionnaires())
    ] + [
        (
            "Demande de n°C.G.O.S",
            url_for("backoffice.registration_detail", registration_id=item.id),
            item,
            item.confirmed_at,
            item.agent.numero,
        )
        for item in db.session.scalars(pending_registrations())
    ]
    first_year = min((local_day(received_at).year for *_, received_at, _numero in found), default=today.year)
    holidays_off = workload.days_off(g.staff.delegation.region_code, first_year, today.year)
    items = [
        Pending(
            kind,
            url,
            item.id,
            received_at,
            numero,
            item.last_name,
            item.first_name,
            item.establishment.name,
            workload.working_days_between(local_day(received_at), today, holidays_off),
            workload.is_late(received_at, now, holidays_off),
        )
        for kind, url, item, received_at, numero in found
    ]
    return sorted(items, key=lambda pending: (pending.received_at, pending.kind, pending.item_id))


def decisions_since(since: datetime) -> list[tuple[datetime, datetime]]:
    """(received, decided) of the delegation's decisions taken since `since`."""
    delegation_id = g.staff.delegation_id
    pairs = db.session.execute(
        select(MailChangeRequest.created_at, MailChangeRequest.decided_at).where(
            MailChangeRequest.delegation_id == delegation_id, MailChangeRequest.decided_at >= since
        )
    ).all()
    pairs += db.session.execute(
        select(Registration.confirmed_at, Registration.decided_at).where(
            Registration.delegation_id == delegation_id,
            Registration.decided_at >= since,
            Registration.confirmed_at.is_not(None),
        )
    ).all()
    return [(received, decided) for received, decided in pairs]


def received_since(since: datetime) -> list[datetime]:
    """When the delegation's requests of the period were received."""
    delegation_id = g.staff.delegation_id
    moments = list(
        db.session.scalars(
            select(MailChangeRequest.created_at).where(
                MailChangeRequest.delegation_id == delegation_id, MailChangeRequest.created_at >= since
            )
        )
    )
    moments += db.session.scalars(
        select(Registration.confirmed_at).where(
            Registration.delegation_id == delegation_id, Registration.confirmed_at >= since
        )
    )
    return moments


@bp.get("/tableau-de-bord")
@staff_required
def dashboard():
    """Pending requests by age, decisions this week, median time to decision, requests per week."""
    now = utcnow()
    since = now - timedelta(weeks=workload.CHART_WEEKS + 1)
    decisions = decisions_since(since)
    weeks = workload.weekly_counts(received_since(since), [decided for _, decided in decisions], now)
    return render_page(
        "backoffice/dashboard.html",
        pending=pending_requests(now),
        decided_this_week=workload.decided_this_week([decided for _, decided in decisions], now),
        median=workload.duration_in_words(workload.median_decision_time(decisions)),
        weeks=weeks,
        chart=workload.chart(weeks),
        late_after=workload.LATE_AFTER_WORKING_DAYS,
    )


def safe_cell(value) -> str:
    """A cell a spreadsheet shows as text: a leading = + - @ gets a quote first."""
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def export_rows(pending: list[Pending]) -> str:
    """The CSV a French spreadsheet opens: `;` between cells, a BOM so that accents show."""
    buffer = io.StringIO()
    buffer.write("\ufeff")
    writer = csv.writer(buffer, delimiter=";", lineterminator="\r\n")
    writer.writerow(EXPORT_HEADER)
    for item in pending:
        writer.writerow(
            safe_cell(value)
            for value in (
                item.kind,
                french_datetime(item.received_at),
                item.working_days,
                "oui" if item.late else "non",
                format_numero(item.numero),
                item.last_name,
                item.first_name,
                item.establishment,
            )
        )
    return buffer.getvalue()


@bp.get("/tableau-de-bord/demandes-en-attente.csv")
@staff_required
def export_pending():
    """« Exporter »: the pending requests as CSV, without payslip, NIR or birth date; the export is recorded."""
    now = utcnow()
    body = export_rows(pending_requests(now))
    events.record(Event.REQUESTS_EXPORTED, None, staff=g.staff)
    db.session.commit()
    filename = f"demandes-en-attente-{local_day(now).isoformat()}.csv"
    return Response(
        body.encode("utf-8"),
        mimetype="text/csv",
        headers={"Content-Disposition": f'attachment; filename="{filename}"', "Cache-Control": "no-store"},
    )
