"""Autocomplete fragments for « Ville de votre établissement » and « Nom de votre établissement », and the chooser
itself once a choice is made or « Changer » is used (with JavaScript; without, the page's form does the same)."""

from flask import Blueprint, make_response, render_template, request

from .chooser import ChooserForm, choices
from .search import communes_with_establishments, establishments_in

bp = Blueprint("places", __name__, url_prefix="/recherche")


def _fragment(template: str, **context):
    """A small fragment that htmx swaps into a results region."""
    response = make_response(render_template(template, **context))
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.get("/communes")
def communes():
    """The communes matching what was typed, as a list of choices."""
    query = request.args.get("commune_query", "")
    return _fragment("partials/places/communes.html", query=query, communes=communes_with_establishments(query))


@bp.get("/etablissements")
def establishments():
    """The establishments of the chosen commune, as a list of choices."""
    commune = request.args.get("commune")
    query = request.args.get("establishment_query", "")
    return _fragment(
        "partials/places/establishments.html",
        commune=commune,
        query=query,
        establishments=establishments_in(commune, query),
    )


@bp.get("/choix")
def chooser():
    """The chooser after one of its buttons, as the page would show it, with what its live region says."""
    form = ChooserForm(request.args)
    return _fragment("partials/places/chooser.html", form=form, swapped=True, **choices(form, request.args))
