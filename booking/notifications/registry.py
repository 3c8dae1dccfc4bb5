"""Which code renders which kind of notification.

Each area renders its own kinds (``booking/<area>/notices.py``) and registers them here;
delivery asks the registry. A renderer gets the outbox row and loads what it needs itself.
"""

from __future__ import annotations

import html
import string
import uuid
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from types import ModuleType
from typing import TYPE_CHECKING, Any

from sqlalchemy.ext.asyncio import AsyncSession

from booking.db.models import Notification
from booking.i18n import format_message

if TYPE_CHECKING:
    from booking.runtime import Runtime


@dataclass(frozen=True, slots=True)
class SmsText:
    """An SMS in the recipient's language, with the facts its message names: the variables
    of the template a gateway sends instead of free text (Alibaba Cloud's TemplateParam)."""

    text: str
    params: dict[str, str]


def sms_text(message: str, locale: str, facts: Mapping[str, Any]) -> SmsText:
    """Like ``format_message`` (an extraction keyword too); the template's variables are
    exactly the message's ``{placeholders}``."""
    return SmsText(format_message(message, locale, dict(facts)),
                   {name: str(facts[name]) for name in _placeholders(message)})


@dataclass(slots=True)
class Rendered:
    subject: str  # e-mail subject
    lines: list[str]  # the message, one paragraph per line (text and HTML are made from it)
    sms: SmsText
    calendar: bytes | None = None  # an iCalendar to attach
    calendar_method: str | None = None  # REQUEST | CANCEL | PUBLISH

    @property
    def text(self) -> str:
        return "\n\n".join(self.lines) + "\n"

    @property
    def html(self) -> str:
        body = "".join(f"<p>{html.escape(line).replace(chr(10), '<br>')}</p>" for line in self.lines)
        return f'<!doctype html><html><body style="font-family:sans-serif">{body}</body></html>'


@dataclass(frozen=True, slots=True)
class Verbatim:
    """A paragraph that is one fact as it was typed (a clerk's reason), not a message."""

    fact: str


@dataclass(frozen=True, slots=True)
class Wording:
    """What a notice says, as message ids (marked with ``N_`` for extraction): the e-mail's
    subject and paragraphs, and the SMS. Translated and filled with the row's facts when it
    is rendered, so an area's notices read as a table of messages beside the rule that
    decides whether each is still true. A paragraph naming a fact that is empty for this row
    (no reason given, no document missing) is left out."""

    subject: str
    lines: tuple[str | Verbatim, ...]
    sms: str

    def render(self, locale: str, facts: Mapping[str, Any],
               invite: tuple[bytes | None, str | None] = (None, None)) -> Rendered:
        values = dict(facts)
        lines = []
        for line in self.lines:
            if isinstance(line, Verbatim):
                text = str(values[line.fact] or "")
                if text:
                    lines.append(text)
            elif all(values[name] != "" for name in _placeholders(line)):
                lines.append(format_message(line, locale, values))
        return Rendered(subject=format_message(self.subject, locale, values), lines=lines,
                        sms=sms_text(self.sms, locale, values), calendar=invite[0], calendar_method=invite[1])


def _placeholders(message: str) -> list[str]:
    return [name for _text, name, _spec, _conv in string.Formatter().parse(message) if name]


@dataclass(slots=True)
class RenderContext:
    rt: Runtime
    session: AsyncSession
    row: Notification
    locale: str
    email: str | None = None  # the recipient's address when the channel is e-mail
    name: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)


class SubjectGone(Exception):
    """The subject of a notification no longer exists: the row is dropped."""


Renderer = Callable[[RenderContext], Awaitable[Rendered]]
# How to find the phone of the party a row names, per subject type: (phone, phone hash).
PhoneResolver = Callable[["Runtime", Any, uuid.UUID], Awaitable[tuple[str, str] | None]]

_RENDERERS: dict[str, Renderer] = {}
_PHONE_RESOLVERS: dict[str, PhoneResolver] = {}


def notice(kind: str) -> Callable[[Renderer], Renderer]:
    """Mark a function as the renderer of ``kind``; ``register_notices`` registers it."""

    def mark(fn: Renderer) -> Renderer:
        fn.notice_kind = kind  # type: ignore[attr-defined]
        return fn

    return mark


def phone_resolver(subject_type: str) -> Callable[[PhoneResolver], PhoneResolver]:
    """Mark a function as the phone lookup of a subject type; ``register_notices`` registers it."""

    def mark(fn: PhoneResolver) -> PhoneResolver:
        fn.phone_subject = subject_type  # type: ignore[attr-defined]
        return fn

    return mark


def register_notices(module: ModuleType) -> None:
    """Register the renderers and phone lookups an area's ``notices`` module marks. Called at
    start-up for every area, from one list (``booking.background.wiring``): notifications
    import no area. Registering again replaces."""
    for value in vars(module).values():
        if kind := getattr(value, "notice_kind", None):
            _RENDERERS[kind] = value
        if subject := getattr(value, "phone_subject", None):
            _PHONE_RESOLVERS[subject] = value
        if getattr(value, "is_due_source", False) and value not in _DUE_SOURCES:
            _DUE_SOURCES.append(value)


# Messages derived from a subject's facts when they fall due (an appointment's reminders),
# written into the outbox by the sweep: each source claims one batch in the session it is
# given (the sweep commits) and says how many subjects it claimed and which channels'
# messages it wrote as dropped.
DueSource = Callable[..., Awaitable[Any]]
_DUE_SOURCES: list[DueSource] = []


def due_source(fn: DueSource) -> DueSource:
    """Mark a function as a due source; ``register_notices`` registers it (with the notices
    module that names it)."""
    fn.is_due_source = True  # type: ignore[attr-defined]
    return fn


def due_sources() -> list[DueSource]:
    return list(_DUE_SOURCES)


def renderer_for(kind: str) -> Renderer | None:
    return _RENDERERS.get(kind)


def phone_resolver_for(subject_type: str) -> PhoneResolver | None:
    return _PHONE_RESOLVERS.get(subject_type)


def message_id(notification_id: uuid.UUID) -> str:
    """The dedupe key every e-mail carries: a redelivery is the same message to clients."""
    return f"<{notification_id}@booking.marriage-registry>"
