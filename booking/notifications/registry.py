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
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from booking.db.models import Notification
from booking.i18n import format_message
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
    names = [name for _text, name, _spec, _conv in string.Formatter().parse(message) if name]
    return SmsText(format_message(message, locale, dict(facts)), {name: str(facts[name]) for name in names})


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
_RENDERERS: dict[str, Renderer] = {}


def notice(kind: str) -> Callable[[Renderer], Renderer]:
    def register(fn: Renderer) -> Renderer:
        _RENDERERS[kind] = fn
        return fn

    return register


# Messages derived from a subject's facts when they fall due (an appointment's reminders),
# written into the outbox by the sweep: each source claims one batch in the session it is
# given (the sweep commits) and says how many subjects it claimed and which channels'
# messages it wrote as dropped.
DueSource = Callable[..., Awaitable[Any]]
_DUE_SOURCES: list[DueSource] = []


def due_source(fn: DueSource) -> DueSource:
    _DUE_SOURCES.append(fn)
    return fn


def due_sources() -> list[DueSource]:
    load_renderers()
    return list(_DUE_SOURCES)


def renderer_for(kind: str) -> Renderer | None:
    load_renderers()
    return _RENDERERS.get(kind)


def load_renderers() -> None:
    """Import every area's notices module (each registers its kinds)."""
    import booking.applications.notices  # noqa: F401
    import booking.appointments.notices  # noqa: F401
    import booking.ballots.notices  # noqa: F401
    import booking.divorce.notices  # noqa: F401
    import booking.events.notices  # noqa: F401


async def office_for(ctx: RenderContext, office_id: int) -> Any:
    """The office of a notice's subject (the shared lookup, in the render's transaction)."""
    from booking.errors import NotFound
    from booking.offices.directory import office_of

    try:
        return await office_of(ctx.rt, office_id, ctx.session)
    except NotFound:
        raise SubjectGone("office gone") from None


def message_id(notification_id: uuid.UUID) -> str:
    """The dedupe key every e-mail carries: a redelivery is the same message to clients."""
    return f"<{notification_id}@booking.marriage-registry>"
