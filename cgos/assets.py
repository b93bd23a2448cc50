"""Static files: one script bundle, long-lived cache-busted URLs, gzip like any response.

The bundle is htmx (vendored, untouched) followed by the portal's own script, so a
first load costs three requests: the page, the stylesheet and the script.
"""

import hashlib
from functools import lru_cache
from pathlib import Path

from flask import Flask, current_app, request, send_from_directory, url_for

BUNDLE = "portal.js"
BUNDLE_PARTS = ("htmx.min.js", "app.js", "dates.js", "passkeys.js")
ONE_YEAR = 365 * 24 * 3600


def build_bundle(static_folder: Path) -> bytes:
    """The script bundle's bytes, from its parts."""
    return b"\n;\n".join((static_folder / part).read_bytes().rstrip() for part in BUNDLE_PARTS) + b"\n"


@lru_cache(maxsize=64)
def _fingerprint(path: str, mtime: float) -> str:
    """A short hash of a static file's content."""
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()[:12]


def static_url(filename: str) -> str:
    """The URL of a static file, with its content hash: browsers may keep it a year.

    Computed once per process (every page asks for it); in debug, again when the file changes.
    """
    cache = current_app.extensions.setdefault("cgos_static_urls", {})
    if filename not in cache or current_app.debug:
        path = Path(current_app.static_folder) / filename
        cache[filename] = url_for("static", filename=filename, v=_fingerprint(str(path), path.stat().st_mtime))
    return cache[filename]


def send_static(filename: str):
    """Flask's static view, cacheable for a year when fingerprinted, and compressible."""
    max_age = ONE_YEAR if request.args.get("v") else 300
    response = send_from_directory(current_app.static_folder, filename, max_age=max_age)
    # Flask streams files untouched; buffering them lets Flask-Compress gzip them like pages.
    response.direct_passthrough = False
    response.make_sequence()
    return response


def init_app(app: Flask) -> None:
    """Serve static files through send_static and give templates static_url."""
    app.view_functions["static"] = send_static
    app.jinja_env.globals["static_url"] = static_url
