"""« Se connecter »: the numéro C.G.O.S and the server-shuffled keypad."""

import logging
import time
from datetime import timedelta

from flask import Blueprint, current_app, flash, g, request, session, url_for
from limits import parse as parse_rate

from .. import bcrypt_line, events, keypad
from ..auth import login_agent, logout, pending_step, revoke_sessions
from ..credentials import attempts, limits
from ..credentials.accounts import find_agent
from ..credentials.attempts import Refusal
from ..credentials.checking import Outcome, apply_success
from ..credentials.hashing import check_typed_secret
from ..dates import french_time
from ..events import Event, Reason
from ..extensions import db, limiter
from ..htmx import full_redirect, render_page, see_other
from ..models import Agent, utcnow
from ..templating import format_numero
from .forms import LoginForm
from .mail import send_lockout_notice

bp = Blueprint("login", __name__)
log = logging.getLogger("cgos.security")

KEYBOARD_MODE = "clavier"
# A keypad is valid for as long as a session may stay idle, and validates one login.
KEYPAD_LIFETIME = timedelta(minutes=20)
KEYPAD_SINGLE_USE = parse_rate(f"1 per {KEYPAD_LIFETIME.seconds // 60} minutes")
WRONG_CREDENTIALS = "Le numéro C.G.O.S ou le mot de passe est incorrect. Vérifiez votre saisie et recommencez."
ACCOUNT_DISABLED = "Votre compte est désactivé par votre délégation régionale : contactez-la pour en savoir plus."
INCOMPLETE_PIN = "Saisissez les 6 chiffres de votre mot de passe."
STALE_KEYPAD = "Le clavier a été renouvelé : saisissez de nouveau votre mot de passe."
ANOTHER_ATTEMPT_RUNNING = (
    "Une autre connexion à ce compte est en cours de vérification : patientez quelques secondes puis réessayez."
)
PROVISIONAL_EXPIRED = (
    "Votre mot de passe provisoire a expiré : il n'était valable que 30 jours. "
    "Demandez un nouveau mot de passe provisoire avec le lien « Mot de passe oublié ? »."
)
# The failure in the lockout window from which the answer says how many tries are left.
WARN_FROM_FAILURE = 3
DAILY_LOCKOUT = (
    "Après de trop nombreuses tentatives erronées, votre mot de passe n'est plus accepté. "
    "Pour vous connecter, demandez ci-dessous un nouveau mot de passe provisoire."
)
# Every login-wide counter (LOGIN_ALERT) counts under this one identifier.
ALL_ACCOUNTS = "all"


def _secret_key() -> bytes:
    """The key the keypad tokens are derived from."""
    return current_app.config["SECRET_KEY"].encode()


def new_layout() -> keypad.Layout:
    """Shuffle a new keypad; the session holds its id and when it was shown, never its order."""
    layout = keypad.Layout.new(_secret_key())
    session["keypad"] = {"id": layout.id, "shown_at": int(time.time())}
    return layout


def current_layout() -> keypad.Layout | None:
    """The keypad this browser was last shown, while it is fresh (a key press without JavaScript reads it)."""
    shown = session.get("keypad")
    if (
        not isinstance(shown, dict)
        or not isinstance(shown.get("id"), str)
        or not isinstance(shown.get("shown_at"), int)
    ):
        return None
    if time.time() - shown["shown_at"] > KEYPAD_LIFETIME.total_seconds():
        return None
    return keypad.Layout.of(_secret_key(), shown["id"])


@limits.fail_closed
def taken_layout() -> keypad.Layout | None:
    """The keypad this browser was last shown, consumed: « Valider » uses a keypad once.

    Its id is counted in the limiter storage for the keypad's lifetime, so a
    captured request replayed with its old cookie finds it used.
    """
    layout = current_layout()
    session.pop("keypad", None)
    if layout is None or not limiter.limiter.hit(KEYPAD_SINGLE_USE, "keypad_used", layout.id):
        return None
    return layout


def show_form(
    form: LoginForm,
    *,
    status: int = 200,
    layout: keypad.Layout | None = None,
    tokens: list[str] | None = None,
    focus: str | None = None,
    errors: dict | None = None,
):
    """Render the login page with a keypad (a fresh one unless given) and the typed tokens."""
    layout = layout or new_layout()
    tokens = tokens or []
    keyboard = form.mode.data == KEYBOARD_MODE or request.args.get("saisie") == KEYBOARD_MODE
    form.layout.data = layout.id
    form.pressed.data = " ".join(tokens)
    form.mode.data = KEYBOARD_MODE if keyboard else ""
    form.password.data = ""
    return render_page(
        "login/login.html",
        status=status,
        form=form,
        keyboard=keyboard,
        cells=keypad.cells(_secret_key(), layout),
        typed=len(tokens),
        pin_length=keypad.PIN_LENGTH,
        focus=focus,
        errors=errors or {},
    )


@bp.get("/")
def login():
    """« Se connecter »: the form, with a newly shuffled keypad."""
    if g.agent is not None:
        return see_other(url_for(pending_step(g.agent) or "account.home"))
    return show_form(LoginForm(formdata=None))


@bp.post("/")
def submit():
    """A key press, « Effacer », « Corriger » or « Valider »: all go through the same form."""
    form = LoginForm()
    if "key" in request.form:
        return press_key(form, request.form["key"])
    if request.form.get("action") == "erase":
        return erase_key(form)
    if request.form.get("action") == "clear":
        return show_form(form, focus="clear")
    with attempts.place_in_line(attempts.AGENT_LOGIN):
        return attempt_login(form)


def kept_keys(form: LoginForm, extra: list[str]) -> tuple[keypad.Layout, list[str]] | None:
    """The keypad shown and the keys typed on it so far, if they (and `extra`) belong to it."""
    layout = current_layout()
    tokens = keypad.split_tokens(form.pressed.data)
    if layout is None or form.layout.data != layout.id or keypad.decode(_secret_key(), layout, tokens + extra) is None:
        return None
    return layout, tokens


def press_key(form: LoginForm, token: str):
    """Without JavaScript: one more key of the PIN, on the same keypad."""
    kept = kept_keys(form, [token])
    if kept is None:
        return show_form(form, status=422, errors={"keypad": STALE_KEYPAD})
    layout, tokens = kept
    if len(tokens) < keypad.PIN_LENGTH:
        tokens.append(token)
    return show_form(form, layout=layout, tokens=tokens, focus=token)


def erase_key(form: LoginForm):
    """Without JavaScript: « Effacer » forgets the last key typed, on the same keypad."""
    kept = kept_keys(form, [])
    if kept is None:
        return show_form(form, status=422, errors={"keypad": STALE_KEYPAD})
    layout, tokens = kept
    return show_form(form, layout=layout, tokens=tokens[:-1], focus="erase")


def typed_secret(form: LoginForm, layout: keypad.Layout | None) -> str | None:
    """The secret typed on the keypad or in the password field; None for a foreign or used keypad."""
    if form.mode.data == KEYBOARD_MODE:
        return form.password.data or ""
    if layout is None or form.layout.data != layout.id:
        return None
    return keypad.decode(_secret_key(), layout, keypad.split_tokens(form.pressed.data))


def input_errors(form: LoginForm, secret: str | None) -> dict[str, str]:
    """What is wrong with the input itself (the form is validated): refused before anything counts."""
    errors = {name: field.errors[0] for name, field in form._fields.items() if field.errors}
    if secret is None:
        errors["keypad"] = STALE_KEYPAD
    elif form.mode.data != KEYBOARD_MODE and len(secret) != keypad.PIN_LENGTH:
        errors["keypad"] = INCOMPLETE_PIN
    elif form.mode.data == KEYBOARD_MODE and not secret:
        errors["password"] = INCOMPLETE_PIN
    return errors


def attempt_login(form: LoginForm):
    """« Valider »: bad input is refused as such; a secret goes through the attempts rule.

    Past the daily cap (LOGIN_DAILY), the account is blocked (`Agent.pin_blocked_at`)
    and the answer is the same for every numéro, known or not, right PIN or not.
    Once the day is over, a blocked account answers « incorrect » whatever the PIN,
    as an unknown numéro does: only a provisional PIN issued after the block (or the
    delegation's unlock) lets the agent in again.
    """
    layout = taken_layout()
    form.validate()
    secret = typed_secret(form, layout)
    if errors := input_errors(form, secret):
        return show_form(form, status=422, errors=errors)
    numero = form.numero.data
    agent = find_agent(numero)
    verdict = attempts.attempt(
        attempts.AGENT_LOGIN,
        numero,
        lambda: check_typed_secret(agent, secret),
        succeeded=lambda outcome: opens_account(agent, outcome),
    )
    if verdict.succeeded:
        return log_in(agent, verdict.result)
    if not verdict.checked:
        return refused(form, verdict, agent)
    return failed(form, verdict, agent)


def opens_account(agent: Agent | None, outcome: Outcome) -> bool:
    """A right personal or provisional PIN, on an account not blocked for the day (or whose
    block this provisional PIN lifts)."""
    if outcome is not Outcome.PERSONAL and outcome is not Outcome.PROVISIONAL:
        return False
    return agent.pin_blocked_at is None or lifts_block(agent, outcome)


def too_many_from_address(retry_at) -> str:
    """What a sign-in refused by the per-address limit says, PIN or passkey, agent or staff."""
    return (
        "Trop de tentatives de connexion ont été faites depuis votre adresse : "
        f"réessayez à partir de {french_time(retry_at)}."
    )


def refused(form: LoginForm, verdict: attempts.Verdict, agent: Agent | None):
    """An attempt refused unchecked: say why; past a lockout, « Mot de passe oublié »."""
    if verdict.refusal is Refusal.ADDRESS:
        return show_form(form, status=429, errors={"form": too_many_from_address(verdict.retry_at)})
    if verdict.refusal is Refusal.BUSY:
        response = show_form(form, status=429, errors={"form": ANOTHER_ATTEMPT_RUNNING})
        response.headers["Retry-After"] = str(bcrypt_line.CLIENT_RETRY_AFTER_SECONDS)
        return response
    events.record(Event.LOGIN_REFUSED, agent, reason=Reason(verdict.refusal.value))
    db.session.commit()
    return lockout_redirect(verdict.retry_at, form.numero.data)


def failed(form: LoginForm, verdict: attempts.Verdict, agent: Agent | None):
    """A checked secret that does not open the account: recorded, the owner told of a lockout
    or block this failure caused, and the answer every failure of this kind gets."""
    outcome = verdict.result
    blocked = agent is not None and agent.pin_blocked_at is not None
    record_failure(
        agent, Reason.UNKNOWN_NUMERO if agent is None else Reason.BLOCKED if blocked else Reason(outcome.value)
    )
    if verdict.locked_now:
        lock_account(agent)
    if (verdict.capped_now or verdict.capped) and agent is not None and not blocked:
        block_pin(agent)
    db.session.commit()
    if verdict.capped or verdict.capped_now:
        return daily_lock_out(form.numero.data)
    if verdict.locked_now:
        return lockout_redirect(attempts.AGENT_LOGIN.lockout.retry_at(form.numero.data), form.numero.data)
    if outcome is Outcome.LEGACY and not blocked:
        # The page it leads to says why (once): no notice on top of it.
        return see_other(url_for("forgotten_password.identify", motif="ancien", numero=format_numero(form.numero.data)))
    message = {Outcome.PROVISIONAL_EXPIRED: PROVISIONAL_EXPIRED, Outcome.DISABLED: ACCOUNT_DISABLED}.get(outcome)
    if blocked or message is None:
        message = WRONG_CREDENTIALS + lockout_warning(verdict)
    return show_form(form, status=422, errors={"form": message})


def lockout_warning(verdict: attempts.Verdict) -> str:
    """From the third failure in the lockout window, how many tries are left before it locks.

    Counted per typed numéro, known or not, so the warning tells no one which numéros exist.
    """
    left = attempts.AGENT_LOGIN.lockout.amount - verdict.failures
    if verdict.failures < WARN_FROM_FAILURE or left <= 0:
        return ""
    return (
        f" Attention : il vous reste {left} essai{'s' if left > 1 else ''} avant le blocage temporaire de votre compte."
    )


def lifts_block(agent: Agent, outcome: Outcome) -> bool:
    """True for a provisional PIN issued after the block began: the way out of a daily block.

    Comparing the issue time with `pin_blocked_at` keeps a provisional PIN that
    was already pending (perhaps requested by whoever was guessing) from opening
    a blocked account.
    """
    return outcome is Outcome.PROVISIONAL and agent.provisional_issued_at > agent.pin_blocked_at


def block_pin(agent: Agent) -> None:
    """The daily cap is passed: refuse the agent's PIN until a new provisional one, tell the agent."""
    agent.pin_blocked_at = utcnow()
    events.record(Event.PIN_BLOCKED, agent)
    revoke_sessions(agent)
    send_lockout_notice(agent, None)


def lock_account(agent: Agent | None) -> None:
    """This failure filled the lockout window: recorded once, the agent's sessions end, the agent is told."""
    events.record(Event.LOCKOUT, agent)
    if agent is not None:
        revoke_sessions(agent)
        send_lockout_notice(agent, attempts.AGENT_LOGIN.lockout.retry_at(agent.numero))


def record_failure(agent: Agent | None, reason: Reason) -> None:
    """Record a failed login, and raise one alert per window when failures pass LOGIN_ALERT."""
    events.record(Event.LOGIN_FAILURE, agent, reason=reason)
    if (
        not limits.LOGIN_ALERT.hit(ALL_ACCOUNTS)
        and limits.LOGIN_ALERT.attempts(ALL_ACCOUNTS) == limits.LOGIN_ALERT.amount + 1
    ):
        log.warning("failed logins across all accounts passed %s", current_app.config["LOGIN_ALERT_LIMIT"])
        events.record(Event.LOGIN_ALERT, None, current_app.config["LOGIN_ALERT_LIMIT"])


def daily_lock_out(numero: str | None = None):
    """Past the daily cap: the same answer for every numéro, send to « Mot de passe oublié »
    (with the numéro already typed)."""
    flash(DAILY_LOCKOUT, "lockout")
    return see_other(url_for("forgotten_password.identify", numero=format_numero(numero) if numero else None))


def lockout_redirect(retry, numero: str | None = None):
    """The account is locked out until `retry`: say so, send to « Mot de passe oublié »
    (with the numéro already typed)."""
    flash(
        "Après plusieurs tentatives erronées, vous n'êtes plus autorisé à vous connecter pendant "
        f"un certain délai : vous pourrez réessayer à partir de {french_time(retry)}. "
        "Si vous ne vous souvenez plus de votre mot de passe, demandez-en un nouveau ci-dessous.",
        "lockout",
    )
    return see_other(url_for("forgotten_password.identify", numero=format_numero(numero) if numero else None))


def log_in(agent, outcome: Outcome):
    """A good secret (its failures already cleared by the rule): renew the session and go to
    the next first-login step or home."""
    if agent.pin_blocked_at is not None:
        limits.unlock_account(agent)
    apply_success(agent, outcome, utcnow())
    return full_redirect(start_session(agent, Reason(outcome.value)))


def start_session(agent: Agent, way: Reason) -> str:
    """What every successful sign-in of an agent does, PIN or passkey (`way`): the event, a new
    server-side session (the browser's previous one revoked), committed; where to go next."""
    events.record(Event.LOGIN_SUCCESS, agent, reason=way)
    login_agent(agent)
    next_step = pending_step(agent)  # before the commit, which would have the agent read again
    db.session.commit()
    return url_for(next_step or "account.home")


@bp.post("/deconnexion")
def log_out():
    """« Se déconnecter »: the session ends on the server, a copied cookie no longer works."""
    if g.agent is not None:
        events.record(Event.LOGOUT, g.agent)
    logout()
    db.session.commit()
    flash("Vous êtes déconnecté de votre Espace Agent.", "success")
    return full_redirect(url_for("login.login"))
