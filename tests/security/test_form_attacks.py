"""Attacks on the public forms, registration and questionnaire (December review: N5, N7, N11, I4), each stopped."""

import threading
from pathlib import Path

import pytest

import cgos.number_request.routes as registration_routes
import cgos.questionnaire.routes as questionnaire_routes
from cgos.extensions import db
from cgos.models import FlowState, MailChangeRequest, OutboundMail, Registration
from tests_support.flows import (
    QUESTION_PAGES,
    answer_questionnaire,
    answer_questions,
    link_in,
    nir_step,
    questionnaire_fields,
    register,
    registration_fields,
    send_questionnaire,
)
from tests_support.personas import ANNE
from tests_support.staff import log_in_staff

CHECK = "/demande-numero/inscription/verification"
QUESTIONNAIRE_CHECK = "/questionnaire-adresse-mail/verification"
COOKIE = "cgos_session"


def count(model) -> int:
    """How many rows a table holds."""
    return db.session.scalar(db.select(db.func.count()).select_from(model))


def files_in(app, folder: str) -> list[Path]:
    """The files of one folder of UPLOAD_FOLDER (`payslips`: stored with a request; `kept`: waiting for « Envoyer »)."""
    path = Path(app.config["UPLOAD_FOLDER"]) / folder
    return list(path.glob("*")) if path.is_dir() else []


def same_browser(browser, other) -> None:
    """`other` becomes a second tab of `browser`: its session cookie, on the page `browser` shows."""
    other.client.set_cookie(COOKIE, browser.client.get_cookie(COOKIE).value, domain="localhost")
    other.page = browser.page


def at_once(*calls) -> list:
    """Run each call in a thread of its own, all at once; their results, in order."""
    results = [None] * len(calls)

    def run(index, call):
        """One call, its result kept."""
        results[index] = call()

    threads = [threading.Thread(target=run, args=(index, call)) for index, call in enumerate(calls)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    return results


def heading(page) -> str:
    """The page's main heading."""
    return page.soup.h1.get_text(" ", strip=True)


# N5: « Envoyer » submitted twice at once (a double click, two tabs) registered twice.


def at_the_check_page(app, new_agent, **overrides):
    """Anne's registration answered up to « Vérifiez vos réponses », in two tabs of one browser."""
    first, second = new_agent(app), new_agent(app)
    nir_step(first, ANNE.nir)
    page = answer_questions(first, registration_fields(**overrides))
    assert heading(page) == "Vérifiez vos réponses"
    same_browser(first, second)
    return first, second


def test_two_simultaneous_envoyer_register_once(app, new_agent, monkeypatch):
    """Both requests have read the answers before either registers: one row, one mail, one payslip."""
    first, second = at_the_check_page(app, new_agent)
    both_checked = threading.Barrier(2, timeout=10)
    refused_here = registration_routes.refused_here

    def checked_together():
        """Both « Envoyer » have checked every answer when they pass the address limit."""
        both_checked.wait()
        return refused_here()

    monkeypatch.setattr(registration_routes, "refused_here", checked_together)
    pages = at_once(lambda: first.submit(CHECK), lambda: second.submit(CHECK))
    assert [heading(page) for page in pages] == ["Confirmez votre adresse mail"] * 2, "both tabs say it is sent"
    assert count(Registration) == 1
    assert count(OutboundMail) == 1
    assert len(files_in(app, "payslips")) == 1 and files_in(app, "kept") == []


def test_envoyer_sent_again_from_a_copy_of_the_cookie_registers_nothing(app, new_agent):
    first, second = at_the_check_page(app, new_agent)
    first.submit(CHECK)
    page = second.submit(CHECK)
    assert heading(page) != "Vérifiez vos réponses"
    assert count(Registration) == 1 and count(OutboundMail) == 1


def change_birth_date(browser, birth_date: str):
    """« Modifier » the birth date from « Vérifiez vos réponses »; the check page it leads back to."""
    url = "/demande-numero/inscription?retour=verification"
    browser.get(url)
    # (The test client's form_data leaves selects empty: a browser sends the option selected.)
    return browser.submit(url, {"civility": "Mme", "birth_date": birth_date})


def test_a_refusal_at_envoyer_keeps_every_answer(app, new_agent):
    """The entry date is checked again at « Envoyer »: refused there, nothing is lost, and it is sent once fixed."""
    browser, _ = at_the_check_page(app, new_agent, entry_date="13/03/2009")
    # Born on 14/03/1991, Anne would have entered her establishment the day before she was 18.
    page = change_birth_date(browser, "14/03/1991")
    assert "doit être postérieure à vos 18 ans" in page.text
    page = browser.submit(CHECK)
    assert page.status == 422 and count(Registration) == 0
    page = browser.get(CHECK)
    assert heading(page) == "Vérifiez vos réponses" and "Le Goff" in page.text, "every answer is still there"
    change_birth_date(browser, "12/03/1991")
    page = browser.submit(CHECK)
    assert heading(page) == "Confirmez votre adresse mail" and count(Registration) == 1


def test_a_failure_while_registering_keeps_the_answers(app, new_agent, monkeypatch):
    """« Envoyer » fails half-way (the mail queue, say): the state taken comes back with the rollback."""
    browser, _ = at_the_check_page(app, new_agent)

    def broken_queue(*args, **kwargs):
        """The mail queue fails."""
        raise RuntimeError("queue unavailable")

    monkeypatch.setattr("cgos.number_request.services.send_mail", broken_queue)
    assert browser.submit(CHECK).status == 500
    monkeypatch.undo()
    assert count(Registration) == 0
    page = browser.get(CHECK)
    assert heading(page) == "Vérifiez vos réponses"
    page = browser.submit(CHECK)
    assert heading(page) == "Confirmez votre adresse mail" and count(Registration) == 1


def questionnaire_at_the_check_page(app, new_agent):
    """Jean's questionnaire answered up to « Vérifiez vos réponses », in two tabs of one browser."""
    first, second = new_agent(app), new_agent(app)
    page = answer_questionnaire(first, questionnaire_fields())
    assert heading(page) == "Vérifiez vos réponses"
    same_browser(first, second)
    return first, second


def test_two_simultaneous_envoyer_of_one_questionnaire_send_it_once(app, new_agent, monkeypatch):
    """A double tap on « Envoyer »: one request, one mail to the delegation, one payslip."""
    first, second = questionnaire_at_the_check_page(app, new_agent)
    both_read = threading.Barrier(2, timeout=10)
    answered = questionnaire_routes.answered

    def read_together(current):
        """Both « Envoyer » have read the answers kept before either sends them."""
        both_read.wait()
        return answered(current)

    monkeypatch.setattr(questionnaire_routes, "answered", read_together)
    pages = at_once(lambda: first.submit(QUESTIONNAIRE_CHECK), lambda: second.submit(QUESTIONNAIRE_CHECK))
    assert [heading(page) for page in pages] == ["Votre questionnaire a été envoyé"] * 2
    assert count(MailChangeRequest) == 1
    assert count(OutboundMail) == 1
    assert len(files_in(app, "payslips")) == 1 and files_in(app, "kept") == []


def test_the_same_questionnaire_sent_again_later_is_not_a_second_request(app, new_agent):
    """The back button, or the POST replayed from a copy of the cookie: still one request."""
    first, second = questionnaire_at_the_check_page(app, new_agent)
    assert heading(first.submit(QUESTIONNAIRE_CHECK)) == "Votre questionnaire a été envoyé"
    page = second.submit(QUESTIONNAIRE_CHECK)
    assert heading(page) == "Votre identité", "nothing left to send: a new questionnaire starts"
    assert count(MailChangeRequest) == 1 and count(OutboundMail) == 1
    assert len(files_in(app, "payslips")) == 1 and files_in(app, "kept") == []


def test_a_questionnaire_answered_again_sends_a_new_request(app, new_agent):
    """The guard is per questionnaire answered, not per browser: answered again, it is a new request."""
    browser = new_agent(app)
    for _ in range(2):
        assert heading(send_questionnaire(browser)) == "Votre questionnaire a été envoyé"
    assert count(MailChangeRequest) == 2


# N11: the registration's address took any length and any character (ESC, U+202E…) for a country
# other than France; on PostgreSQL a value longer than its column made « Envoyer » a 500.

ADDRESS = "/demande-numero/inscription/adresse"
# The review's proof: markup, a right-to-left override that turns « exe.gpj » around, a terminal escape.
DISGUISED = "<img src=x onerror=alert(1)>\u202egpj.exe\x1b[31m"
HIDDEN_CHARACTER = "contient un caractère invisible ou de contrôle"


def at_the_address_page(app, new_agent):
    """A registration whose identity is answered, on « Votre adresse »."""
    browser = new_agent(app)
    nir_step(browser, ANNE.nir)
    fields = registration_fields()
    browser.submit("/demande-numero/inscription", {name: fields[name] for name in QUESTION_PAGES[0][1]})
    assert heading(browser.get(ADDRESS)) == "Votre adresse"
    return browser


def answer_address(browser, **fields):
    """« Continuer » on « Votre adresse » with a German address and `fields`."""
    browser.get(ADDRESS)
    return browser.submit(ADDRESS, {"country": "DE", "postal_code": "10117", "city": "Berlin", **fields})


def address_kept() -> bool:
    """Whether any registration's state holds an answer to « Votre adresse »."""
    states = db.session.scalars(db.select(FlowState.data).where(FlowState.purpose == "number_request"))
    return any("address" in (state.get("answers") or {}) for state in states)


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("postal_code", "1" * 48, "Le champ « Code postal » ne peut pas dépasser 10 caractères."),
        ("city", "B" * 300, "Le champ « Ville » ne peut pas dépasser 100 caractères."),
        ("address_flat", DISGUISED, HIDDEN_CHARACTER),
        ("address_street", "2 rue de Brest\x1b[2J", HIDDEN_CHARACTER),
        ("address_building", "Résidence \u2066les Pins\u2069", HIDDEN_CHARACTER),
        ("address_locality", "Le Bourg\x00", HIDDEN_CHARACTER),
        ("city", "Berlin\u202e", HIDDEN_CHARACTER),
        ("postal_code", "101\u200b17", HIDDEN_CHARACTER),
        ("postal_code", "<b>10117", "Le code postal ne peut contenir que des chiffres, des lettres, des espaces"),
    ],
    ids=["long-postal-code", "long-city", "review", "escape", "isolate", "nul", "override-city", "zero-width"]
    + ["markup-postal-code"],
)
def test_an_address_field_too_long_or_with_hidden_characters_is_refused_beside_it(
    app, new_agent, field, value, message
):
    browser = at_the_address_page(app, new_agent)
    page = answer_address(browser, **{field: value})
    assert page.status == 422
    assert message in page.field_error(field)
    assert not address_kept(), "nothing stored"
    assert browser.get(CHECK).response.headers["Location"].endswith(ADDRESS), "the check page sends back to the address"


def test_the_reviews_foreign_address_is_refused_page_by_page_and_never_registered(app, new_agent):
    """Country DE, a 48-character postal code, a 300-character city, the disguised flat line: each refused."""
    browser = at_the_address_page(app, new_agent)
    page = answer_address(browser, postal_code="1" * 48, city="B" * 300, address_flat=DISGUISED)
    assert page.status == 422
    assert {"address_flat", "postal_code", "city"} == {
        name for name in ("address_flat", "postal_code", "city") if page.field_error(name)
    }
    page = answer_questions(browser, registration_fields(country="DE", postal_code="1" * 48, city="Berlin"))
    assert page.status == 422
    assert count(Registration) == 0 and not address_kept()


@pytest.mark.parametrize(
    "address",
    [
        {"country": "GB", "postal_code": "SW1A 2AA", "city": "London", "address_street": "10 Downing Street"},
        {
            "country": "GB",
            "postal_code": "LL61 5UJ",
            "city": "Llanfairpwllgwyngyllgogerychwyrndrobwllllantysiliogogogoch",
            "address_building": "Résidence l’Orée – Bât. C",
        },
        {"country": "PL", "postal_code": "00-950", "city": "Warszawa", "address_street": "ul. Marszałkowska 1"},
        {"country": "JP", "postal_code": "100-0001", "city": "東京都千代田区", "address_street": "千代田1-1"},
    ],
    ids=["london", "long-welsh-city", "warsaw", "tokyo"],
)
def test_a_legitimate_foreign_address_goes_through_whole(agent, address):
    register(agent, **address)
    assert heading(agent.page) == "Confirmez votre adresse mail"
    registration = db.session.scalar(db.select(Registration))
    assert {name: getattr(registration, name) for name in address} == address


def test_a_pasted_line_break_or_tab_is_folded_not_refused(agent):
    register(agent, address_street="2 rue\tde Brest\r\n", address_building="  Bâtiment\nB ")
    registration = db.session.scalar(db.select(Registration))
    assert (registration.address_street, registration.address_building) == ("2 rue de Brest", "Bâtiment B")


@pytest.mark.parametrize(("field", "value"), [("last_name", "Le\u202eGoff"), ("first_name", "An\x1bne")])
def test_names_with_hidden_characters_are_refused_too(agent, field, value):
    page = register(agent, **{field: value})
    assert page.status == 422 and page.field_error(field)
    assert count(Registration) == 0


# N7: a look-alike address (a Cyrillic « а » in « exаmple.org ») shown to staff as the address on file.

LOOK_ALIKE = "jean.martin@ex\u0430mple.org"
LOOK_ALIKE_ASCII = "jean.martin@xn--exmple-4nf.org"
WARNING = "n'est pas écrite qu'en caractères latins simples"


def described(page, term: str):
    """The `dd` of a summary line, by its `dt`."""
    return page.main.find("dt", string=term).find_next_sibling("dd")


def warnings(page) -> list:
    """The page's notices that warn of an address not written in plain Latin letters."""
    return [notice for notice in page.main.select(".notice") if WARNING in notice.get_text(" ", strip=True)]


def questionnaire_seen_by_staff(app, new_agent, address: str):
    """Jean's questionnaire sent with `address`, then opened by the Bretagne staff: their page."""
    page = send_questionnaire(new_agent(app), new_email=address, new_email_confirmation=address)
    assert heading(page) == "Votre questionnaire a été envoyé"
    item = db.session.scalar(db.select(MailChangeRequest))
    assert item.new_email == address, "stored as typed"
    staff = new_agent(app)
    log_in_staff(staff)
    return staff.get(f"/delegation/demandes/{item.id}")


def test_staff_see_a_look_alike_domain_in_punycode_with_a_warning(app, new_agent):
    page = questionnaire_seen_by_staff(app, new_agent, LOOK_ALIKE)
    address = described(page, "Nouvelle adresse mail")
    assert LOOK_ALIKE in address.get_text() and LOOK_ALIKE_ASCII in address.select_one("code").get_text()
    (warning,) = warnings(page)
    assert LOOK_ALIKE_ASCII in warning.select_one("code").get_text()


def test_the_delegations_mail_gives_the_punycode_too(app, new_agent):
    questionnaire_seen_by_staff(app, new_agent, LOOK_ALIKE)
    (mail,) = db.session.scalars(db.select(OutboundMail).where(OutboundMail.subject.like("Mise à jour adresse mail%")))
    for body in (mail.text_body, mail.html_body):
        assert LOOK_ALIKE_ASCII in body and WARNING in body


def test_a_look_alike_letter_in_the_local_part_is_shown_by_its_code_point(app, new_agent):
    page = questionnaire_seen_by_staff(app, new_agent, "je\u0430n.martin@example.org")
    assert "je[U+0430]n.martin@example.org" in described(page, "Nouvelle adresse mail").get_text()
    assert warnings(page)


def test_an_ascii_address_raises_no_warning(app, new_agent):
    page = questionnaire_seen_by_staff(app, new_agent, "jean.martin@example.org")
    assert described(page, "Nouvelle adresse mail").select_one("code") is None
    assert warnings(page) == []


def test_staff_see_a_registrations_look_alike_address_in_punycode_with_a_warning(app, new_agent):
    register(new_agent(app), email="anne.legoff@ex\u0430mple.org")
    registration = db.session.scalar(db.select(Registration))
    new_agent(app).get(link_in(db.session.scalar(db.select(OutboundMail))))
    staff = new_agent(app)
    log_in_staff(staff)
    page = staff.get(f"/delegation/inscriptions/{registration.id}")
    assert "anne.legoff@xn--exmple-4nf.org" in described(page, "Email personnel").select_one("code").get_text()
    assert warnings(page)


# I4: each new session that reaches the payslip step writes a kept file; nothing bounded the folder.

PAYSLIP_4K = b"%PDF-1.4\n" + b"0" * 4000 + b"\n%%EOF\n"
QUOTA_FULL = "Réessayez dans quelques heures"


def quota_warnings(caplog) -> list[str]:
    """The WARNING lines that say a payslip was refused for the quota."""
    return [
        r.getMessage() for r in caplog.records if r.levelname == "WARNING" and "UPLOAD_QUOTA_BYTES" in r.getMessage()
    ]


@pytest.fixture
def quota_app(make_app):
    """The portal with room for one 4 KB payslip and a half."""
    app = make_app(UPLOAD_QUOTA_BYTES=6000)
    with app.app_context():
        yield app
        db.session.remove()
        db.engine.dispose()


def test_past_the_upload_quota_a_new_registration_payslip_waits_with_a_clear_message(quota_app, new_agent, caplog):
    first, second = new_agent(quota_app), new_agent(quota_app)
    nir_step(first, ANNE.nir)
    assert (
        heading(answer_questions(first, registration_fields(payslip=(PAYSLIP_4K, "a.pdf")))) == "Vérifiez vos réponses"
    )
    nir_step(second, ANNE.nir)
    page = answer_questions(second, registration_fields(payslip=(PAYSLIP_4K, "b.pdf")))
    assert page.status == 422 and QUOTA_FULL in page.field_error("payslip")
    assert len(files_in(quota_app, "kept")) == 1, "nothing written for the second"
    assert quota_warnings(caplog)
    page = first.submit(CHECK)
    assert heading(page) == "Confirmez votre adresse mail", "a payslip already kept is still sent"


def test_past_the_upload_quota_a_questionnaire_payslip_waits_too(quota_app, new_agent, caplog):
    for browser in (new_agent(quota_app), new_agent(quota_app)):
        page = send_questionnaire(browser, payslip=(PAYSLIP_4K, "a.pdf"))
    assert page.status == 422 and QUOTA_FULL in page.field_error("payslip")
    assert count(MailChangeRequest) == 1 and len(files_in(quota_app, "payslips")) == 1
    assert files_in(quota_app, "kept") == [] and quota_warnings(caplog)


def test_once_the_folder_is_purged_payslips_are_accepted_again(quota_app, new_agent, monkeypatch):
    from cgos import uploads

    # Measure at every upload: the interval runs on time.monotonic, which the clock fixture does not move.
    monkeypatch.setattr(uploads, "QUOTA_MEASURE_SECONDS", 0)
    first, second = new_agent(quota_app), new_agent(quota_app)
    nir_step(first, ANNE.nir)
    answer_questions(first, registration_fields(payslip=(PAYSLIP_4K, "a.pdf")))
    for kept in files_in(quota_app, "kept"):
        kept.unlink()
    nir_step(second, ANNE.nir)
    assert (
        heading(answer_questions(second, registration_fields(payslip=(PAYSLIP_4K, "b.pdf")))) == "Vérifiez vos réponses"
    )
