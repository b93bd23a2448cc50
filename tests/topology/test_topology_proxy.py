"""What nginx itself does in the topology: its limits per client, its own French pages, static files,
a log without query strings or tokens; and the systemd units as `systemd-analyze verify` reads them."""

import http.client
import re
import socket
import tempfile
import time
from pathlib import Path

import pytest
from cluster import (
    CLIENT,
    CLIENT_V4,
    CLIENT_V6_NETWORKS,
    DEPLOY,
    HOST_NAME,
    PROXY_FRONT_V4,
    ROOT,
    SAME_64_SPELT_TWO_WAYS,
    inside,
    run,
)

pytestmark = pytest.mark.topology


def test_the_systemd_units_pass_systemd_analyze_verify():
    with tempfile.TemporaryDirectory() as folder:
        units = []
        for unit in sorted((DEPLOY / "systemd").iterdir()):
            # The code's path made this checkout's: verify checks that ExecStart's program exists.
            (Path(folder) / unit.name).write_text(unit.read_text().replace("/srv/cgos/app", str(ROOT)))
            units.append(unit.name)
        result = run("systemd-analyze", "verify", "--man=no", *units, cwd=folder, check=False)
    assert len(units) == 8
    assert (result.returncode, result.stdout + result.stderr) == (0, "")


def test_login_posts_from_one_ipv6_64_share_one_limit_however_nginx_writes_the_address(portal, figures):
    # A POST without a form: the app answers 400 at once; any 429 is nginx's limit.
    answers, started = [], time.perf_counter()
    for turn in range(40):
        source = SAME_64_SPELT_TWO_WAYS[turn % 2]
        answers.append(
            portal.browser(source).request("POST", "/", b"", {"Content-Type": "application/x-www-form-urlencoded"})
        )
    seconds = time.perf_counter() - started
    elsewhere = portal.browser(CLIENT_V6_NETWORKS[5][0]).request("POST", "/", b"").status
    statuses = [answer.status for answer in answers]
    figures(
        addresses=SAME_64_SPELT_TWO_WAYS,
        passed_to_the_app=statuses.count(400),
        refused_by_nginx=statuses.count(429),
        seconds=round(seconds, 2),
        another_64=elsewhere,
    )
    # Each address alone would get its 20 at once: the 40 would all pass. One key takes 20 at once,
    # then 5 a second.
    assert set(statuses) == {400, 429}
    assert statuses.count(400) <= 20 + 5 * seconds + 1
    assert elsewhere == 400
    refused = answers[statuses.index(429)]
    assert refused.soup.h1.get_text(strip=True) == "Trop de connexions"
    assert refused.headers["Retry-After"] == "5"


def test_nginx_answers_its_own_errors_with_the_portals_french_pages(portal, figures):
    browser = portal.browser(CLIENT_V4[70])
    logged_before = sum(len(host.request_lines()) for host in portal.hosts.values())
    too_large = browser.request(
        "POST",
        "/demande-numero/inscription/bulletin",
        b"x" * (8 * 1024 * 1024),
        {"Content-Type": "application/octet-stream"},
    )
    missing = browser.request("GET", "/static/nothing-here.css")
    assert sum(len(host.request_lines()) for host in portal.hosts.values()) == logged_before  # nginx alone
    portal.reload_nginx(drained={1, 2})
    try:
        down = browser.request("GET", "/")
    finally:
        portal.reload_nginx()
    pages = {response.status: response for response in (too_large, missing, down)}
    figures(**{str(status): page.soup.h1.get_text(strip=True) for status, page in pages.items()})
    assert sorted(pages) == [404, 413, 502]
    assert pages[413].soup.h1.get_text(strip=True) == "Fichier trop volumineux"
    assert pages[404].soup.h1.get_text(strip=True) == "Page introuvable"
    assert pages[502].soup.h1.get_text(strip=True) == "Service momentanément indisponible"
    assert pages[502].headers["Retry-After"] == "10"
    for page in pages.values():
        assert page.soup.html["lang"] == "fr"
        assert (
            page.headers["Cache-Control"] == "no-store"
            and "frame-ancestors 'none'" in page.headers["Content-Security-Policy"]
        )


def test_static_files_come_from_nginx_cached_a_year_when_their_url_carries_their_hash(portal):
    browser = portal.browser(CLIENT_V4[71])
    page = browser.get("/")
    stylesheet = page.soup.select_one("link[rel=stylesheet]")["href"]
    assert "?v=" in stylesheet
    logged_before = sum(len(host.request_lines()) for host in portal.hosts.values())
    fingerprinted = browser.request("GET", stylesheet, headers={"Accept-Encoding": "gzip"})
    bare = browser.request("GET", stylesheet.split("?")[0])
    assert sum(len(host.request_lines()) for host in portal.hosts.values()) == logged_before
    assert fingerprinted.status == 200 and fingerprinted.headers["Content-Encoding"] == "gzip"
    assert fingerprinted.headers["Cache-Control"] == "public, max-age=31536000, immutable"
    assert bare.headers["Cache-Control"] == "public, max-age=300"
    assert bare.body == (ROOT / "static" / "app.css").read_bytes()


def test_the_access_log_keeps_out_query_strings_and_the_tokens_of_mail_links(portal):
    browser = portal.browser(CLIENT_V4[72])
    answers = [
        browser.request("GET", "/?numero=35127846S"),
        browser.request("GET", "/demande-numero/confirmer/SECRETtoken123"),
    ]
    lines = portal.access_lines(answer.headers["X-Request-ID"] for answer in answers)
    assert '"GET /"' in lines[answers[0].headers["X-Request-ID"]]
    assert '"GET /demande-numero/confirmer/<token>"' in lines[answers[1].headers["X-Request-ID"]]
    assert not re.search("35127846|SECRETtoken", "\n".join(portal.access_log()))


def test_plain_http_is_sent_to_https():
    with inside(CLIENT):
        sock = socket.create_connection((PROXY_FRONT_V4, 80), 5, (CLIENT_V4[73], 0))
    connection = http.client.HTTPConnection(PROXY_FRONT_V4, 80)
    connection.sock = sock
    connection.request("GET", "/mot-de-passe-oublie?x=1", headers={"Host": HOST_NAME})
    response = connection.getresponse()
    assert response.status == 301
    assert response.headers["Location"] == f"https://{HOST_NAME}/mot-de-passe-oublie?x=1"
