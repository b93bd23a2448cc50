"""A staff member's passkeys over HTTP, as the back office's scripts use them: created in
« Mes clés d'accès » (static/passkeys.js) and used as the second factor (static/staff_passkeys.js)."""

from cgos.extensions import db
from cgos.models import DelegationStaff, Passkey
from tests_support.authenticator import Credential, SoftAuthenticator
from tests_support.factories import staff_row
from tests_support.passkeys import IPHONE_SAFARI, ORIGIN
from tests_support.personas import BRETAGNE_STAFF, StaffPersona
from tests_support.staff import log_in_staff, password_step

OPTIONS = "/delegation/verification/cle-d-acces/options"
SECOND_FACTOR = "/delegation/verification/cle-d-acces"


def page_token(person, url: str) -> str:
    """The CSRF token of a back-office page (any form's, or the passkey box's)."""
    soup = person.get(url).soup
    box = soup.select_one("[data-csrf-token]")
    return box["data-csrf-token"] if box else soup.select_one("input[name=csrf_token]")["value"]


def staff_passkeys(staff: DelegationStaff) -> list[Passkey]:
    """The staff member's passkeys, oldest first."""
    return list(db.session.scalars(db.select(Passkey).where(Passkey.staff_id == staff.id).order_by(Passkey.id)))


class StaffPasskeyBrowser:
    """A back-office browser (a conftest `Agent` driver) whose authenticator holds passkeys."""

    def __init__(self, person, authenticator: SoftAuthenticator | None = None, origin: str = ORIGIN):
        self.person = person
        self.client = person.client
        self.authenticator = authenticator or SoftAuthenticator()
        self.origin = origin

    def post(self, url: str, token: str, payload: dict | None = None, **headers):
        """A JSON POST with the CSRF header, as the scripts send it."""
        return self.client.post(url, json=payload or {}, headers={"X-CSRFToken": token, **headers})

    def password_step(self, staff: StaffPersona = BRETAGNE_STAFF, **typed):
        """The staff login's first step: the page it leads to (`typed` replaces what is typed)."""
        return password_step(self.person, staff, **typed)

    def create_passkey(self, user_agent: str = IPHONE_SAFARI, **forged):
        """« Créer une clé d'accès » in the back office (fully signed in): the answer to the second request."""
        token = page_token(self.person, "/delegation/cles-d-acces")
        headers = {"User-Agent": user_agent}
        options = self.post("/delegation/cles-d-acces/options", token, **headers).get_json()
        answer = self.authenticator.create(options, self.origin, **forged)
        return self.post("/delegation/cles-d-acces", token, answer, **headers)

    def enrol(self, staff: StaffPersona = BRETAGNE_STAFF) -> Passkey:
        """Sign in with password and code, create a passkey, sign out: the passkey stored."""
        log_in_staff(self.person, staff)
        assert self.create_passkey().status_code == 200
        self.log_out()
        return staff_passkeys(staff_row(staff))[-1]

    def log_out(self) -> None:
        """« Se déconnecter » of the back office."""
        self.client.post(
            "/delegation/deconnexion", data={"csrf_token": page_token(self.person, "/delegation/demandes")}
        )

    def second_factor_options(self) -> tuple[str, dict]:
        """The second step's token and the options of « Utiliser ma clé d'accès »."""
        token = page_token(self.person, "/delegation/verification")
        return token, self.post(OPTIONS, token).get_json()

    def second_factor(self, credential: Credential | None = None, origin: str | None = None, **forged):
        """« Utiliser ma clé d'accès » after the password: the answer to the second request."""
        token, options = self.second_factor_options()
        answer = self.authenticator.get(options, origin or self.origin, credential, **forged)
        return self.post(SECOND_FACTOR, token, answer)

    def send(self, answer: dict, token: str | None = None):
        """Post an assertion as it is (captured, forged) at the second step, with this browser's session."""
        return self.post(SECOND_FACTOR, token or page_token(self.person, "/delegation"), answer)
