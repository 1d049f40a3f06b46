"""Every text a page shows in Chinese has its English: the catalogue web/translations/en.json covers
each string marked with _("…") or N_("…") in the templates and page modules."""
from __future__ import annotations

import json
import re
from pathlib import Path

WEB = Path(__file__).resolve().parents[2] / "web"
MARKED = re.compile(r"""(?<![\w.])N?_\(\s*(["'])((?:\\.|(?!\1).)*?)\1""")
FIELD = re.compile(r"\{(\w*)\}")


def marked_strings() -> dict[str, str]:
    """Each marked string, with the first file that marks it."""
    sources = sorted(WEB.glob("templates/**/*.html")) + sorted(WEB.glob("pages/**/*.py"))
    found: dict[str, str] = {}
    for path in sources:
        for match in MARKED.finditer(path.read_text(encoding="utf-8")):
            found.setdefault(match.group(2), str(path.relative_to(WEB)))
    return found


def catalogue() -> dict[str, str]:
    """en.json and the page areas' en/<area>.json, as the pages read them."""
    from web.i18n import english
    english.cache_clear()
    found = json.loads((WEB / "translations" / "en.json").read_text(encoding="utf-8"))
    for path in sorted((WEB / "translations" / "en").glob("*.json")):
        found.update(json.loads(path.read_text(encoding="utf-8")))
    assert found == english()
    return found


def test_every_marked_text_has_an_english_translation():
    english = catalogue()
    missing = {text: where for text, where in marked_strings().items() if not english.get(text, "").strip()}
    assert not missing, "add these to web/translations/en.json:\n" + "\n".join(
        f"  {text!r}  ({where})" for text, where in missing.items()) + "\n(or to web/translations/en/<area>.json)"


def test_a_translation_fills_in_the_same_fields_and_is_english():
    for chinese, english in catalogue().items():
        assert sorted(FIELD.findall(chinese)) == sorted(FIELD.findall(english)), chinese
        assert not re.search(r"[\u4e00-\u9fff]", english), (chinese, english)


def test_the_catalogue_has_no_entries_that_no_page_uses():
    unused = set(catalogue()) - set(marked_strings())
    assert not unused, f"remove from web/translations/en.json (no page marks them): {sorted(unused)}"


def test_the_pages_show_english_from_the_catalogue():
    from flask import Flask, g

    from web.i18n import _, localized
    with Flask(__name__).test_request_context("/"):
        assert _("用户名") == "用户名"
        g.lang = "en"
        assert _("用户名") == "Username"
        assert _("您好，{name}", name="<b>") == "Hello, <b>"  # Jinja escapes it where it is shown
        assert localized("案件不存在 / no such case") == "no such case"
