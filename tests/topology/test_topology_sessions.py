"""Check 2: no sticky sessions. Every request below names the app host it goes to (straight, as
nginx reaches it), and the journeys switch hosts between two steps."""

import re

import pyotp
import pytest
from cluster import CLIENT_V4

from tests_support.flows import PDF, REGISTRATION_URL
from tests_support.personas import ANNE, BRETAGNE_STAFF, DEMO_TOTP_SECRET, SOPHIE

pytestmark = pytest.mark.topology

# A payslip nobody else sent: the bytes staff download must be these.
PAYSLIP = PDF + b"% envoye par l'hote 1\n"


def routes_served(portal, host: int) -> list[tuple[str, str]]:
    """(method, route) of each request an app host answered so far."""
    return [(line["method"], line["route"]) for line in portal.hosts[host].request_lines()]


def test_a_keypad_page_of_one_host_logs_in_on_the_other_and_the_session_works_on_both(portal, figures):
    agent = portal.browser(CLIENT_V4[50], host=1)
    form = agent.login_form(SOPHIE.numero, SOPHIE.pin)
    agent.host = 2
    answer = agent.post_login(form)
    assert answer.status == 303 and answer.headers["Location"] == "/espace-agent/"

    agent.host = 1
    home = agent.get("/espace-agent/")
    assert home.status == 200
    assert "Sophie" in home.soup.main.get_text()
    agent.host = 2
    assert "Sophie" in agent.get("/espace-agent/").soup.main.get_text()
    assert ("GET", "/") in routes_served(portal, 1) and ("POST", "/") in routes_served(portal, 2)
    figures(keypad_from="app1", login_on="app2", session_used_on=["app1", "app2"])


def test_a_registration_started_on_one_host_ends_on_the_other_and_staff_get_its_payslip_from_it(portal, figures):
    (rennes,) = portal.sql(
        "SELECT id FROM establishment WHERE name = %s", "Centre Hospitalier Universitaire de Rennes"
    )[0]
    pages = [
        (1, "/inscription", {"civility": "Mme", "last_name": "Le Goff", "first_name": "Anne", "birth_date": "12/03/1991", "email": "anne.legoff@example.org"}),
        (2, "/inscription/adresse", {"country": "FR", "postal_code": "35000", "city": "rennes", "address_street": "2 rue de Brest"}),
        (1, "/inscription/etablissement", {"commune_query": "Rennes", "commune": "35238", "establishment": str(rennes), "entry_date": "01/09/2015", "position": "titulaire"}),
    ]  # fmt: skip
    anne = portal.browser(CLIENT_V4[51], host=1)
    anne.get(REGISTRATION_URL)
    page = anne.submit(REGISTRATION_URL, {"nir": ANNE.nir})
    assert page.status == 200, page.soup.main.get_text()
    for host, path, fields in pages:
        anne.host = host
        anne.get(REGISTRATION_URL + path)
        page = anne.submit(REGISTRATION_URL + path, fields)
        assert page.status == 200, page.soup.main.get_text()
    anne.host = 1  # the payslip is uploaded through host 1 ...
    anne.get(REGISTRATION_URL + "/inscription/bulletin")
    page = anne.submit(REGISTRATION_URL + "/inscription/bulletin", files={"payslip": (PAYSLIP, "bulletin.pdf")})
    assert page.soup.h1.get_text(strip=True) == "Vérifiez vos réponses"
    anne.host = 2  # ... and sent with the registration by host 2
    page = anne.submit(REGISTRATION_URL + "/inscription/verification")
    assert page.status == 200 and "/inscription/envoyee" in anne.page_path

    mail = portal.wait_for_mail("anne.legoff@example.org")
    link = re.search(
        r"https://[^/\s]+(/demande-numero/confirmer/\S+)", mail["message"].get_body(("plain",)).get_content()
    )
    anne.host = 1
    assert anne.get(link.group(1)).status == 200
    (registration, stored) = portal.sql("SELECT id, payslip_path FROM registration ORDER BY id DESC LIMIT 1")[0]

    staff = portal.browser(CLIENT_V4[52], host=1)
    staff.get("/delegation")
    page = staff.submit("/delegation", BRETAGNE_STAFF.credentials)
    staff.host = 2
    form_action = page.soup.select_one("main form[method=post]")["action"]
    staff.submit(form_action, {"code": pyotp.TOTP(DEMO_TOTP_SECRET).now()})
    detail = staff.get(f"/delegation/inscriptions/{registration}")
    assert detail.status == 200 and "LE GOFF" in detail.soup.main.get_text().upper()
    payslip_link = detail.soup.select_one(f"a[href='/delegation/inscriptions/{registration}/bulletin']")
    assert payslip_link is not None
    download = staff.request("GET", payslip_link["href"])
    assert download.status == 200 and download.body == PAYSLIP
    assert ("POST", "/demande-numero/inscription/bulletin") in routes_served(portal, 1)
    assert ("POST", "/demande-numero/inscription/verification") in routes_served(portal, 2)
    assert any(
        method == "GET" and route.startswith("/delegation/inscriptions/") and route.endswith("/bulletin")
        for method, route in routes_served(portal, 2)
    )
    figures(
        payslip_uploaded_on="app1", sent_on="app2", confirmed_on="app1", downloaded_by_staff_on="app2", stored_as=stored
    )
