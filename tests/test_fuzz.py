"""Every public form fed thousands of generated inputs: never a 500, never a half-written row.

`make test-fuzz` (and CI) runs 10 000 examples per form; set CGOS_FUZZ_EXAMPLES to change it.
"""

import io
import os
from datetime import timedelta
from pathlib import Path

import pytest
from flask import session
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cgos import create_app, flow_state
from cgos.extensions import db
from cgos.models import Agent, MailChangeRequest, Registration
from tests_support.backends import BASE_CONFIG
from tests_support.personas import JEAN, MARIE, SOPHIE

pytestmark = pytest.mark.fuzz
EXAMPLES = int(os.environ.get("CGOS_FUZZ_EXAMPLES", "10000"))
FUZZ_SETTINGS = settings(
    max_examples=EXAMPLES,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.function_scoped_fixture],
)
ALLOWED = {200, 303, 400, 413, 422, 429}

PLAUSIBLE = st.sampled_from(
    [
        MARIE.numero,
        "35127846s",
        SOPHIE.numero,
        "1985",
        "3",
        "13",
        "0",
        "-1",
        MARIE.spaced_nir,
        MARIE.email,
        "a@b",
        MARIE.birth_date_typed,
        "1985-03-14",
        "31/02/2020",
        "35000",
        "Rennes",
        "35238",
        "FR",
        "BE",
        "Mme",
        "M.",
        "titulaire",
        "validate",
        "clear",
        "search_commune",
        "search_establishment",
        "accept",
        "reject",
        "clavier",
        "1",
        "99999999",
        "Ω≈ç√∫",
        "<script>alert(1)</script>",
        "' OR 1=1 --",
    ]
)
ODD = st.sampled_from(["x" * 20_000, "\x00", "a\x00b", "\ud7ff" * 10, "é" * 5000, " " * 300, "\r\n" * 50])
VALUE = st.one_of(st.text(max_size=40), PLAUSIBLE, ODD, st.text(alphabet=st.characters(codec="utf-8"), max_size=300))
FILE = st.tuples(
    st.one_of(st.binary(max_size=2048), st.sampled_from([b"%PDF-1.4\n", b"\x89PNG\r\n\x1a\n", b"\xff\xd8\xff", b""])),
    st.one_of(st.text(max_size=30), st.sampled_from(["b.pdf", "../../etc/passwd", "x.svg", "", "a\x00.pdf"])),
)


def form_data(fields, files=()):
    """Random bodies: any subset of the form's fields (and unknown ones), odd values, several values."""
    values = st.one_of(VALUE, st.lists(VALUE, min_size=2, max_size=3))
    strategy = st.dictionaries(st.sampled_from([*fields, "unexpected", ""]), values, max_size=len(fields) + 2)
    if files:
        strategy = st.tuples(strategy, st.dictionaries(st.sampled_from(files), FILE, max_size=1)).map(
            lambda pair: {
                **pair[0],
                **{name: (io.BytesIO(content), filename) for name, (content, filename) in pair[1].items()},
            }
        )
    return strategy


@pytest.fixture(scope="module")
def fuzz_app(prepared_database, tmp_path_factory):
    """One app for thousands of requests: CSRF and limits off, so inputs reach the validation."""
    folder = tmp_path_factory.mktemp("fuzz")
    app = create_app(
        {
            **BASE_CONFIG,
            "SQLALCHEMY_DATABASE_URI": prepared_database.fresh_url(folder),
            "UPLOAD_FOLDER": str(folder / "uploads"),
            "WTF_CSRF_ENABLED": False,
            "ADDRESS_RATE_LIMIT": "100000000 per hour",
            "LOGIN_LOCKOUT_LIMIT": "100000000 per hour",
            "IDENTIFICATION_RATE_LIMIT": "100000000 per hour",
            "MAIL_CONFIRMATION_LIMIT": "100000000 per day",
            "LOGIN_DAILY_LIMIT": "100000000 per day",
            "LOGIN_ALERT_LIMIT": "100000000 per hour",
            "NIR_RATE_LIMIT": "100000000 per day",
            "PROPAGATE_EXCEPTIONS": False,
        }
    )
    yield app
    with app.app_context():
        assert db.session.scalar(db.select(db.func.count(MailChangeRequest.id))) == 0
        assert db.session.scalar(db.select(db.func.count(Registration.id))) == 0
        assert db.session.scalar(db.select(db.func.count(Agent.id))) == 5
        db.engine.dispose()
    uploads = Path(app.config["UPLOAD_FOLDER"])
    # Kept payslips wait for their flow state (purged with it); none is stored without its request.
    stored = [path for path in uploads.rglob("*.*") if path.parent.name != "kept"] if uploads.exists() else []
    assert not stored, "no payslip left without its request"


def post_all(client, url, strategy, multipart: bool = False):
    """Post every generated body; none may fail the server."""
    content_type = "multipart/form-data" if multipart else "application/x-www-form-urlencoded"

    @FUZZ_SETTINGS
    @given(strategy)
    def run(data):
        response = client.post(url, data=data, content_type=content_type)
        assert response.status_code in ALLOWED, (response.status_code, data)

    run()


def with_state(app, purpose: str, data: dict):
    """A client whose wizard is at a given step: its state on the server, the handle in its session."""
    client = app.test_client()
    with app.test_request_context():
        flow_state.save(purpose, data, timedelta(hours=2))
        handle = {key: value for key, value in session.items() if key.startswith("state:")}
    with client.session_transaction() as client_session:
        client_session.update(handle)
    return client


def at_step(client, url: str):
    """The client, once checked to be at the step (not sent back to the start)."""
    assert client.get(url).status_code == 200, url
    return client


IDENTITY = ["numero", "birth_year", "birth_month"]
MAIL = ["email", "email_confirmation"]


def test_login_form(fuzz_app):
    client = fuzz_app.test_client()
    client.get("/")
    post_all(client, "/", form_data(["numero", "layout", "pressed", "mode", "password", "key", "action"]))


@pytest.mark.parametrize("url", ["/mot-de-passe-oublie", "/premiere-connexion"])
def test_identification_forms(fuzz_app, url):
    post_all(fuzz_app.test_client(), url, form_data(IDENTITY))


@pytest.mark.parametrize("steps", ["forgotten_password", "first_connection"])
def test_mail_confirmation_forms(fuzz_app, steps):
    with fuzz_app.app_context():
        marie = db.session.scalar(db.select(Agent.id).where(Agent.numero == MARIE.compact_numero))
    url = {"forgotten_password": "/mot-de-passe-oublie", "first_connection": "/premiere-connexion"}[steps]
    post_all(
        at_step(with_state(fuzz_app, steps, {"agent": marie}), url + "/adresse-mail"),
        url + "/adresse-mail",
        form_data(MAIL),
    )


QUESTIONNAIRE_IDENTITY = {
    "numero": JEAN.compact_numero,
    "birth_date": JEAN.birth_date.isoformat(),
    "last_name": "Martin",
    "first_name": "Jean",
}


@pytest.mark.parametrize(
    ("path", "fields", "files"),
    [
        ("", ["numero", "birth_date", "last_name", "first_name"], []),
        ("/adresse", ["new_email", "new_email_confirmation"], []),
        (
            "/etablissement",
            ["commune_query", "commune", "establishment_query", "establishment", "action"]
            + ["choose_commune", "choose_establishment"],
            [],
        ),
        ("/bulletin", ["action"], ["payslip"]),
    ],
    ids=["identity", "address", "establishment", "payslip"],
)
def test_questionnaire_pages(fuzz_app, path, fields, files):
    url = "/questionnaire-adresse-mail" + path
    post_all(
        at_step(with_state(fuzz_app, "questionnaire", {"answers": {"identity": QUESTIONNAIRE_IDENTITY}}), url),
        url,
        form_data(fields, files=files),
        multipart=bool(files),
    )


def test_nir_form(fuzz_app):
    post_all(fuzz_app.test_client(), "/demande-numero", form_data(["nir"]))


def test_known_nir_mail_form(fuzz_app):
    with fuzz_app.app_context():
        marie = db.session.scalar(db.select(Agent.id).where(Agent.numero == MARIE.compact_numero))
    post_all(
        at_step(with_state(fuzz_app, "number_request", {"agent": marie}), "/demande-numero/adresse-mail"),
        "/demande-numero/adresse-mail",
        form_data(MAIL),
    )


REGISTRATION_FACTS = {"sex": 2, "year": 91, "month": 3, "digest": "0" * 64, "masked": "2 •• •• •• ••• ••• 00"}


@pytest.mark.parametrize(
    ("path", "fields", "files"),
    [
        ("/demande-numero/inscription", ["civility", "last_name", "first_name", "birth_date", "email"], []),
        (
            "/demande-numero/inscription/adresse",
            [
                "address_flat",
                "address_building",
                "address_street",
                "address_locality",
                "country",
                "postal_code",
                "city",
            ],
            [],
        ),
        (
            "/demande-numero/inscription/etablissement",
            ["commune_query", "commune", "establishment_query", "establishment", "entry_date", "position", "action"],
            [],
        ),
        ("/demande-numero/inscription/bulletin", ["action"], ["payslip"]),
    ],
    ids=["identity", "address", "establishment", "payslip"],
)
def test_registration_question_pages(fuzz_app, path, fields, files):
    post_all(
        at_step(with_state(fuzz_app, "number_request", {"facts": REGISTRATION_FACTS}), path),
        path,
        form_data(fields, files=files),
        multipart=bool(files),
    )


def test_back_office_login(fuzz_app):
    post_all(fuzz_app.test_client(), "/delegation", form_data(["email", "password"]))


def test_searches(fuzz_app):
    client = fuzz_app.test_client()

    @FUZZ_SETTINGS
    @given(
        st.sampled_from(["/recherche/communes", "/recherche/etablissements", "/recherche/villes"]),
        st.dictionaries(st.sampled_from(["commune_query", "commune", "establishment_query", "postal_code"]), VALUE),
    )
    def run(url, params):
        assert client.get(url, query_string=params).status_code == 200

    run()
