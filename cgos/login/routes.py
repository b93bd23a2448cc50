"""« Se connecter »: the numéro C.G.O.S and the server-shuffled keypad."""

from flask import Blueprint, current_app, flash, g, get_flashed_messages, request, session, url_for
from flask_wtf.csrf import generate_csrf
from markupsafe import Markup

from .. import events, keypad
from ..auth import login_agent, logout, pending_step, revoke_sessions
from ..extensions import db
from ..components import keypad_keys
from ..htmx import full_redirect, page_layout, page_response, render_page, see_other
from ..templating import Stencil, csrf_token_hole, french_time, hole, once_per_process
from ..credentials import bcrypt_slots, limits
from ..credentials.accounts import find_agent
from ..credentials.checking import Outcome, apply_success, check_login
from .forms import LoginForm

bp = Blueprint("login", __name__)

KEYBOARD_MODE = "clavier"
WRONG_CREDENTIALS = (
    "Le numéro C.G.O.S ou le mot de passe est incorrect. Vérifiez votre saisie et recommencez."
)
ACCOUNT_DISABLED = (
    "Votre compte est désactivé par votre délégation régionale : contactez-la pour en savoir plus."
)
INCOMPLETE_PIN = "Saisissez les 6 chiffres de votre mot de passe."
STALE_KEYPAD = "Le clavier a été renouvelé : saisissez de nouveau votre mot de passe."
PROVISIONAL_EXPIRED = (
    "Votre mot de passe provisoire a expiré : il n'était valable que 30 jours. "
    "Demandez un nouveau mot de passe provisoire avec le lien « Mot de passe oublié ? »."
)


def _secret_key() -> bytes:
    """The key the keypad tokens are derived from."""
    return current_app.config["SECRET_KEY"].encode()


def new_layout() -> keypad.Layout:
    """Shuffle a new keypad and remember it for this browser."""
    layout = keypad.Layout.new()
    session["keypad"] = layout.to_dict()
    return layout


def current_layout() -> keypad.Layout | None:
    """The keypad this browser was last shown."""
    return keypad.Layout.from_dict(session.get("keypad"))


def show_form(form: LoginForm, *, status: int = 200, layout: keypad.Layout | None = None,
              tokens: list[str] | None = None, focus: str | None = None, errors: dict | None = None):
    """Render the login page with a keypad (a fresh one unless given) and the typed tokens."""
    layout = layout or new_layout()
    keys = keypad_keys(keypad.cells(_secret_key(), layout), focus)
    return render_form(form, layout.id, keys, tokens or [], status=status, focus=focus, errors=errors)


def render_form(form: LoginForm, layout_id: str, keys: Markup, tokens: list[str], *, status: int = 200,
                focus: str | None = None, errors: dict | None = None):
    """The login page around a keypad already drawn: its id and its keys' markup."""
    keyboard = form.mode.data == KEYBOARD_MODE or request.args.get("saisie") == KEYBOARD_MODE
    form.layout.data = layout_id
    form.pressed.data = " ".join(tokens)
    form.mode.data = KEYBOARD_MODE if keyboard else ""
    form.password.data = ""
    return render_page(
        "login/login.html",
        status=status,
        form=form,
        keyboard=keyboard,
        keys=keys,
        typed=len(tokens),
        pin_length=keypad.PIN_LENGTH,
        focus=focus,
        errors=errors or {},
    )


def blank_form_stencil() -> Stencil:
    """The login page as a visitor first sees it, with holes for the CSRF token and the keypad."""
    with csrf_token_hole():
        page = render_form(LoginForm(formdata=None), hole("layout"), hole("keys"), [])
    return Stencil(page.get_data(as_text=True))


def show_blank_form():
    """The display most agents get (a visitor, nothing typed, no message, the on-screen keypad):
    the page show_form would render, filled into its stencil. On the busiest page of opening
    day, rendering the template cost more than the whole rest of the request."""
    layout = new_layout()
    stencil = once_per_process(("login blank form", page_layout()), blank_form_stencil)
    keys = keypad_keys(keypad.cells(_secret_key(), layout))
    return page_response(stencil.fill(csrf_token=generate_csrf(), layout=layout.id, keys=keys))


@bp.get("/")
def login():
    """« Se connecter »: the form, with a newly shuffled keypad."""
    if g.agent is not None:
        return see_other(url_for(pending_step(g.agent) or "account.home"))
    # A staff member's logout button, a message or the keyboard field: not the stencil's page.
    if g.staff is None and not get_flashed_messages() and request.args.get("saisie") != KEYBOARD_MODE:
        return show_blank_form()
    return show_form(LoginForm(formdata=None))


@bp.post("/")
@bcrypt_slots.refuse_when_busy
def submit():
    """A key press, « Corriger » or « Valider »: all go through the same form."""
    form = LoginForm()
    if "key" in request.form:
        return press_key(form, request.form["key"])
    if request.form.get("action") == "clear":
        return show_form(form, focus="clear")
    return attempt_login(form)


def press_key(form: LoginForm, token: str):
    """Without JavaScript: one more key of the PIN, on the same keypad."""
    layout = current_layout()
    tokens = keypad.split_tokens(form.pressed.data)
    if layout is None or form.layout.data != layout.id or keypad.decode(_secret_key(), layout, tokens + [token]) is None:
        return show_form(form, status=422, errors={"keypad": STALE_KEYPAD})
    if len(tokens) < keypad.PIN_LENGTH:
        tokens.append(token)
    return show_form(form, layout=layout, tokens=tokens, focus=token)


def typed_secret(form: LoginForm) -> str | None:
    """The secret typed on the keypad or in the password field; None for a foreign keypad."""
    if form.mode.data == KEYBOARD_MODE:
        return form.password.data or ""
    layout = current_layout()
    if layout is None or form.layout.data != layout.id:
        return None
    return keypad.decode(_secret_key(), layout, keypad.split_tokens(form.pressed.data))


def attempt_login(form: LoginForm):
    """« Valider »: count the attempt first, then check it (see credentials.limits)."""
    address_ok = limits.LOGIN_ADDRESS.hit_here()
    form_ok = form.validate()
    numero = form.numero.data if form_ok else None
    account_ok = limits.LOGIN_LOCKOUT.hit(numero) if numero else True
    if not address_ok:
        retry = limits.LOGIN_ADDRESS.retry_here()
        message = (
            "Trop de tentatives de connexion ont été faites depuis votre adresse : "
            f"réessayez à partir de {french_time(retry)}."
        )
        return show_form(form, status=429, errors={"form": message})
    if not account_ok:
        return lock_out(numero)

    errors = {name: field.errors[0] for name, field in form._fields.items() if field.errors}
    secret = typed_secret(form)
    if secret is None:
        errors["keypad"] = STALE_KEYPAD
    elif form.mode.data != KEYBOARD_MODE and len(secret) != keypad.PIN_LENGTH:
        errors["keypad"] = INCOMPLETE_PIN
    elif form.mode.data == KEYBOARD_MODE and not secret:
        errors["password"] = INCOMPLETE_PIN
    if errors:
        return show_form(form, status=422, errors=errors)

    agent = find_agent(numero)
    outcome = check_login(agent, secret)
    if outcome is Outcome.PERSONAL or outcome is Outcome.PROVISIONAL:
        return log_in(agent, outcome, numero)
    events.record(events.LOGIN_FAILURE, agent, outcome.value if agent else "unknown_numero")
    db.session.commit()
    if outcome is Outcome.LEGACY:
        flash(
            "Votre mot de passe composé de chiffres, de lettres et de caractères spéciaux n'est plus "
            "accepté. Demandez un nouveau mot de passe à 6 chiffres : un mot de passe provisoire vous "
            "sera adressé par messagerie.",
            "info",
        )
        return see_other(url_for("forgotten_password.identify", motif="ancien"))
    if outcome is Outcome.PROVISIONAL_EXPIRED:
        return show_form(form, status=422, errors={"form": PROVISIONAL_EXPIRED})
    if outcome is Outcome.DISABLED:
        return show_form(form, status=422, errors={"form": ACCOUNT_DISABLED})
    return show_form(form, status=422, errors={"form": WRONG_CREDENTIALS})


def lock_out(numero: str):
    """Too many failures on this account: refuse, revoke its sessions, send to « Mot de passe oublié »."""
    agent = find_agent(numero)
    if limits.LOGIN_LOCKOUT.attempts(numero) == limits.LOGIN_LOCKOUT.amount + 1:
        events.record(events.LOCKOUT, agent)
        if agent is not None:
            revoke_sessions(agent)
    else:
        events.record(events.LOGIN_FAILURE, agent, "locked")
    db.session.commit()
    retry = limits.LOGIN_LOCKOUT.retry_at(numero)
    flash(
        "Après plusieurs tentatives erronées, vous n'êtes plus autorisé à vous connecter pendant "
        f"un certain délai : vous pourrez réessayer à partir de {french_time(retry)}. "
        "Si vous ne vous souvenez plus de votre mot de passe, demandez-en un nouveau ci-dessous.",
        "lockout",
    )
    return see_other(url_for("forgotten_password.identify"))


def log_in(agent, outcome: Outcome, numero: str):
    """A good secret: renew the session and go to the next first-login step or home."""
    limits.LOGIN_LOCKOUT.clear(numero)
    limits.LOGIN_ADDRESS.refund_here()
    apply_success(agent, outcome)
    events.record(events.LOGIN_SUCCESS, agent, outcome.value)
    login_agent(agent)
    db.session.commit()
    return full_redirect(url_for(pending_step(agent) or "account.home"))


@bp.post("/deconnexion")
def log_out():
    """« Se déconnecter »: the session ends on the server, a copied cookie no longer works."""
    if g.agent is not None:
        events.record(events.LOGOUT, g.agent)
    logout()
    db.session.commit()
    flash("Vous êtes déconnecté de votre Espace Agent.", "success")
    return full_redirect(url_for("login.login"))
