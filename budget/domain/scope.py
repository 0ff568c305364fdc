"""The free-text fields a caller sends, each declared once: its name, its
longest value and what it means.

The domain's checks (:func:`budget.domain.validation.text`), the REST models,
the MCP tools' arguments and the CLI's options are built from these
declarations, and no length is more than the column the value is stored in
holds, so what one face accepts every face accepts and the database can store.
"""

from __future__ import annotations

from dataclasses import dataclass

from budget.domain.limits import (
    DESCRIPTION_LENGTH,
    ID_LENGTH,
    KEY_LENGTH,
    NAME_LENGTH,
    SHORT_LENGTH,
    ZONE_LENGTH,
)


@dataclass(frozen=True)
class TextField:
    """A free-text input: at most ``max_length`` characters, ``help`` for people."""

    name: str
    max_length: int
    help: str

    @property
    def option(self) -> str:
        """Its command-line flag: ``--task-type``."""
        return "--" + self.name.replace("_", "-")


def _by_name(*fields: TextField) -> dict[str, TextField]:
    return {f.name: f for f in fields}


TEXT_FIELDS: dict[str, TextField] = _by_name(
    # The request attributes policies filter on (scope).
    TextField("component", NAME_LENGTH, "The component making the call, e.g. a service."),
    TextField("project", NAME_LENGTH, "The project the call is for."),
    TextField("user", NAME_LENGTH, "The user the call is made for."),
    TextField("api_key", NAME_LENGTH, "The caller's API key label."),
    TextField("provider", SHORT_LENGTH, "Provider, e.g. openai, anthropic, google."),
    TextField("model", NAME_LENGTH, "Model id, e.g. gpt-4o."),
    TextField(
        "task_type", SHORT_LENGTH, "Task type: default, chat, coding, analysis, embedding, …"
    ),
    TextField("tag", NAME_LENGTH, "A tag the request carries."),
    # Ids the caller chooses.
    TextField("context_id", ID_LENGTH, "Your task or conversation id."),
    TextField("session_id", ID_LENGTH, "The session the call belongs to."),
    TextField("task_id", ID_LENGTH, "The task the call belongs to."),
    TextField("request_id", ID_LENGTH, "Idempotency key: the same id counts once."),
    # Ids Budget makes.
    TextField("allocation_id", KEY_LENGTH, "An allocation's id (alc_…), from allocate."),
    TextField("usage_id", KEY_LENGTH, "A usage record's id (use_…)."),
    TextField("budget_id", KEY_LENGTH, "A budget's id (bud_…)."),
    # Budgets and names.
    TextField("budget", NAME_LENGTH, "Budget id (bud_…) or name."),
    TextField("name", NAME_LENGTH, "A name, unique among its kind."),
    TextField("owner", NAME_LENGTH, "Who owns the budget."),
    TextField("description", DESCRIPTION_LENGTH, "What the budget is for."),
    TextField("timezone", ZONE_LENGTH, "An IANA time zone, e.g. Europe/Paris."),
)

#: The scope attributes that are free text, in ``SCOPE_FIELDS`` order
#: (``tier`` is a fixed choice; each of ``tags`` is a ``tag``).
SCOPE_TEXT = ("component", "project", "user", "api_key", "provider", "model", "task_type")


def text_field(name: str) -> TextField:
    """The declaration of ``name`` (KeyError for a field not declared here)."""
    return TEXT_FIELDS[name]


def max_length(name: str, default: int = NAME_LENGTH) -> int:
    """The longest value ``name`` accepts; ``default`` for a field not declared."""
    declared = TEXT_FIELDS.get(name)
    return default if declared is None else declared.max_length
