"""A passkey's first name, from the browser that created it: « iPhone — Safari »."""

import re

DEFAULT_NAME = "Clé d'accès"
NAME_LENGTH = 100

# The first pattern found names the device, then the browser (order matters: Edge and
# Chrome on iOS say « Safari » too, Chrome on Android says « Linux »).
DEVICES = (
    ("iPhone", r"iPhone"),
    ("iPad", r"iPad"),
    ("Android", r"Android"),
    ("Chromebook", r"CrOS"),
    ("Windows", r"Windows"),
    ("Mac", r"Macintosh|Mac OS X"),
    ("Linux", r"Linux|X11"),
)
BROWSERS = (
    ("Edge", r"Edg(e|A|iOS)?/"),
    ("Opera", r"OPR/|OPT/"),
    ("Samsung Internet", r"SamsungBrowser/"),
    ("Firefox", r"Firefox/|FxiOS/"),
    ("Chrome", r"Chrome/|CriOS/|Chromium/"),
    ("Safari", r"Safari/"),
)


def _first(patterns, text: str) -> str | None:
    """The label of the first pattern found in `text`."""
    return next((label for label, pattern in patterns if re.search(pattern, text)), None)


def device_name(user_agent: str | None) -> str:
    """« iPhone — Safari », « Windows — Edge »; what is known of it, or « Clé d'accès »."""
    text = user_agent or ""
    parts = [part for part in (_first(DEVICES, text), _first(BROWSERS, text)) if part]
    return " — ".join(parts) or DEFAULT_NAME


def unique_name(name: str, taken: set[str]) -> str:
    """`name`, or `name (2)`, `name (3)`… when the owner already has a passkey of that name."""
    name = name[:NAME_LENGTH]
    if name not in taken:
        return name
    number = 2
    while f"{name} ({number})" in taken:
        number += 1
    return f"{name} ({number})"
