"""The parsed page every test reads (`Page`) and the driver that clicks through the portal as an
agent or a staff member would (`Agent`), with or without htmx: the conftest fixtures `agent`,
`either` and `new_agent` hand them out."""

import re
from dataclasses import dataclass
from functools import cached_property

from bs4 import BeautifulSoup


@dataclass
class Page:
    """A response with its HTML parsed once; `Page(html=...)` for HTML that is not a test client's response."""

    response: object = None
    html: str | None = None

    def __post_init__(self):
        if self.html is None:
            self.html = self.response.get_data(as_text=True)

    @property
    def status(self) -> int:
        """HTTP status."""
        return self.response.status_code

    @cached_property
    def soup(self) -> BeautifulSoup:
        """The parsed document, parsed at its first use only."""
        return BeautifulSoup(self.html, "html.parser")

    @property
    def main(self):
        """The main region: `main` in a page, the whole fragment otherwise."""
        soup = self.soup
        return soup.find("main") or soup

    @property
    def title(self) -> str:
        """The page title."""
        return self.soup.title.get_text(strip=True) if self.soup.title else ""

    @property
    def text(self) -> str:
        """All visible text, whitespace collapsed."""
        return re.sub(r"\s+", " ", self.soup.get_text(" "))

    def error_summary(self) -> list[str]:
        """The lines of the error summary."""
        summary = self.soup.select_one(".error-summary [role=alert]")
        return [li.get_text(" ", strip=True) for li in summary.select("li")] if summary else []

    def field_error(self, field_id: str) -> str | None:
        """The message beside a field, tied to it by aria-describedby."""
        field = self.soup.find(id=field_id)
        for ref in (field.get("aria-describedby") or "").split():
            node = self.soup.find(id=ref)
            if node is not None and "field-error" in (node.get("class") or []):
                return node.get_text(" ", strip=True).removeprefix("Erreur : ")
        return None

    def form_data(self, selector: str = "form") -> dict:
        """The hidden and filled fields of a form of the main region, as a browser would send them."""
        form = self.main.select_one(selector)
        data = {}
        for field in form.select("input[name], select[name], textarea[name]"):
            if field.get("type") in ("submit", "checkbox", "radio", "file"):
                continue
            data[field["name"]] = field.get("value", "")
        return data

    def key_tokens(self) -> dict[str, str]:
        """Digit -> token of the keypad on this page."""
        return {b.get_text(strip=True): b["value"] for b in self.soup.select("button[name=key]")}


class Agent:
    """Drives the portal as an agent would, with or without htmx."""

    def __init__(self, client, htmx: bool = False):
        self.client = client
        self.htmx = htmx
        self.page: Page | None = None

    def headers(self) -> dict:
        """The headers htmx adds to its requests."""
        return {"HX-Request": "true"} if self.htmx else {}

    def get(self, url: str, **kwargs) -> Page:
        """Follow a link."""
        self.page = Page(self.client.get(url, headers=self.headers(), **kwargs))
        return self.page

    def post(self, url: str, data: dict, follow: bool = True) -> Page:
        """Submit a form; with htmx, an HX-Redirect answer loads the whole page as htmx would."""
        response = self.client.post(url, data=data, headers=self.headers(), follow_redirects=follow)
        if follow and "HX-Redirect" in response.headers:
            response = self.client.get(response.headers["HX-Redirect"], follow_redirects=True)
        self.page = Page(response)
        return self.page

    def submit(self, url: str, fields: dict | None = None, selector: str = "form", follow: bool = True) -> Page:
        """Fill the current page's form and submit it."""
        data = self.page.form_data(selector)
        data.update(fields or {})
        return self.post(url, data, follow=follow)

    def log_in(self, numero: str, pin: str, follow: bool = True) -> Page:
        """Type the numéro and the PIN on the keypad, then « Valider »."""
        page = self.get("/")
        tokens = page.key_tokens()
        return self.submit(
            "/",
            {"numero": numero, "pressed": " ".join(tokens[d] for d in pin), "action": "validate"},
            follow=follow,
        )
