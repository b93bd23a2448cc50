"""The form components every page uses (error summary, heading, labelled field, CSRF input)
and the login keypad's keys.

They were Jinja macros (templates/components/forms.html keeps the rarer ones). Each
display of the login page called four of them, and a macro call, with the import that
brings it, cost more than the rest of the page: written here they build the same markup
directly. The markup follows the GOV.UK error pattern: a summary that takes the focus,
each message beside its field and tied to it by `aria-describedby`.
"""

from flask import get_flashed_messages
from flask_wtf.csrf import generate_csrf
from markupsafe import Markup, escape
from wtforms.form import BaseForm
from wtforms.widgets import CheckboxInput, FileInput, Input, PasswordInput, RadioInput

from .htmx import is_htmx


def collect_errors(form=None, errors=None) -> list[tuple[str | None, str]]:
    """The error summary's lines: (anchor of the field, message), general errors first."""
    errors = dict(errors or {})
    items = []
    if "form" in errors:
        items.append((None, errors.pop("form")))
    if isinstance(form, BaseForm):
        for name, field in form._fields.items():
            message = errors.pop(name, None) or (field.errors[0] if field.errors else None)
            if message and name != "csrf_token":
                items.append((field.id, message))
    items.extend((name, message) for name, message in errors.items())
    return items


def page_has_errors(form=None, errors=None) -> bool:
    """True when the page shows an error (its title then starts with « Erreur : »)."""
    if errors:
        return bool(collect_errors(form, errors))
    # The common case, asked three times a page: no message given, only the fields to look at.
    return isinstance(form, BaseForm) and any(
        field.errors for name, field in form._fields.items() if name != "csrf_token"
    )


def error_summary(form=None, errors=None) -> Markup:
    """« Il y a un problème »: every error, each linked to its field; focused when shown."""
    if not page_has_errors(form, errors):
        return Markup("")
    items = collect_errors(form, errors)
    lines = "".join(
        f'\n      <li><a href="#{escape(anchor)}">{escape(message)}</a></li>' if anchor
        else f"\n      <li>{escape(message)}</li>"
        for anchor, message in items
    )
    return Markup(
        '\n<div class="error-summary" tabindex="-1" autofocus>\n  <div role="alert">\n'
        '    <h2 class="error-summary__title">Il y a un problème</h2>\n'
        f"    <ul>{lines}\n    </ul>\n  </div>\n</div>"
    )


def heading(text: str, form=None, errors=None) -> Markup:
    """The step's title; after an htmx swap it takes the focus, unless an error or a notice does."""
    focus = is_htmx() and not page_has_errors(form, errors) and not get_flashed_messages()
    return Markup(f'<h1 tabindex="-1"{" autofocus" if focus else ""}>{escape(text)}</h1>')


def csrf() -> Markup:
    """The hidden CSRF input of a form."""
    return Markup(f'<input type="hidden" name="csrf_token" value="{escape(generate_csrf())}">')


def input_tag(field, **attrs) -> Markup:
    """A field's `<input>`, built directly: what WTForms' widget does, at a fraction of its cost.

    Other widgets (select, textarea, file, checkbox) are left to WTForms.
    """
    widget = field.widget
    if not isinstance(widget, Input) or isinstance(widget, (FileInput, CheckboxInput, RadioInput)):
        return Markup(field(**attrs))
    attributes = {"id": field.id, "name": field.name, "type": widget.input_type}
    if field.flags.required:
        attributes["required"] = True
    if not (isinstance(widget, PasswordInput) and widget.hide_value):
        attributes["value"] = field._value()
    attributes.update(attrs)
    parts = []
    for name, value in attributes.items():
        if value is True:
            parts.append(name)
        elif value is not False and value is not None:
            parts.append(f'{name}="{escape(value)}"')
    return Markup(f"<input {' '.join(parts)}>")


def field(f, hint=None, required=True, error=None, **attrs) -> Markup:
    """A field with its label (« * » when required), hint and error message, all tied to it."""
    message = error or (f.errors[0] if f.errors else None)
    hint = hint if hint is not None else f.description
    described = []
    if hint:
        described.append(f"{f.id}-hint")
    if message:
        described.append(f"{f.id}-error")
    if described:
        attrs["aria-describedby"] = " ".join(described)
    css = "field field--error" if message else "field"
    label = escape(f.label.text)
    if f.type == "BooleanField":
        return Markup(
            f'<div class="{css}">\n  <div class="checkbox">\n    {f(**attrs)}\n'
            f'    <label for="{escape(f.id)}">{label}</label>\n  </div>\n</div>'
        )
    if message:
        attrs["aria-invalid"] = "true"
    if required:
        attrs["aria-required"] = "true"
    star = '<span class="required" aria-hidden="true"> *</span>' if required else ""
    parts = [f'<div class="{css}">\n  <label for="{escape(f.id)}">{label}{star}</label>']
    if hint:
        parts.append(f'<p class="hint" id="{escape(f.id)}-hint">{escape(hint)}</p>')
    if message:
        parts.append(
            f'<p class="field-error" id="{escape(f.id)}-error"><span class="visually-hidden">Erreur : </span>'
            f"{escape(message)}</p>"
        )
    parts.append(f"\n  {input_tag(f, **attrs)}\n</div>")
    return Markup("".join(parts))


def keypad_keys(cells, focus: str | None = None) -> Markup:
    """The keypad's 12 cells in display order: a button per digit (its value the token, never
    the digit), the blanks hidden from screen readers; `focus` is the token of the key to focus."""
    return Markup("".join(
        '\n      <span class="key key--blank" aria-hidden="true"></span>' if cell.digit is None
        else f'\n      <button type="submit" name="key" value="{escape(cell.token)}" class="key" data-keypad-key'
        f'{" autofocus" if focus == cell.token else ""}>{escape(cell.digit)}</button>'
        for cell in cells
    ))
