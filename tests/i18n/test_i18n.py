"""Locale negotiation and the completeness of the catalogs."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po

from booking.i18n import LOCALES_DIR, gettext, negotiate

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize(("header", "expected"), [
    (None, "zh_Hans_CN"),
    ("", "zh_Hans_CN"),
    ("zh-CN", "zh_Hans_CN"),
    ("zh-Hans-CN,zh;q=0.9", "zh_Hans_CN"),
    ("zh-TW", "zh_Hans_CN"),
    ("en", "en"),
    ("en-US,en;q=0.9,zh-CN;q=0.8", "en"),
    ("zh-CN;q=0.5, en;q=0.9", "en"),
    ("fr-FR, de;q=0.9", "zh_Hans_CN"),
    ("fr-FR, en;q=0.1", "en"),
    ("en;q=0", "zh_Hans_CN"),
    ("en;q=abc, zh", "zh_Hans_CN"),
])
def test_negotiate(header, expected):
    assert negotiate(header) == expected


def _code_messages() -> set[str]:
    """Every message in the code and in the pages' templates (extracted as ``make messages``
    does, with Babel's Jinja2 extractor for the templates)."""
    keywords = {"lazy": None, "N_": None, "invalid_value": None, "_t": None, "sms_text": None, "gettext": None,
                "_": None}
    found = set()
    for _filename, _lineno, message, _comments, _context in extract_from_dir(
        str(ROOT / "booking"), method_map=[("**.py", "python"), ("**/templates/**.html", "jinja2")],
        keywords=keywords
    ):
        found.add(message if isinstance(message, str) else message[0])
    return found


def test_the_templates_messages_are_extracted():
    """The extraction covers the pages: a message only a template uses is found."""
    assert "Skip to the content" in _code_messages()


def test_every_message_in_the_code_is_in_the_catalogs_and_translated():
    in_code = _code_messages()
    assert len(in_code) > 50
    with (LOCALES_DIR / "zh_Hans_CN" / "LC_MESSAGES" / "messages.po").open("rb") as fh:
        zh = {m.id: m for m in read_po(fh) if m.id}
    missing = sorted(in_code - set(zh))
    assert not missing, f"run `make messages` and translate: {missing}"
    untranslated = sorted(m for m in in_code if not zh[m].string or m == zh[m].string or zh[m].fuzzy)
    assert not untranslated, untranslated


def test_format_placeholders_survive_translation():
    with (LOCALES_DIR / "zh_Hans_CN" / "LC_MESSAGES" / "messages.po").open("rb") as fh:
        for message in read_po(fh):
            if message.id and isinstance(message.id, str):
                for placeholder in re.findall(r"\{\w+\}", message.id):
                    assert placeholder in message.string, (message.id, message.string)


def test_gettext_falls_back_to_the_message_id():
    assert gettext("The input is not valid.", "zh_Hans_CN") == "输入无效。"
    assert gettext("The input is not valid.", "en") == "The input is not valid."
    assert gettext("no such message", "zh_Hans_CN") == "no such message"
