"""The other public tabs and the printable charter."""

from flask import Blueprint

from ..auth import current_charter
from ..htmx import render_page

bp = Blueprint("public", __name__)


@bp.get("/conditions-generales")
def charter_print():
    """The charter on its own page, to read or print."""
    return render_page("public/charter_print.html", charter=current_charter())
