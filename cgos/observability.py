"""One structured log line per request, a request id, and the health endpoints.

The line names the route template (`/demande-numero/confirmer/<token>`), never
the path itself, so no token, NIR or mail address reaches the logs.
"""

import json
import logging
import re
import secrets
import time

from flask import Blueprint, Flask, g, jsonify, request
from sqlalchemy import text

from .extensions import db, limiter

log = logging.getLogger("cgos.request")
bp = Blueprint("health", __name__)
REQUEST_ID = re.compile(r"[A-Za-z0-9._-]{1,64}")


def start_request() -> None:
    """Note the start time and a request id (the proxy's if it gave a sane one)."""
    g.request_started = time.perf_counter()
    incoming = request.headers.get("X-Request-ID", "")
    g.request_id = incoming if REQUEST_ID.fullmatch(incoming) else secrets.token_hex(8)


def log_request(response):
    """Write the request's line and echo its id."""
    duration = (time.perf_counter() - g.get("request_started", time.perf_counter())) * 1000
    rule = request.url_rule.rule if request.url_rule is not None else "<unmatched>"
    log.info(
        json.dumps(
            {
                "request_id": g.get("request_id"),
                "method": request.method,
                "route": rule,
                "status": response.status_code,
                "duration_ms": round(duration, 1),
            }
        )
    )
    response.headers["X-Request-ID"] = g.get("request_id", "")
    return response


@bp.get("/healthz")
def healthz():
    """The process answers."""
    return jsonify(status="ok")


@bp.get("/readyz")
def readyz():
    """The database and the limiter storage (Redis) answer: the process can take traffic."""
    checks = {}
    try:
        db.session.execute(text("SELECT 1"))
        checks["database"] = "ok"
    except Exception:
        db.session.rollback()
        checks["database"] = "unavailable"
    try:
        checks["ratelimit_storage"] = "ok" if limiter.storage.check() else "unavailable"
    except Exception:
        checks["ratelimit_storage"] = "unavailable"
    ready = all(value == "ok" for value in checks.values())
    return jsonify(status="ok" if ready else "unavailable", **checks), 200 if ready else 503


def configure_logging() -> None:
    """The portal's loggers write to stderr (gunicorn collects it), once per process."""
    portal = logging.getLogger("cgos")
    if not portal.handlers:
        handler = logging.StreamHandler()
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s %(message)s"))
        portal.addHandler(handler)
        portal.setLevel(logging.INFO)


def init_app(app: Flask) -> None:
    """Register the hooks and the endpoints."""
    configure_logging()
    app.before_request(start_request)
    app.after_request(log_request)
    app.register_blueprint(bp)
