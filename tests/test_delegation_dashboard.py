"""The dashboard's figures with a controlled clock, its chart and data table, and the CSV export."""

import csv
import io
from datetime import datetime, timedelta, timezone

import pytest

from cgos.backoffice import dashboard
from cgos.extensions import db
from cgos.models import RequestStatus, SecurityEvent
from tests_support.factories import PARIS_APHP, RENNES_CHU, add_agent, add_questionnaire, add_registration, agent_row
from tests_support.personas import LUC, MARIE, NADIA, SOPHIE
from tests_support.staff import log_in_staff

UTC = timezone.utc
# Wednesday 25 November 2026, 10:00 in Paris.
NOW = datetime(2026, 11, 25, 9, 0, tzinfo=UTC)


@pytest.fixture
def workload(clock, app):
    """Bretagne's requests around NOW (and one of Île-de-France), the clock stopped at NOW."""
    clock.move_to(NOW)
    newcomer = add_agent("LEGOFF", "Anne", "12345678 R", RENNES_CHU)
    add_registration(newcomer, datetime(2026, 11, 13, 9, 0, tzinfo=UTC))
    add_questionnaire(agent_row(MARIE), datetime(2026, 11, 17, 9, 0, tzinfo=UTC))
    add_questionnaire(agent_row(LUC), datetime(2026, 11, 23, 9, 0, tzinfo=UTC), last_name='=HYPERLINK("http://x")')
    sophie = agent_row(SOPHIE)
    add_questionnaire(
        sophie,
        datetime(2026, 11, 16, 9, 0, tzinfo=UTC),
        status=RequestStatus.ACCEPTED,
        decided_at=datetime(2026, 11, 19, 9, 0, tzinfo=UTC),
    )
    add_questionnaire(
        sophie,
        datetime(2026, 11, 23, 8, 0, tzinfo=UTC),
        status=RequestStatus.REJECTED,
        decided_at=datetime(2026, 11, 24, 8, 0, tzinfo=UTC),
    )
    add_questionnaire(agent_row(NADIA), datetime(2026, 11, 2, 9, 0, tzinfo=UTC), place=PARIS_APHP)


def figures(page) -> dict[str, str]:
    """The dashboard's key figures, label -> value."""
    return {div.dt.get_text(strip=True): div.dd.get_text(strip=True) for div in page.main.select("dl.figures > div")}


def test_the_dashboard_figures(either, workload):
    log_in_staff(either)
    page = either.get("/delegation/tableau-de-bord")
    assert page.status == 200 and page.title.startswith("Tableau de bord")
    assert figures(page) == {
        "Demandes en attente": "3",
        "En retard (plus de 5 jours ouvrés)": "2",
        "Décisions cette semaine": "1",
        "Délai médian de décision (12 dernières semaines)": "2 jours",
    }


def test_pending_requests_oldest_first_late_ones_marked(either, workload):
    log_in_staff(either)
    rows = either.get("/delegation/tableau-de-bord").main.select("table.pending tbody tr")
    texts = [row.get_text(" ", strip=True) for row in rows]
    assert len(texts) == 3
    assert "LEGOFF" in texts[0] and "DUPONT" in texts[1] and "HYPERLINK" in texts[2]
    assert "8 jours ouvrés En retard" in texts[0]
    assert "6 jours ouvrés En retard" in texts[1]
    assert "2 jours ouvrés" in texts[2] and "En retard" not in texts[2]
    assert "HADDAD" not in " ".join(texts)


def test_the_chart_is_an_accessible_svg_with_its_data_in_a_disclosure(either, workload):
    log_in_staff(either)
    page = either.get("/delegation/tableau-de-bord")
    svg = page.main.find("svg", attrs={"role": "img"})
    title = svg.find("title")
    assert svg["aria-labelledby"] == title["id"] and "par semaine" in title.get_text()
    assert len(svg.find_all("rect")) == 24
    details = page.main.find("details")
    assert details.summary.get_text(strip=True) == "Voir les données"
    rows = {
        row.th.get_text(strip=True): [td.get_text(strip=True) for td in row.find_all("td")]
        for row in details.select("tbody tr")
    }
    assert len(rows) == 12
    assert rows["23 novembre 2026"] == ["2", "1"]
    assert rows["16 novembre 2026"] == ["2", "1"]
    assert rows["9 novembre 2026"] == ["1", "0"]
    assert not page.soup.find(attrs={"style": True}) and not page.soup.find("script", src=False)


def exported(browser):
    """The export response and its rows."""
    response = browser.client.get("/delegation/tableau-de-bord/demandes-en-attente.csv")
    text = response.get_data(as_text=True)
    return response, text, list(csv.reader(io.StringIO(text.removeprefix("\ufeff")), delimiter=";"))


def test_the_export_link_is_on_the_dashboard(either, workload):
    log_in_staff(either)
    link = either.get("/delegation/tableau-de-bord").main.find("a", string="Exporter")
    assert link["href"] == "/delegation/tableau-de-bord/demandes-en-attente.csv"


def test_the_export_opens_in_a_french_spreadsheet(agent, workload):
    log_in_staff(agent)
    response, text, rows = exported(agent)
    assert response.status_code == 200 and response.mimetype == "text/csv"
    assert response.headers["Content-Disposition"] == 'attachment; filename="demandes-en-attente-2026-11-25.csv"'
    assert text.startswith("\ufeffType;Reçue le;")
    assert rows[0] == dashboard.EXPORT_HEADER
    assert [row[5] for row in rows[1:]] == ["LEGOFF", "DUPONT", '\'=HYPERLINK("http://x")']
    assert rows[1][0] == "Demande de n°C.G.O.S" and rows[1][3] == "oui" and rows[1][4] == "12345678 R"
    assert rows[3][3] == "non"
    assert db.session.scalar(db.select(SecurityEvent).where(SecurityEvent.kind == "requests_exported")).staff_id


def test_the_export_holds_no_payslip_nor_nir(agent, workload):
    log_in_staff(agent)
    _, text, _ = exported(agent)
    for secret in ("bulletin", "2 80 01", ".pdf", "nir", "inscription@example.org"):
        assert secret not in text.lower()


def test_the_export_holds_no_birth_date_typed_by_a_requester(agent, workload):
    """I5: the triage needs who and since when, not the birth date a requester typed (maybe not the agent's)."""
    from datetime import date

    from cgos.models import MailChangeRequest
    from cgos.templating import french_date

    typed = db.session.scalar(db.select(MailChangeRequest).where(MailChangeRequest.numero == MARIE.compact_numero))
    typed.birth_date = date(1971, 7, 9)
    db.session.commit()
    log_in_staff(agent)
    _, text, rows = exported(agent)
    assert "Date de naissance" not in rows[0] and len(rows) == 4
    for born in (date(1971, 7, 9), date(1985, 3, 14), date(1980, 1, 1), date(1968, 1, 30)):
        assert french_date(born) not in text and born.strftime("%d/%m/%Y") not in text and born.isoformat() not in text


@pytest.mark.parametrize("value", ["=1+1", "+33", "-2", "@SUM(A1)", "\tx"])
def test_cells_that_a_spreadsheet_would_compute_are_quoted(value):
    assert dashboard.safe_cell(value) == "'" + value
    assert dashboard.safe_cell("DUPONT") == "DUPONT"


def test_the_dashboard_and_export_need_staff(agent):
    assert agent.client.get("/delegation/tableau-de-bord").status_code == 303
    assert agent.client.get("/delegation/tableau-de-bord/demandes-en-attente.csv").status_code == 303


def test_an_empty_dashboard(clock, either, app):
    clock.move_to(NOW - timedelta(days=400))
    log_in_staff(either)
    page = either.get("/delegation/tableau-de-bord")
    assert "Aucune demande en attente." in page.main.get_text()
    assert figures(page)["Délai médian de décision (12 dernières semaines)"] == "aucune décision"


def test_a_public_holiday_is_not_a_working_day_on_the_dashboard(clock, either):
    # Received Tuesday 10 November 2026; Wednesday 11 is Armistice Day. By Wednesday 18: 5 working days, not 6.
    clock.move_to(datetime(2026, 11, 18, 9, 0, tzinfo=UTC))
    add_questionnaire(agent_row(MARIE), datetime(2026, 11, 10, 9, 0, tzinfo=UTC))
    log_in_staff(either)
    page = either.get("/delegation/tableau-de-bord")
    row = page.main.select_one("table.pending tbody tr").get_text(" ", strip=True)
    assert "5 jours ouvrés" in row and "En retard" not in row
    assert figures(page)["En retard (plus de 5 jours ouvrés)"] == "0"
