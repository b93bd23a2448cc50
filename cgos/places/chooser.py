"""The establishment chooser of the questionnaire and the registration: a commune, then one of its establishments.

Each is searched by what was typed, chosen from the buttons offered (`choose_commune`,
`choose_establishment`), then shown as one line « Ville choisie : … — Changer » whose
choice travels in a hidden field (`commune`, `establishment`). Without JavaScript every
button submits the page's form and the view re-renders it through `choices()`; with
JavaScript the same buttons ask `/recherche/choix` for the chooser alone.
"""

from collections.abc import Mapping

from flask import request
from wtforms import Form

from ..extensions import db
from ..form_fields import establishment_choice_fields
from ..models import Commune, Establishment
from .search import communes_with_establishments, establishment_in, establishments_in

CHOOSE_COMMUNE = "Choisissez la ville de votre établissement dans la liste proposée."
CHOOSE_ESTABLISHMENT = "Choisissez votre établissement dans la liste proposée."
# The chooser's own buttons: searches and « Changer » (`action`), choices (their own names).
ACTIONS = ("search_commune", "search_establishment", "change_commune", "change_establishment")
CHOICES = ("choose_commune", "choose_establishment")


class ChooserForm(Form):
    """The chooser's fields alone, for its fragment (a GET: nothing is written, no CSRF token)."""

    commune_query, commune, establishment_query, establishment = establishment_choice_fields()


def is_chooser_action(data: Mapping) -> bool:
    """Whether a submission comes from one of the chooser's buttons, not from the page's « Continuer »."""
    return data.get("action") in ACTIONS or any(name in data for name in CHOICES)


def _commune(insee) -> Commune | None:
    """The commune of an INSEE code sent by the page, if there is one."""
    if not (isinstance(insee, str) and len(insee) == 5 and insee.isascii() and insee.isalnum()):
        return None
    return db.session.get(Commune, insee)


def choices(form, chosen: Mapping | None = None) -> dict:
    """What the chooser shows for the choices made so far: the page's form (or `chosen`: the answers kept, the
    fragment's query), with the buttons just used.

    A commune or establishment chosen is shown as its line, unless its field has an error; « Changer »
    drops it (and the establishment goes with its commune); a new commune drops the establishment.
    """
    data = chosen if chosen is not None else request.form
    action = data.get("action")
    commune = None if action == "change_commune" else _commune(data.get("choose_commune") or data.get("commune"))
    establishment_id = data.get("choose_establishment") or data.get("establishment")
    if "choose_commune" in data and data.get("choose_commune") != data.get("commune"):
        establishment_id = None
        form.establishment_query.data = ""
    if action in ("change_commune", "change_establishment"):
        establishment_id = None
    establishment = establishment_in(commune.insee, establishment_id) if commune else None
    commune_chosen = commune is not None and not form.commune_query.errors
    establishment_chosen = commune_chosen and establishment is not None and not form.establishment_query.errors
    return {
        "commune": commune if commune_chosen else None,
        "communes": [] if commune_chosen else communes_with_establishments(form.commune_query.data or ""),
        "establishment": establishment if establishment_chosen else None,
        "establishments": (
            establishments_in(commune.insee, form.establishment_query.data or "")
            if commune_chosen and not establishment_chosen
            else []
        ),
        "chooser_focus": _focus(data, action, commune_chosen, establishment_chosen),
        "chooser_announcement": _announcement(data, commune if commune_chosen else None, establishment),
    }


def _focus(data: Mapping, action, commune_chosen: bool, establishment_chosen: bool) -> str | None:
    """What takes the focus once a chooser's button has been used: its result, or the field to type again."""
    if "choose_establishment" in data and establishment_chosen:
        return "establishment-chosen"
    if "choose_commune" in data and commune_chosen:
        return "commune-chosen"
    return {
        "change_commune": "commune_query",
        "change_establishment": "establishment_query",
        "search_commune": "commune",
        "search_establishment": "establishment",
    }.get(action)


def _announcement(data: Mapping, commune: Commune | None, establishment: Establishment | None) -> str:
    """What the chooser's live region says once a choice is made."""
    if "choose_establishment" in data and establishment is not None:
        return f"Établissement choisi : {establishment.name}"
    if "choose_commune" in data and commune is not None:
        return f"Ville choisie : {commune_label(commune)}"
    return ""


def commune_label(commune: Commune) -> str:
    """A commune as the chooser names it: « Rennes (35000) »."""
    return f"{commune.name} ({commune.postal_codes.split()[0]})"


def chosen_establishment(form) -> Establishment | None:
    """The establishment chosen in the chosen commune; without one, the field that lacks it gets its message."""
    commune = _commune(request.form.get("commune"))
    establishment = establishment_in(commune.insee, request.form.get("establishment")) if commune else None
    if commune is None:
        form.commune_query.errors = [CHOOSE_COMMUNE]
    elif establishment is None:
        form.establishment_query.errors = [CHOOSE_ESTABLISHMENT]
    return establishment
