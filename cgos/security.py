"""HTTP security headers on every response, and the refusal of an untrusted Host."""

from flask import Flask, Response, current_app, request
from werkzeug.exceptions import SecurityError

# Two years, subdomains included: browsers then never try plain http for the portal.
STRICT_TRANSPORT_SECURITY = "max-age=63072000; includeSubDomains"
CONTENT_SECURITY_POLICY = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "font-src 'self'",
        "connect-src 'self'",
        "form-action 'self'",
        "frame-ancestors 'none'",
        "base-uri 'none'",
        "object-src 'none'",
    ]
)


def set_security_headers(response: Response) -> Response:
    """Headers every response carries: strict CSP, no sniffing, no framing, no referrer leak."""
    response.headers.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    response.headers.setdefault("Referrer-Policy", "same-origin")
    response.headers.setdefault("X-Frame-Options", "DENY")
    response.headers.setdefault("Permissions-Policy", "camera=(), microphone=(), geolocation=()")
    if current_app.config.get("PRODUCTION"):
        response.headers.setdefault("Strict-Transport-Security", STRICT_TRANSPORT_SECURITY)
    if request.endpoint != "static":
        # Pages carry personal data and one-off keypads, downloads carry payslips: never cache them.
        response.headers["Cache-Control"] = no_store(response.headers.get("Cache-Control"))
    return response


def no_store(cache_control: str | None) -> str:
    """A Cache-Control value that keeps `no-store` whatever else a view (send_file…) said."""
    directives = [part.strip() for part in (cache_control or "").split(",") if part.strip()]
    if "no-store" not in directives:
        directives.insert(0, "no-store")
    return ", ".join(directives)


def refuse_untrusted_host():
    """A Host outside TRUSTED_HOSTS gets a bare 400: no page is built (nor any link) for it."""
    if isinstance(request.routing_exception, SecurityError):
        return Response("Adresse du site non reconnue.", status=400, mimetype="text/plain")
    return None


def init_app(app: Flask) -> None:
    """Register the host check and the header hook."""
    app.before_request(refuse_untrusted_host)
    app.after_request(set_security_headers)
