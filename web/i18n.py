"""The pages' languages: 简体中文 by default, English from a catalogue.

Page text is written in Chinese and marked: `_("用户名")` in templates and page modules (a marked
string may have `{name}` fields: `_("您好，{name}", name=...)`), `N_("我的待办")` for text kept in a
table and translated when shown. `web/translations/en.json` (and `en/<area>.json`, one per page area)
maps each marked Chinese string to its English; tests/pages/test_translations.py fails on a marked string without an entry. A plain JSON
catalogue needs no compile step and no built files, and for two languages without plural forms that
matter on these pages it is all gettext would give us.

The engine's own messages are bilingual already ("中文 / English"): `localized()` picks the half.
"""
from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path
from urllib.parse import urlencode

from flask import g, has_request_context, request

DEFAULT_LANGUAGE = "zh"
LANGUAGES = ("zh", "en")
HTML_LANG = {"zh": "zh-CN", "en": "en"}
CATALOGUE = Path(__file__).parent / "translations" / "en.json"
AREA_CATALOGUES = Path(__file__).parent / "translations" / "en"  # one file per page area: en/<area>.json


@lru_cache(maxsize=None)
def english() -> dict[str, str]:
    found = json.loads(CATALOGUE.read_text(encoding="utf-8"))
    for path in sorted(AREA_CATALOGUES.glob("*.json")):
        found.update(json.loads(path.read_text(encoding="utf-8")))
    return found


def current_language() -> str:
    if has_request_context():
        return g.get("lang") or DEFAULT_LANGUAGE
    return DEFAULT_LANGUAGE


def gettext(text: str, **fields) -> str:
    """`text` (Chinese) in the page's language, with `{field}`s filled in."""
    if current_language() == "en":
        text = english().get(text, text)
    return text.format(**fields) if fields else text


_ = gettext


def N_(text: str) -> str:
    """Marks text for translation where it is defined; `_()` translates it where it is shown."""
    return text


def localized(message: str) -> str:
    """The half of a bilingual engine message ("中文 / English") in the page's language."""
    chinese, sep, english_text = message.partition(" / ")
    if not sep:
        return message
    return english_text if current_language() == "en" else chinese


def url_with(**changes: str) -> str:
    """This page's address with some query parameters set (the language and text-size links)."""
    args = request.args.to_dict(flat=False)
    for key, value in changes.items():
        args[key] = [value]
    return request.path + "?" + urlencode(args, doseq=True)


def template_helpers() -> dict:
    lang = current_language()
    return {"_": gettext, "lang": lang, "html_lang": HTML_LANG[lang], "localized": localized,
            "lang_url": lambda code: url_with(lang=code), "url_with": url_with}
