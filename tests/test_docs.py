"""What the README and docs/ name exists: file paths, make targets, CLI commands, configuration keys.

A newcomer follows these pages; a renamed module or a dropped setting must not
leave them pointing at nothing.
"""

import re
from pathlib import Path

import click
import flask_mail
import pytest

ROOT = Path(__file__).resolve().parent.parent
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
# Code spans, and the lines of fenced blocks (where the CLI is shown).
CODE_SPAN = re.compile(r"(?<!`)`([^`\n]+)`(?!`)")
FENCE = re.compile(r"^```[^\n]*\n(.*?)^```", re.MULTILINE | re.DOTALL)
# Folders of the repository a path may start with; what the app or a tool writes at run time is not in it.
TRACKED_ROOTS = ("cgos", "templates", "static", "tests", "docs", "deploy", "scripts", "bench", "migrations", ".ci")
GENERATED = ("instance/", "build/", "mutants/", ".venv", ".services.env")
PATH_LIKE = re.compile(r"^[\w.*-]+(/[\w.*-]*)+$|^[\w-]+\.(py|md|toml|cfg|txt|sh|ini)$")
CONFIG_KEY = re.compile(r"^(?:FLASK_)?([A-Z][A-Z0-9]*(?:_[A-Z0-9]+)+)$")
CODE_FOLDERS = ("cgos", "scripts", "bench", "deploy", "tests")


def spans(page: Path) -> list[str]:
    """Every code span of a page, and every line of its fenced blocks."""
    text = page.read_text()
    lines = [line.strip() for block in FENCE.findall(text) for line in block.splitlines()]
    return CODE_SPAN.findall(FENCE.sub("", text)) + [line for line in lines if line]


def named(kind) -> list[tuple[str, str]]:
    """(page, span) pairs of every page for which `kind(span)` holds."""
    return [(page.name, span) for page in PAGES for span in spans(page) if kind(span)]


def is_repo_path(span: str) -> bool:
    """A path inside the repository (not a URL, not a run-time file, not a placeholder)."""
    if not PATH_LIKE.match(span) or span.startswith(GENERATED):
        return False
    return span.split("/")[0] in TRACKED_ROOTS or "/" not in span


def test_the_pages_are_read():
    assert len(PAGES) >= 6 and sum(len(spans(page)) for page in PAGES) > 300


def exists(span: str) -> bool:
    """A path from the root; a bare file name (« routes.py » of the package in hand) anywhere in the code."""
    if "/" in span:
        return bool(list(ROOT.glob(span.rstrip("/"))))
    return (ROOT / span).exists() or any(next((ROOT / folder).rglob(span), None) for folder in TRACKED_ROOTS)


def test_every_path_named_exists():
    missing = [(page, span) for page, span in named(is_repo_path) if not exists(span)]
    assert missing == []


def make_targets() -> set[str]:
    return set(re.findall(r"^([a-z][\w-]*):", (ROOT / "Makefile").read_text(), re.MULTILINE))


def test_every_make_target_named_exists():
    targets = make_targets()
    commands = [span for _, span in named(lambda span: span.startswith("make "))]
    assert commands and {"test", "run", "bench", "test-topology"} <= targets
    unknown = [command for command in commands if not set(command.split()[1:]) <= targets | {","}]
    assert unknown == []


@pytest.fixture
def cli_groups(app) -> dict[str, set[str] | None]:
    """The app's commands: a group's name with its subcommands, a command's name with None."""
    return {
        name: set(command.commands) if isinstance(command, click.Group) else None
        for name, command in app.cli.commands.items()
    }


def test_every_cli_command_named_exists(cli_groups):
    def cli_words(span: str) -> list[str] | None:
        words = span.replace("flask --app app ", "").replace("FLASK_PRODUCTION=true ", "").split()
        return words if words and words[0] in cli_groups | {"db": None} else None

    commands = [(page, span, cli_words(span)) for page, span in named(lambda span: cli_words(span) is not None)]
    assert len(commands) > 10
    unknown = [
        (page, span)
        for page, span, words in commands
        if words[0] != "db"
        and cli_groups[words[0]] is not None
        and (len(words) < 2 or words[1] not in cli_groups[words[0]])
        and not words[1].startswith(("[", "…"))
    ]
    assert unknown == []


def code_text() -> str:
    """The code, configuration and deployment files, where a key must be read or set (Flask-Mail's keys in its own)."""
    files = [ROOT / "gunicorn.conf.py", ROOT / "Makefile", ROOT / ".ci" / "run", Path(flask_mail.__file__)]
    for folder in CODE_FOLDERS:
        files += [
            path
            for path in (ROOT / folder).rglob("*")
            if path.is_file() and path.suffix in (".py", ".example", ".sh", ".service", ".conf", "")
        ]
    return "\n".join(path.read_text(errors="ignore") for path in files if path.exists())


def test_every_configuration_key_named_exists(app):
    code = code_text()
    keys = {CONFIG_KEY.match(span).group(1) for _, span in named(CONFIG_KEY.match)}
    assert {"SECRET_KEY", "LOGIN_LOCKOUT_LIMIT", "PUBLIC_BASE_URL"} <= keys
    unknown = sorted(key for key in keys if key not in app.config and not re.search(rf"\b{key}\b", code))
    assert unknown == []
