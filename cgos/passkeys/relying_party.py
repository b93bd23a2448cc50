"""Which site the passkeys belong to: the RP ID and the origin a browser must report.

The host of PUBLIC_BASE_URL when it is set (production requires it), the request's
host otherwise (`make run`, tests). Browsers refuse an IP address as RP ID: serve
`http://localhost:PORT`, not `127.0.0.1`, to try passkeys locally.
"""

from urllib.parse import urlsplit

from flask import current_app, request

RP_NAME = "Espace Agent C.G.O.S"


def _base_url() -> str:
    """PUBLIC_BASE_URL, or this request's scheme and host."""
    return current_app.config.get("PUBLIC_BASE_URL") or request.host_url


def rp_id() -> str:
    """The relying party's id: a host name, without scheme or port."""
    return urlsplit(_base_url()).hostname or ""


def expected_origin() -> str:
    """The origin (`https://host[:port]`) the browser's client data must name."""
    parts = urlsplit(_base_url())
    return f"{parts.scheme}://{parts.netloc}"
