"""Translations and locale negotiation.

Catalogs live as ``.po`` files under ``locales/``; they are compiled in memory the first
time a locale is used (no stale ``.mo`` binaries in the repository). Mark strings with
``_()`` for immediate translation in a known locale, or ``lazy()`` for messages whose
locale is only known when they are rendered (error titles, notification texts).
"""

from __future__ import annotations

import gettext as _gettext
import io
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po

LOCALES_DIR = Path(__file__).parent / "locales"
DEFAULT_LOCALE = "zh_Hans_CN"


@cache
def translations(locale: str) -> _gettext.NullTranslations:
    po = LOCALES_DIR / locale / "LC_MESSAGES" / "messages.po"
    if not po.exists():
        return _gettext.NullTranslations()
    with po.open("rb") as fh:
        catalog = read_po(fh, locale=locale)
    buf = io.BytesIO()
    write_mo(buf, catalog)
    buf.seek(0)
    return _gettext.GNUTranslations(buf)


def load_catalogs() -> None:
    """Read every language's catalog now (at start-up): reading one parses its .po file,
    tens of milliseconds of CPU that the first request needing it (the release rush's
    first refusal) would otherwise pay while every other request waited."""
    for directory in LOCALES_DIR.iterdir():
        if directory.is_dir():
            translations(directory.name)


def gettext(message: str, locale: str) -> str:
    return translations(locale).gettext(message)


def format_message(message: str, locale: str, values: dict[str, Any]) -> str:
    """Translate ``message`` and fill in its ``{placeholders}`` (imported as ``_t``, an
    extraction keyword)."""
    return gettext(message, locale).format(**values)


def ngettext(singular: str, plural: str, n: int, locale: str) -> str:
    return translations(locale).ngettext(singular, plural, n)


@dataclass(frozen=True, slots=True)
class LazyText:
    """A message id (with format arguments) translated when rendered."""

    message: str
    args: tuple[tuple[str, Any], ...] = ()

    def render(self, locale: str) -> str:
        text = gettext(self.message, locale)
        return text.format(**dict(self.args)) if self.args else text

    def __str__(self) -> str:  # for logs: the message id, never personal data
        return self.message


def lazy(message: str, **kwargs: Any) -> LazyText:
    """Mark a message for translation at render time (extracted as a gettext keyword)."""
    return LazyText(message, tuple(kwargs.items()))


_ = gettext


def N_(message: str) -> str:  # noqa: N802 - the gettext convention
    """Mark a string for extraction only; it is translated later, where it is used."""
    return message


def negotiate(accept_language: str | None, default: str = DEFAULT_LOCALE) -> str:
    """Pick ``zh_Hans_CN`` or ``en`` from an Accept-Language header.

    Babel's ``Locale.negotiate`` matches strings, so ``zh-CN`` would not match
    ``zh_Hans_CN``; the tags are mapped here instead, honouring q-values.
    """
    if not accept_language:
        return default
    choices: list[tuple[float, int, str]] = []
    for index, part in enumerate(accept_language.split(",")):
        piece = part.strip()
        if not piece:
            continue
        tag, _sep, params = piece.partition(";")
        q = 1.0
        for param in params.split(";"):
            key, _eq, value = param.strip().partition("=")
            if key == "q":
                try:
                    q = float(value)
                except ValueError:
                    q = 0.0
        primary = tag.strip().lower().replace("_", "-").split("-")[0]
        locale = {"zh": "zh_Hans_CN", "en": "en"}.get(primary)
        if locale and q > 0:
            choices.append((-q, index, locale))
    if not choices:
        return default
    return sorted(choices)[0][2]


def babel_locale(locale: str) -> str:
    """The Babel locale identifier used for formatting dates and numbers."""
    return "zh_Hans_CN" if locale.startswith("zh") else "en"
