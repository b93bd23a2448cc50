"""Full page or fragment: one decision for every view.

A plain request gets the whole page; an htmx request (a link or form boosted
into #main by the body's `hx-boost:inherited`, or an autocomplete) gets the
same template rendered into the fragment layout (title, tabs swapped out of
band, main content). History restores ask for the whole page, since htmx picks
the main region out of it.
"""

from flask import Response, make_response, redirect, render_template, request


def is_htmx() -> bool:
    """True for a request made by htmx (and not a history restore)."""
    return request.headers.get("HX-Request") == "true" and request.headers.get("HX-History-Restore-Request") != "true"


def page_layout() -> str:
    """The layout a page template extends for this request: the whole page or the fragment."""
    return "layouts/fragment.html" if is_htmx() else "layouts/page.html"


def page_response(html: str, status: int = 200) -> Response:
    """A page or fragment already rendered for this request (see page_layout)."""
    response = make_response(html, status)
    response.vary.add("HX-Request")
    return response


def render_page(template: str, status: int = 200, **context) -> Response:
    """Render a page template as a whole page or as the fragment htmx swaps in."""
    return page_response(render_template(template, layout=page_layout(), **context), status)


def render_form_errors(template: str, **context) -> Response:
    """Re-render a form with its errors: 422, which htmx 4 swaps like any answer."""
    return render_page(template, status=422, **context)


def full_redirect(location: str) -> Response:
    """Leave the current layout (log in, log out): htmx reloads the whole page."""
    if is_htmx():
        response = make_response("", 200)
        response.headers["HX-Redirect"] = location
        return response
    return redirect(location, code=303)


def see_other(location: str) -> Response:
    """Post/redirect/get: htmx follows the 303 and swaps the next step in place."""
    return redirect(location, code=303)
