"""The establishment chooser of the questionnaire and the registration: a commune, then one of its establishments."""

from flask import request

from ..models import Establishment
from .search import communes_with_establishments, establishment_in, establishments_in

CHOOSE_COMMUNE = "Choisissez la ville de votre établissement dans la liste proposée."
CHOOSE_ESTABLISHMENT = "Choisissez votre établissement dans la liste proposée."


def choices(form, chosen: dict | None = None) -> dict:
    """Communes and establishments matching what was typed and chosen so far (or the answers kept), for the page."""
    picked = chosen if chosen is not None else request.form
    commune = picked.get("commune") or None
    query = form.commune_query.data or ""
    communes = communes_with_establishments(query)
    if commune and commune not in {c.insee for c in communes}:
        # The chosen commune may lie beyond the first results: keep it on the list.
        communes = [c for c in communes_with_establishments(query, limit=50) if c.insee == commune] or communes
    if len(communes) == 1:
        commune = communes[0].insee
    return {
        "communes": communes,
        "commune": commune,
        "establishments": establishments_in(commune, form.establishment_query.data or ""),
        "establishment": picked.get("establishment"),
    }


def chosen_establishment(form) -> Establishment | None:
    """The establishment chosen in the chosen commune; without one, the field that lacks it gets its message."""
    commune = request.form.get("commune")
    establishment = establishment_in(commune, request.form.get("establishment"))
    if not commune:
        form.commune_query.errors = [CHOOSE_COMMUNE]
    elif establishment is None:
        form.establishment_query.errors = [CHOOSE_ESTABLISHMENT]
    return establishment
