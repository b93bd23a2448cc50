"""The shipped deployment (deploy/, gunicorn.conf.py, README, docs): what it binds, limits, logs and shows."""

import ipaddress
import json
import re
from pathlib import Path

import pytest

from cgos import create_app, errors
from cgos.config import default_config
from cgos.production import production_problems
from cgos.uploads import OVERSIZE_MARGIN
from tests_support.pages import Page

ROOT = Path(__file__).resolve().parent.parent
DEPLOY = ROOT / "deploy"
NGINX_SITE = DEPLOY / "nginx" / "cgos.conf"
# `GUNICORN_BIND=…`, `bind = …("GUNICORN_BIND", "…")`, `--bind …` / `-b …` on a gunicorn command line.
BIND_SETTINGS = (
    re.compile(r"GUNICORN_BIND=['\"]?([^\s'\"]+)"),
    re.compile(r"\"GUNICORN_BIND\",\s*\"([^\"]+)\""),
    re.compile(r"gunicorn\b[^\n]*?(?:--bind[= ]|\s-b\s*)['\"]?([^\s'\"]+)"),
)


def shipped_texts() -> dict[str, str]:
    """Every file that ships a gunicorn setting or shows one as an example."""
    paths = [ROOT / "gunicorn.conf.py", ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
    paths += sorted(path for path in DEPLOY.rglob("*") if path.is_file())
    return {str(path.relative_to(ROOT)): path.read_text() for path in paths}


def binds_in(text: str) -> list[str]:
    """The addresses gunicorn is told to bind to in a text."""
    return [match for pattern in BIND_SETTINGS for match in pattern.findall(text)]


def is_private_bind(bind: str) -> bool:
    """True for a unix socket, loopback or a private address (RFC 1918, ULA…); never all interfaces."""
    if bind.startswith(("unix:", "fd://")):
        return True
    host = bind.rsplit(":", 1)[0] if not bind.startswith("[") else bind[1:].split("]")[0]
    if host == "localhost":
        return True
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return False  # empty (`:8000`, every interface) or a name that may resolve to anything
    return not address.is_unspecified and (address.is_loopback or address.is_private)


@pytest.mark.parametrize(
    ("bind", "private"),
    [
        ("0.0.0.0:8000", False),
        ("[::]:8000", False),
        (":8000", False),
        ("8.8.8.8:8000", False),
        ("espace-agent.cgos.info:8000", False),
        ("127.0.0.1:8000", True),
        ("10.0.1.11:8000", True),
        ("[fd00::11]:8000", True),
        ("unix:/run/cgos/gunicorn.sock", True),
    ],
)
def test_the_bind_check_tells_public_binds_from_private_ones(bind, private):
    assert is_private_bind(bind) is private


def test_a_command_line_bind_is_found():
    assert binds_in("gunicorn -b 0.0.0.0:8000 app:app") == ["0.0.0.0:8000"]
    assert binds_in("gunicorn --bind=[::]:8000 app:app") == ["[::]:8000"]


def test_no_shipped_configuration_or_example_binds_gunicorn_to_a_public_address():
    found = {name: binds_in(text) for name, text in shipped_texts().items()}
    public = {name: [bind for bind in binds if not is_private_bind(bind)] for name, binds in found.items()}
    assert {name: binds for name, binds in public.items() if binds} == {}
    # Not a vacuous pass: the default, the host example and docs/production.md's example are all read.
    assert found["gunicorn.conf.py"] and found["deploy/host.env.example"] and found["docs/production.md"]


def nginx_directive(name: str) -> list[str]:
    """The values of a directive in the nginx site."""
    return re.findall(rf"^\s*{name}\s+([^;]+);", NGINX_SITE.read_text(), re.M)


def test_nginx_takes_request_bodies_up_to_what_the_payslip_forms_accept():
    size = nginx_directive("client_max_body_size")
    accepted = default_config("instance")["MAX_CONTENT_LENGTH"] + OVERSIZE_MARGIN
    assert size == [f"{accepted // (1024 * 1024)}m"]


@pytest.mark.parametrize(
    ("status", "words"),
    [
        (400, errors.MESSAGES[400]),
        (404, errors.MESSAGES[404]),
        (413, errors.MESSAGES[413]),
        (429, errors.ONE_LOGIN_AT_A_TIME),
        (500, errors.MESSAGES[500]),
        (502, errors.MESSAGES[503]),
        (503, errors.MESSAGES[503]),
        (504, errors.MESSAGES[503]),
    ],
)
def test_each_page_nginx_answers_itself_says_what_the_portal_says(status, words):
    page = Page(html=(DEPLOY / "nginx" / "errors" / f"{status}.html").read_text()).soup
    assert page.html["lang"] == "fr"
    assert page.h1.get_text(strip=True) == words[0]
    assert page.main.p.get_text(strip=True) == words[1]
    assert page.title.get_text(strip=True) == f"{words[0]} – Espace Agent C.G.O.S"
    assert f"error_page {status} /_cgos_errors/{status}.html" in NGINX_SITE.read_text()


def logged_path(path: str) -> str:
    """The path as nginx's access log writes it (the `map $uri $cgos_log_path` of the site)."""
    block = re.search(r"map \$uri \$cgos_log_path \{(.*?)\n\}", NGINX_SITE.read_text(), re.S).group(1)
    for pattern, value in re.findall(r'^\s*"~([^"]+)"\s+"([^"]+)";', block, re.M):
        match = re.search(pattern.replace("(?<", "(?P<"), path)
        if match:
            # nginx's ${name} is Python's \g<name>; `<token>` holds no `$`, so it stays as it is.
            return match.expand(re.sub(r"\$\{(\w+)\}", r"\\g<\1>", value))
    return path


def test_the_proxy_access_log_keeps_out_query_strings_referers_and_tokens(tmp_path):
    log_format = re.search(r"log_format cgos (.*?);", NGINX_SITE.read_text(), re.S).group(1)
    for variable in ("$request ", "$request_uri", "$args", "$query_string", "$arg_", "$http_referer", "$http_cookie"):
        assert variable not in log_format + " "
    assert "$cgos_log_path" in log_format
    app = create_app({"SECRET_KEY": "s", "PASSWORD_PEPPER": "p", "SQLALCHEMY_DATABASE_URI": "sqlite://"})
    token_routes = [rule.rule for rule in app.url_map.iter_rules() if "token" in rule.arguments]
    assert len(token_routes) >= 2
    for route in token_routes:
        path = route.replace("<token>", "tok3n-SECRET_value")
        assert "SECRET" not in logged_path(path), route
    assert logged_path("/delegation/demandes/12") == "/delegation/demandes/12"


def environment_example(name: str) -> dict[str, str]:
    """The KEY=value lines of an environment file of deploy/."""
    lines = (DEPLOY / name).read_text().splitlines()
    return dict(line.split("=", 1) for line in lines if line and not line.startswith("#"))


def test_the_environment_examples_pass_the_production_checks():
    config = default_config("instance")
    shared, host = environment_example("cgos.env.example"), environment_example("host.env.example")
    assert shared.keys().isdisjoint(host.keys())
    for key, value in shared.items():
        if key.startswith("FLASK_"):
            try:
                config[key.removeprefix("FLASK_")] = json.loads(value)
            except json.JSONDecodeError:
                config[key.removeprefix("FLASK_")] = value
    config["WORKERS"] = int(host["GUNICORN_WORKERS"])
    assert config["PRODUCTION"] is True and config["PROXY_FIX_X_FOR"] == 1
    assert config["MAIL_DELIVERY"] == "worker"
    assert production_problems(config) == []
    for secret in ("SECRET_KEY", "PASSWORD_PEPPER", "MAIL_SECRET_KEY"):
        assert f"FLASK_{secret}" in shared


def test_every_unit_runs_the_application_with_the_shared_and_the_host_environment():
    units = sorted((DEPLOY / "systemd").glob("*.service"))
    assert {unit.name for unit in units} == {
        "cgos-gunicorn.service",
        "cgos-mail-worker.service",
        "cgos-mail-remind.service",
        "cgos-mail-purge.service",
        "cgos-uploads-purge.service",
    }
    for unit in units:
        text = unit.read_text()
        assert "EnvironmentFile=/etc/cgos/cgos.env\nEnvironmentFile=/etc/cgos/host.env\n" in text, unit.name
        assert "WorkingDirectory=/srv/cgos/app\n" in text, unit.name
    for timer in ("mail-remind", "mail-purge", "uploads-purge"):
        assert (DEPLOY / "systemd" / f"cgos-{timer}.timer").is_file()
