"""Autocomplete fragments for « Ville de votre établissement » and « Nom de votre établissement », and the chooser
itself once a choice is made or « Changer » is used (with JavaScript; without, the page's form does the same); the
cities of a postal code for « Ville » of the registration's address."""

from flask import Blueprint, render_template, request

from .chooser import ChooserForm, choices
from .search import communes_for_postal_code, communes_with_establishments, establishments_in

bp = Blueprint("places", __name__, url_prefix="/recherche")


@bp.get("/communes")
def communes():
    """The communes matching what was typed, as a list of choices."""
    query = request.args.get("commune_query", "")
    return render_template("partials/places/communes.html", query=query, communes=communes_with_establishments(query))


@bp.get("/etablissements")
def establishments():
    """The establishments of the chosen commune, as a list of choices."""
    commune = request.args.get("commune")
    query = request.args.get("establishment_query", "")
    return render_template(
        "partials/places/establishments.html",
        commune=commune,
        query=query,
        establishments=establishments_in(commune, query),
    )


@bp.get("/choix")
def chooser():
    """The chooser after one of its buttons, as the page would show it, with what its live region says."""
    form = ChooserForm(request.args)
    return render_template("partials/places/chooser.html", form=form, swapped=True, **choices(form, request.args))


@bp.get("/villes")
def cities():
    """The communes of a postal code, as the options offered for « Ville »."""
    cities = communes_for_postal_code(request.args.get("postal_code", ""))
    return render_template("partials/places/cities.html", cities=cities)
