"""How wide a label is and where it breaks, without a font: CJK characters one em, Latin ones by a
table of widths, no line starting with closing punctuation or ending with opening punctuation
(web/pages/diagram.py lays its labels out with these)."""
from __future__ import annotations

import re
import unicodedata

FONT_SIZE = 12.0
LINE_HEIGHT = 1.3  # the MIIT guidance asks for at least 1.3


CLOSING = set("，。、？！：；）」』》】〉,.;:!?)]}%")
OPENING = set("（「『《【〈([{")


def _wide(ch: str) -> bool:
    return unicodedata.east_asian_width(ch) in ("W", "F")


def _char_em(ch: str) -> float:
    if _wide(ch):
        return 1.0
    if ch == " ":
        return 0.28
    if ch in "iljtfI.,;:!|'()[]/-":
        return 0.32
    if ch in "mwMW@":
        return 0.86
    if ch.isupper() or ch.isdigit():
        return 0.64
    return 0.55


def text_width(text: str, font_size: float = FONT_SIZE) -> float:
    """A generous estimate of the rendered width: the page's fonts are not known here."""
    return sum(_char_em(ch) for ch in text) * font_size


def _tokens(paragraph: str) -> list[list]:
    """Unbreakable pieces, each with whether a space precedes it. Chinese breaks between any two
    characters except before closing and after opening punctuation; other words break at spaces."""
    tokens: list[list] = []
    space = glue = False
    for ch in paragraph:
        if ch.isspace():
            space, glue = bool(tokens), False
            continue
        joins = tokens and not space and (
            glue or ch in CLOSING or (not _wide(ch) and not _wide(tokens[-1][0][-1])))
        if joins:
            tokens[-1][0] += ch
        else:
            tokens.append([ch, space])
        space, glue = False, ch in OPENING
    return tokens


# "中文 / English" is one name in two languages; "受理 / 转送" is one name with a slash in it.
BILINGUAL = re.compile(r"(?<=[^\x00-\x7f])\s*/\s*(?=[A-Za-z0-9(])")


def wrap_label(text: str, width: float, font_size: float = FONT_SIZE) -> list[str]:
    """Lines of `text` fitting `width`: Chinese wraps per character, other words at spaces, and a
    bilingual name "中文 / English" puts each language on a line of its own."""
    lines: list[str] = []

    def push(line: str) -> None:
        while len(line) > 1 and text_width(line, font_size) > width:  # one word wider than the box
            cut = len(line) - 1
            while cut > 1 and text_width(line[:cut], font_size) > width:
                cut -= 1
            lines.append(line[:cut])
            line = line[cut:]
        lines.append(line)

    paragraphs = [p.strip() for chunk in text.replace("\r", "").split("\n") for p in BILINGUAL.split(chunk)]
    for paragraph in filter(None, paragraphs):
        line = ""
        for token, space in _tokens(paragraph):
            candidate = f"{line} {token}" if line and space else line + token
            if not line or text_width(candidate, font_size) <= width:
                line = candidate
            else:
                push(line)
                line = token
        push(line)
    return lines
