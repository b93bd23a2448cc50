"""Question pages: a flow asked one page at a time, its answers kept on the server until « Envoyer ».

Each page's answers join the flow's state (`flow_state`, a handle in the session cookie);
« Continuer » leads to the next page, or back to « Vérifiez vos réponses » after
« Modifier »; only « Envoyer » on that check page writes what the flow asks for.
"""

from dataclasses import dataclass
from datetime import timedelta

from flask import request, url_for

from . import flow_state
from .htmx import render_page

# « Modifier » on the check page adds `?retour=verification`: « Continuer » then leads back there.
BACK_TO_CHECK = "verification"


@dataclass(frozen=True)
class Question:
    """A question page: the key of its answers, its endpoint, its heading."""

    key: str
    endpoint: str
    title: str


@dataclass(frozen=True)
class QuestionPages:
    """The question pages of one flow, in order, then its check page (the last step)."""

    purpose: str
    lifetime: timedelta
    questions: tuple[Question, ...]
    check_endpoint: str
    tab: str
    # The steps before the first question (the registration's NIR page).
    steps_before: int = 0

    @property
    def steps(self) -> int:
        """How many steps « Étape N sur M » counts: those before, the questions, the check page."""
        return self.steps_before + len(self.questions) + 1

    def step_of(self, key: str) -> int:
        """The step number of a question page."""
        return self.steps_before + 1 + [question.key for question in self.questions].index(key)

    def state(self) -> dict:
        """This browser's state for the flow ({} when there is none)."""
        value = flow_state.load(self.purpose)
        return value if isinstance(value, dict) else {}

    def save(self, current: dict) -> None:
        """Keep the flow's state (for another `lifetime` from now)."""
        flow_state.save(self.purpose, current, self.lifetime)

    @staticmethod
    def answers(current: dict) -> dict:
        """The answers given so far, by question page."""
        value = current.get("answers")
        return value if isinstance(value, dict) else {}

    def given(self, current: dict, key: str) -> dict:
        """One page's answers ({} when not answered yet)."""
        value = self.answers(current).get(key)
        return value if isinstance(value, dict) else {}

    def save_answers(self, current: dict, key: str, values: dict) -> dict:
        """Keep one page's answers with the rest of the flow's state; the new state."""
        current = {**current, "answers": {**self.answers(current), key: values}}
        self.save(current)
        return current

    def unanswered(self, current: dict) -> str | None:
        """The endpoint of the first question page not answered yet, or None."""
        given = self.answers(current)
        return next((q.endpoint for q in self.questions if not isinstance(given.get(q.key), dict)), None)

    def next_url(self, key: str) -> str:
        """Where « Continuer » leads: back to the check page after « Modifier », else the next page."""
        keys = [question.key for question in self.questions]
        position = keys.index(key)
        if request.args.get("retour") == BACK_TO_CHECK or position + 1 == len(keys):
            return url_for(self.check_endpoint)
        return url_for(self.questions[position + 1].endpoint)

    def back_url(self, key: str, before: str | None) -> str | None:
        """Where « Retour » leads: the check page after « Modifier », the page before, or `before` from the first."""
        position = [question.key for question in self.questions].index(key)
        if request.args.get("retour") == BACK_TO_CHECK:
            return url_for(self.check_endpoint)
        return url_for(self.questions[position - 1].endpoint) if position else before

    def render(self, key: str, template: str, form, status: int = 200, errors: dict | None = None, **context):
        """A question page, with its heading, step, the address it posts to and where « Retour » leads.

        `before` in the context is where « Retour » leads from the first page.
        """
        question = next(question for question in self.questions if question.key == key)
        back_url = self.back_url(key, context.pop("before", None))
        return render_page(
            template,
            status=status,
            tab=self.tab,
            form=form,
            errors=errors or {},
            title=question.title,
            step=self.step_of(key),
            steps=self.steps,
            action=url_for(request.endpoint, retour=request.args.get("retour")),
            back_url=back_url,
            check_url=url_for(self.check_endpoint),
            **context,
        )
