"""The people the tests play, each value typed once: the demo agents and staff of CONTRACT.md
« Demo data » (what `setup --demo` loads), and the newcomers a test adds itself.

Tests take what a form asks for from the persona (`MARIE.identity`, `SOPHIE.pin`,
`JEAN.birth_date_typed`) and find the rows with `tests_support.factories`. What a test checks
on a page or in a mail (« Sophie BERNARD (29088361 J) », a masked address) stays spelled out
in the test: a test that imports the value it expects cannot see it printed wrong.
"""

from dataclasses import dataclass
from datetime import date

FRENCH_MONTHS = [
    "janvier",
    "février",
    "mars",
    "avril",
    "mai",
    "juin",
    "juillet",
    "août",
    "septembre",
    "octobre",
    "novembre",
    "décembre",
]


def with_nir_key(body: str) -> str:
    """A 13-digit NIR body followed by its two-digit key (97 minus the body modulo 97)."""
    return body + f"{97 - int(body) % 97:02d}"


def spaced_nir(nir: str) -> str:
    """A NIR as written on a carte Vitale: `2 91 03 35 238 456 43`."""
    return " ".join((nir[0], nir[1:3], nir[3:5], nir[5:7], nir[7:10], nir[10:13], nir[13:]))


@dataclass(frozen=True)
class AgentPersona:
    """An agent as the forms ask for them: numéro, names, birth date, NIR, mail, secret."""

    civility: str
    first_name: str
    last_name: str
    numero: str | None
    birth_date: date
    nir: str
    email: str | None
    establishment: str
    pin: str | None = None
    legacy_password: str | None = None

    @property
    def compact_numero(self) -> str:
        """The numéro as stored: `35127846S`."""
        return self.numero.replace(" ", "")

    @property
    def spaced_nir(self) -> str:
        """The NIR with the spaces of a carte Vitale."""
        return spaced_nir(self.nir)

    @property
    def birth_date_typed(self) -> str:
        """The birth date as typed in a date field: `14/03/1985`."""
        return self.birth_date.strftime("%d/%m/%Y")

    @property
    def birth_month_name(self) -> str:
        """The birth month as « Mois de naissance » lists it: `mars`."""
        return FRENCH_MONTHS[self.birth_date.month - 1]

    @property
    def identity(self) -> dict:
        """The fields of the identification step of « 1ère connexion » and « Mot de passe oublié »."""
        return {
            "numero": self.numero,
            "birth_year": str(self.birth_date.year),
            "birth_month": str(self.birth_date.month),
        }


@dataclass(frozen=True)
class StaffPersona:
    """A delegation staff member: the password step's fields, the delegation, the TOTP secret."""

    email: str
    password: str
    delegation_code: str
    totp_secret: str | None

    @property
    def credentials(self) -> dict:
        """The fields of the back office's password step."""
        return {"email": self.email, "password": self.password}


# --- The demo agents (CONTRACT.md « Demo data ») ------------------------------------------------

# Never connected.
MARIE = AgentPersona(
    civility="Mme",
    first_name="Marie",
    last_name="DUPONT",
    numero="35127846 S",
    birth_date=date(1985, 3, 14),
    nir="285033523812388",
    email="marie.dupont@example.org",
    establishment="Centre Hospitalier Universitaire de Rennes",
)
# Never connected, no mail known.
JEAN = AgentPersona(
    civility="M.",
    first_name="Jean",
    last_name="MARTIN",
    numero="22904518 R",
    birth_date=date(1979, 11, 2),
    nir="179112205604250",
    email=None,
    establishment="Centre Hospitalier Yves Le Foll",
)
# A personal password.
SOPHIE = AgentPersona(
    civility="Mme",
    first_name="Sophie",
    last_name="BERNARD",
    numero="29088361 J",
    birth_date=date(1990, 6, 21),
    nir="290062901908862",
    email="sophie.bernard@example.org",
    establishment="Centre Hospitalier Universitaire de Brest",
    pin="482915",
)
# A legacy alphanumeric password.
LUC = AgentPersona(
    civility="M.",
    first_name="Luc",
    last_name="PETIT",
    numero="35477120 M",
    birth_date=date(1968, 1, 30),
    nir="168013523807715",
    email="luc.petit@example.org",
    establishment="Centre Hospitalier Guillaume Régnier",
    legacy_password="Azerty2015!",
)
# A provisional password issued 45 days ago (expired); her establishment is in Paris (Île-de-France).
NADIA = AgentPersona(
    civility="Mme",
    first_name="Nadia",
    last_name="HADDAD",
    numero="75236094 N",
    birth_date=date(1995, 9, 9),
    nir="295097505613387",
    email="nadia.haddad@example.org",
    establishment="Assistance Publique - Hôpitaux de Paris",
)
DEMO_AGENTS = (MARIE, JEAN, SOPHIE, LUC, NADIA)

# --- Newcomers: not in the demo data ------------------------------------------------------------

# Anne LE GOFF asks for a numéro (« Demande de n°C.G.O.S »): a woman born in March 1991 in Rennes,
# whose NIR nobody has.
ANNE = AgentPersona(
    civility="Mme",
    first_name="Anne",
    last_name="Le Goff",
    numero=None,
    birth_date=date(1991, 3, 12),
    nir=with_nir_key("2910335238456"),
    email="anne.legoff@example.org",
    establishment="Centre Hospitalier Universitaire de Rennes",
)

# --- Staff --------------------------------------------------------------------------------------

# Every staff member the tests enrol uses the demo staff's TOTP secret (base32, SHA-1, 6 digits, 30 s).
DEMO_TOTP_SECRET = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"
# The demo staff, enrolled by `setup --demo`.
BRETAGNE_STAFF = StaffPersona("delegation.bretagne@example.org", "Demo-Delegation-2026", "bretagne", DEMO_TOTP_SECRET)
# Staff a test adds with `factories.add_staff`.
ILE_DE_FRANCE_STAFF = StaffPersona(
    "delegation.idf@example.org", "Autre-Delegation-2026", "ile-de-france", DEMO_TOTP_SECRET
)
BRETAGNE_COLLEAGUE = StaffPersona("collegue@example.org", "Collegue-Bretagne-2026", "bretagne", DEMO_TOTP_SECRET)
# Not enrolled yet: the second factor is set up at the first login.
NEWCOMER_STAFF = StaffPersona("nouvelle.recrue@example.org", "Nouvelle-Recrue-2026", "bretagne", None)
