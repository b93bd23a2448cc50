"""French dates, masked addresses, phone display."""

from datetime import date, datetime, timezone

import pytest

from cgos.templating import format_phone, french_date, french_time, mask_email


def test_dates_are_written_in_french():
    assert french_date(date(2026, 11, 26)) == "26 novembre 2026"
    assert french_date(date(2027, 2, 1)) == "1 février 2027"


def test_instants_are_shown_in_paris_time():
    instant = datetime(2026, 11, 26, 15, 42, tzinfo=timezone.utc)
    assert french_time(instant) == "16 h 42"
    assert french_date(datetime(2026, 12, 31, 23, 30, tzinfo=timezone.utc)) == "1 janvier 2027"


@pytest.mark.parametrize(
    "address",
    [
        "marie.dupont@example.org",
        "a@b.fr",
        "jo@free.fr",
        "abc@gmail.com",
        "jean-pierre.de-la-fontaine@hopital-rennes.fr",
    ],
)
def test_a_masked_address_never_shows_more_than_half_the_local_part_but_shows_the_domain(address):
    masked = mask_email(address)
    local, domain = address.split("@")
    shown_local, shown_domain = masked.split("@")
    shown_local = shown_local.removesuffix("*****")
    assert local.startswith(shown_local) and len(shown_local) <= min(3, len(local) // 2)
    assert shown_domain == domain, "an agent with two addresses can tell which one is on file"


def test_a_masked_address_reads_as_the_guide_shows_it():
    assert mask_email("marie.dupont@example.org") == "mar*****@example.org"
    assert mask_email("jo@free.fr") == "j*****@free.fr"


def test_phones_are_shown_as_people_write_them():
    assert format_phone("+33612345678") == "06 12 34 56 78"
    assert format_phone("+3225551234").startswith("+32")
    assert format_phone(None) == ""
