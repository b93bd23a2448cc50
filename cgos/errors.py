"""French error pages with a way back; no stack trace ever reaches a user."""

import logging

from flask import Flask
from flask_wtf.csrf import CSRFError
from sqlalchemy.exc import OperationalError
from werkzeug.exceptions import HTTPException, InternalServerError

from .bcrypt_line import ClientShareTaken, LoginQueueFull
from .extensions import db
from .htmx import render_page

log = logging.getLogger(__name__)

MESSAGES = {
    400: (
        "Demande incorrecte",
        "Le formulaire a expiré ou n'a pas pu être lu. Revenez en arrière, rechargez la page et recommencez.",
    ),
    404: ("Page introuvable", "La page demandée n'existe pas ou n'existe plus."),
    405: ("Action impossible", "Cette action n'est pas possible sur cette page."),
    413: (
        "Fichier trop volumineux",
        "Le fichier envoyé dépasse la taille maximale autorisée. Réduisez-le puis recommencez.",
    ),
    429: (
        "Trop de tentatives",
        "Vous avez fait trop de demandes en peu de temps. Patientez quelques minutes avant de recommencer.",
    ),
    500: (
        "Erreur technique",
        "Une erreur technique nous empêche de répondre. Réessayez dans quelques instants.",
    ),
    503: (
        "Service momentanément indisponible",
        "Le service est momentanément indisponible. Réessayez dans quelques instants.",
    ),
}

TOO_MANY_LOGINS = ("Trop de connexions", "Trop de connexions en ce moment : réessayez dans une minute.")
ONE_LOGIN_AT_A_TIME = (
    "Trop de connexions",
    "Trop de connexions depuis votre adresse en même temps : patientez quelques secondes puis réessayez.",
)


def render_error(status: int):
    """The French page for an HTTP status."""
    title, message = MESSAGES.get(status, MESSAGES[500] if status >= 500 else MESSAGES[400])
    return render_page("errors/error.html", status=status, error_title=title, message=message)


def handle_http_error(error: HTTPException):
    """Any HTTP error raised by a view, Flask or an extension."""
    return render_error(error.code or 500)


def handle_login_queue_full(error: LoginQueueFull):
    """Logins are queuing for longer than LOGIN_QUEUE_SECONDS: come back in a minute."""
    response = render_page("errors/error.html", status=503, error_title=TOO_MANY_LOGINS[0], message=TOO_MANY_LOGINS[1])
    response.headers["Retry-After"] = str(error.retry_after)
    return response


def handle_client_share_taken(error: ClientShareTaken):
    """This client already has its logins in the line: one more in a few seconds."""
    response = render_page(
        "errors/error.html", status=429, error_title=ONE_LOGIN_AT_A_TIME[0], message=ONE_LOGIN_AT_A_TIME[1]
    )
    response.headers["Retry-After"] = str(error.retry_after)
    return response


def handle_csrf_error(error: CSRFError):
    """An expired form or a missing CSRF token: same page as a 400."""
    return render_error(400)


def handle_database_unavailable(error: OperationalError):
    """The database does not answer: a French 503, and nothing half-written."""
    db.session.rollback()
    log.error("database unavailable: %s", type(error.orig).__name__ if error.orig else type(error).__name__)
    return render_error(503)


def handle_unexpected_error(error: Exception):
    """A bug: logged with its traceback for us, a French page for the user."""
    if isinstance(error, HTTPException):
        return handle_http_error(error)
    db.session.rollback()
    log.exception("unhandled error", exc_info=error)
    return render_error(InternalServerError.code)


def init_app(app: Flask) -> None:
    """Register the handlers."""
    app.register_error_handler(CSRFError, handle_csrf_error)
    app.register_error_handler(LoginQueueFull, handle_login_queue_full)
    app.register_error_handler(ClientShareTaken, handle_client_share_taken)
    app.register_error_handler(OperationalError, handle_database_unavailable)
    app.register_error_handler(HTTPException, handle_http_error)
    app.register_error_handler(Exception, handle_unexpected_error)
