"""Passkey ceremonies over HTTP, as static/passkeys.js makes them, with a software authenticator."""

import os

from cryptography.hazmat.primitives.asymmetric import ec

from cgos.extensions import db
from cgos.models import Agent, DelegationStaff, Passkey
from tests_support.authenticator import Credential, SoftAuthenticator
from tests_support.pages import Page

# The test client's origin (BASE_CONFIG's SERVER_NAME): the RP ID is `localhost`.
ORIGIN = "http://localhost"
IPHONE_SAFARI = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) Version/18.1 Mobile/15E148 Safari/604.1"
)


def csrf_token(client, url: str = "/") -> str:
    """The CSRF token a page gives its passkey script (`data-csrf-token`)."""
    return Page(client.get(url, follow_redirects=True)).soup.select_one("[data-csrf-token]")["data-csrf-token"]


class PasskeyBrowser:
    """A browser whose authenticator holds passkeys: the JSON steps of static/passkeys.js."""

    def __init__(self, client, authenticator: SoftAuthenticator | None = None, origin: str = ORIGIN):
        self.client = client
        self.authenticator = authenticator or SoftAuthenticator()
        self.origin = origin

    def post(self, url: str, token: str, payload: dict | None = None, **headers):
        """A JSON POST with the CSRF header, as the script sends it."""
        return self.client.post(url, json=payload or {}, headers={"X-CSRFToken": token, **headers})

    def create_passkey(self, user_agent: str = IPHONE_SAFARI, **forged):
        """« Créer une clé d'accès » from home (logged in): the answer to the second request."""
        token = csrf_token(self.client, "/espace-agent/")
        options = self.post("/espace-agent/cles-d-acces/options", token, {}, **{"User-Agent": user_agent}).get_json()
        answer = self.authenticator.create(options, self.origin, **forged)
        return self.post("/espace-agent/cles-d-acces", token, answer, **{"User-Agent": user_agent})

    def sign_in_options(self) -> tuple[str, dict]:
        """The login page's token and the options of a passkey sign-in."""
        token = csrf_token(self.client, "/")
        return token, self.post("/connexion-cle-d-acces/options", token).get_json()

    def sign_in(self, credential: Credential | None = None, origin: str | None = None, **forged):
        """« Se connecter avec une clé d'accès »: the answer to the second request."""
        token, options = self.sign_in_options()
        answer = self.authenticator.get(options, origin or self.origin, credential, **forged)
        return self.post("/connexion-cle-d-acces", token, answer)

    def send(self, answer: dict):
        """Post an assertion as it is (a captured one, replayed) with this browser's session."""
        return self.post("/connexion-cle-d-acces", csrf_token(self.client, "/"), answer)


def give_passkey(
    owner: Agent | DelegationStaff, authenticator: SoftAuthenticator, rp_id: str = "localhost", **fields
) -> Passkey:
    """Store a passkey of `authenticator` for an agent or staff member directly (no ceremony)."""
    credential = Credential(
        id=os.urandom(16),
        key=ec.generate_private_key(ec.SECP256R1()),
        rp_id=rp_id,
        user_handle=os.urandom(32),
        user_name=str(owner.id),
        display_name=str(owner.id),
    )
    authenticator.credentials.append(credential)
    owner_field = {"staff_id": owner.id} if isinstance(owner, DelegationStaff) else {"agent_id": owner.id}
    passkey = Passkey(
        **owner_field,
        credential_id=credential.id,
        public_key=credential.cose_public_key(),
        sign_count=0,
        transports=["internal"],
        user_handle=credential.user_handle,
        name="Téléphone",
        **fields,
    )
    db.session.add(passkey)
    db.session.commit()
    return passkey
