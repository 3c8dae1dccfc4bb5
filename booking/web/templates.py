"""The Jinja2 environment of the pages: translations and Babel formatting in the page's
language (the template context carries ``locale``), and the static asset URLs.

Templates write ``{{ _("Text") }}`` (and ``_("{n} left").format(n=...)`` for values): the
same gettext catalogs as the API's messages, extracted by ``make messages`` through Babel's
Jinja2 extractor. Autoescaping is on, so translated text and values are escaped alike.
"""

from __future__ import annotations

import hashlib
from datetime import date, datetime
from functools import cache
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from babel.dates import format_date as babel_date
from babel.dates import format_skeleton, get_day_names
from babel.numbers import format_decimal
from jinja2 import Environment, FileSystemLoader, pass_context
from jinja2.runtime import Context
from litestar.plugins.jinja import JinjaTemplateEngine
from litestar.template.config import TemplateConfig

from booking.i18n import LazyText, babel_locale, gettext, ngettext
from booking.i18n.formatting import format_time, format_when
from booking.kernel.catalog import service_title
from booking.kernel.codes import display_code
from booking.kernel.regions import PROVINCES, province_name
from booking.web import labels

HERE = Path(__file__).parent
TEMPLATES = HERE / "templates"
STATIC = HERE / "static"
# Vendored, pinned assets (name carries the version: cached for a year by browsers)
HTMX = "vendor/htmx-2.0.11.min.js"


@pass_context
def _gettext(ctx: Context, message: str) -> str:
    return gettext(message, ctx["locale"])


@pass_context
def _ngettext(ctx: Context, singular: str, plural: str, n: int) -> str:
    return ngettext(singular, plural, n, ctx["locale"])


@pass_context
def _translate(ctx: Context, text: LazyText | str | None) -> str:
    """A message made in Python (a problem's title, a label): rendered in the page's language."""
    if text is None:
        return ""
    return text.render(ctx["locale"]) if isinstance(text, LazyText) else str(text)


def _moment(value: datetime | str) -> datetime:
    return datetime.fromisoformat(value) if isinstance(value, str) else value


@pass_context
def _when(ctx: Context, value: datetime | str, tz: str) -> str:
    """``2026年9月14日星期一 09:00`` / ``Monday, September 14, 2026 9:00 AM``."""
    return format_when(_moment(value), tz, ctx["locale"])


@pass_context
def _hm(ctx: Context, value: datetime | str, tz: str) -> str:
    return format_time(_moment(value), tz, ctx["locale"])


@pass_context
def _day(ctx: Context, value: date | datetime | str, tz: str | None = None, fmt: str = "MMMEd") -> str:
    """A short day (``9月14日周一`` / ``Mon, Sep 14``), in ``tz`` when given a moment."""
    if isinstance(value, str):
        value = datetime.fromisoformat(value) if "T" in value else date.fromisoformat(value)
    if isinstance(value, datetime):
        value = value.astimezone(ZoneInfo(tz)).date() if tz else value.date()
    if fmt in ("full", "long", "medium", "short"):
        return babel_date(value, format=fmt, locale=babel_locale(ctx["locale"]))
    return format_skeleton(fmt, value, locale=babel_locale(ctx["locale"]))


@pass_context
def _number(ctx: Context, value: Any) -> str:
    return format_decimal(value, locale=babel_locale(ctx["locale"]))


@pass_context
def _service(ctx: Context, service: str) -> str:
    return service_title(service, ctx["locale"])


@pass_context
def _province(ctx: Context, code: str | None) -> str:
    return province_name(code, ctx["locale"]) if code else ""


@pass_context
def _provinces(ctx: Context) -> list[tuple[str, str]]:
    return [(code, province_name(code, ctx["locale"])) for code in PROVINCES]


@pass_context
def _weekday_name(ctx: Context, iso_weekday: int) -> str:
    return get_day_names("wide", locale=babel_locale(ctx["locale"]))[iso_weekday - 1]


@pass_context
def _relative(ctx: Context, moment: datetime, today: date, tz: str) -> str:
    """``today at 08:30``, ``tomorrow at 08:30`` or ``Mon, Sep 14 at 08:30``, in ``tz``."""
    local = moment.astimezone(ZoneInfo(tz))
    locale = ctx["locale"]
    time_text = format_time(moment, tz, locale)
    days = (local.date() - today).days
    if days == 0:
        return gettext("today at {time}", locale).format(time=time_text)
    if days == 1:
        return gettext("tomorrow at {time}", locale).format(time=time_text)
    day = format_skeleton("MMMEd", local.date(), locale=babel_locale(locale))
    return gettext("{day} at {time}", locale).format(day=day, time=time_text)


@cache
def _static(name: str) -> str:
    """The asset's URL with a digest of its content: a changed file gets a new URL."""
    digest = hashlib.sha256((STATIC / name).read_bytes()).hexdigest()[:10]
    return f"/static/{name}?v={digest}"


def _field_id(name: str) -> str:
    """An element id for a form field named by its JSON path (``parties.0.name``)."""
    return "f-" + name.replace(".", "-")


def environment() -> Environment:
    env = Environment(loader=FileSystemLoader(TEMPLATES), autoescape=True, trim_blocks=True, lstrip_blocks=True,
                      auto_reload=False)
    env.globals.update(_=_gettext, gettext=_gettext, ngettext=_ngettext, static=_static, htmx_js=_static(HTMX),
                       provinces=_provinces, field_id=_field_id, weekday_name=_weekday_name, relative=_relative,
                       label=labels.label, STATUS=labels.STATUS, BALLOT_STATE=labels.BALLOT_STATE,
                       EVENT_KIND=labels.EVENT_KIND, ID_TYPE=labels.ID_TYPE, SEX=labels.SEX,
                       DIVORCE_STATE=labels.DIVORCE_STATE, DIVORCE_NEXT=labels.DIVORCE_NEXT, DOCUMENT=labels.DOCUMENT,
                       DAY_STATUS=labels.DAY_STATUS, CLOSED_REASON=labels.CLOSED_REASON)
    env.filters.update(code=display_code, t=_translate, when=_when, hm=_hm, day=_day, number=_number, service=_service,
                       province=_province)
    return env


def template_config() -> TemplateConfig[JinjaTemplateEngine]:
    return TemplateConfig(instance=JinjaTemplateEngine.from_environment(environment()))


def static_url(name: str) -> str:
    """An asset's URL under /static with its content digest (the docs page at /schema uses it)."""
    return _static(name)
