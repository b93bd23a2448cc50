"""Identifiers used by the Espace Agent: numéro C.G.O.S and NIR.

Call sites read ``numero.validate(...)`` and ``nir.validate(...)``; both
raise stdnum exceptions, which :func:`french_message` turns into the French
message shown to the agent.
"""

from __future__ import annotations

from typing import Literal

from stdnum.exceptions import InvalidChecksum, InvalidFormat, InvalidLength, ValidationError

from . import nir, numero

__all__ = ["Kind", "french_message", "nir", "numero"]

Kind = Literal["numero", "nir"]

# Checked in order: the first class the exception is an instance of wins, so
# subclasses come before their parents (InvalidLength subclasses InvalidFormat).
_MESSAGES: dict[str, tuple[tuple[type[ValidationError], str], ...]] = {
    "numero": (
        (InvalidChecksum, "La lettre ne correspond pas au numéro C.G.O.S : vérifiez le numéro et la lettre."),
        (InvalidLength, "Le numéro C.G.O.S comporte 8 chiffres suivis d'une lettre, par exemple 35127846 S."),
        (InvalidFormat, "Le numéro C.G.O.S comporte 8 chiffres suivis d'une lettre, par exemple 35127846 S."),
    ),
    "nir": (
        (nir.InvalidSex, "Le premier chiffre du numéro de sécurité sociale doit être 1 ou 2."),
        (
            nir.InvalidMonth,
            "Le mois de naissance indiqué dans le numéro de sécurité sociale (4e et 5e chiffres) n'existe pas.",
        ),
        (
            InvalidChecksum,
            "La clé ne correspond pas au numéro de sécurité sociale : vérifiez les 13 premiers chiffres et la clé.",
        ),
        (InvalidLength, "Le numéro de sécurité sociale comporte 15 chiffres (13 chiffres et la clé de 2 chiffres)."),
        (InvalidFormat, "Le numéro de sécurité sociale comporte 15 chiffres (13 chiffres et la clé de 2 chiffres)."),
    ),
}

# Used for any other ValidationError subclass, so the agent always gets a message.
_FALLBACK = {
    "numero": "Le numéro C.G.O.S n'est pas valide : vérifiez-le sur votre carte ou vos courriers C.G.O.S.",
    "nir": "Le numéro de sécurité sociale n'est pas valide : vérifiez-le sur votre carte Vitale.",
}


def french_message(exc: ValidationError | type[ValidationError], kind: Kind) -> str:
    """Return the French message for a validation exception (or class) of a numero or nir."""
    if kind not in _MESSAGES:
        raise ValueError(f"unknown identifier kind: {kind!r}")
    exc_class = exc if isinstance(exc, type) else type(exc)
    for error_class, message in _MESSAGES[kind]:
        if issubclass(exc_class, error_class):
            return message
    return _FALLBACK[kind]
