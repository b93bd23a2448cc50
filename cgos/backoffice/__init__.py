"""The back office at `/delegation/…`: a delegation's staff see and decide their own delegation's requests.

The blueprint lives here; each module registers its views on it, and importing
the package loads them all (`routes`: sign-in and requests, `agents`: the
agents' pages, `dashboard`, `staff_passkeys`).
"""

from flask import Blueprint

bp = Blueprint("backoffice", __name__, url_prefix="/delegation")

from . import agents, dashboard, routes, staff_passkeys  # noqa: E402, F401  (their views register on bp)
