"""A step's form as HTML from its JSON Schema, and the posted form read back into JSON data.

Naming: a field's input name is its schema path joined with "-" after `prefix` (`summary`,
`checklist-agreement`, `parties-0-name`, `mediators-1`); its id is "f-" + that name. Errors are
keyed by the same path joined with "." (`parties.0.name`), as `engine.forms.validate_form` reports
them, so the engine's messages land beside the right field. Adding and removing rows of a list
are submit buttons (`_add` = list name, `_remove` = list name + "-" + index): no JavaScript.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Mapping

from markupsafe import Markup, escape
from werkzeug.datastructures import MultiDict

__all__ = ["FormReading", "field_error_summary", "read_form", "render_fields"]

_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_]*\Z")  # keeps "-" free to separate path segments
_TEXTY = re.compile(r"(summary|notes?|reason|.+_text)\Z")
_PHONE_PATTERN = re.compile(r"[\^$()|\\d0-9\[\]{},?+*\-]+")
_CJK = "\u3000-\u303f\u3400-\u9fff\uff00-\uffef"
_BILINGUAL = re.compile(rf"(.*?[{_CJK}].*?)\s*/\s*([^{_CJK}]+)", re.S)
_INTEGER = re.compile(r"[+-]?\d+")
_NUMBER = re.compile(r"[+-]?(\d+(\.\d*)?|\.\d+)")
_INPUT_TYPES = {"date": "date", "email": "email"}
_MAX_RADIOS = 6
_MISSING: Any = object()

_WORDS = {
    "zh": {"choose": "请选择", "error": "错误：", "add": "添加{}", "remove": "删除{}",
           "sep": "：", "or": "或", "when": "{}时填写", "when_filled": "填写“{}”时须填写",
           "and": "；"},
    "en": {"choose": "Choose…", "error": "Error: ", "add": "Add another {}", "remove": "Remove {}",
           "sep": ": ", "or": " or ", "when": "fill in when {}", "when_filled": "fill in when “{}” is filled in",
           "and": "; "},
}
INTEGER_ERROR = "请填写整数 / enter a whole number"
NUMBER_ERROR = "请填写数字 / enter a number"


@dataclass
class FormReading:
    """`data` for the engine, `raw` to redisplay (give it to render_fields as `values`), the
    conversion `errors` by dotted path, and `action` ("add:parties", "remove:parties-1") when
    an add/remove button was pressed rather than the form submitted (then `errors` is empty:
    nothing was submitted, and `raw` keeps blank rows so the page looks as it did)."""
    data: dict
    raw: dict
    errors: dict[str, str] = field(default_factory=dict)
    action: str | None = None


# --- words -------------------------------------------------------------------------------------

def _lang(lang: str) -> str:
    return "en" if lang == "en" else "zh"


def _say(text: str, lang: str) -> str:
    """The page's half of a "中文 / English" text (the engine's and the schemas' convention)."""
    m = _BILINGUAL.fullmatch(text)
    return text if not m else m.group(2 if lang == "en" else 1).strip()


def _title(schema: Mapping, lang: str, fallback: str) -> str:
    zh, en = schema.get("title"), schema.get("x-title-en")
    return ((en or zh) if lang == "en" else (zh or en)) or fallback


def _item_title(array: Mapping, lang: str, fallback: str) -> str:
    return _title(array.get("items", {}), lang, "") or _title(array, lang, fallback)


def _choice_title(schema: Mapping, code: Any, lang: str) -> str:
    zh = schema.get("x-enum-titles", {}).get(str(code))
    en = schema.get("x-enum-titles-en", {}).get(str(code))
    if lang == "en":
        # No schema has English option titles yet: the Chinese title keeps the page matching
        # the printed documents, the code gives an English reader something to go on.
        return en or (f"{zh} ({code})" if zh else str(code))
    return zh or en or str(code)


def _lower_first(text: str) -> str:
    return text[:1].lower() + text[1:] if text[1:2].islower() else text


# --- schema --------------------------------------------------------------------------------------

def _kind(schema: Mapping) -> str:
    t = schema.get("type")
    if isinstance(t, list):
        t = next((x for x in t if x != "null"), None)
    return t or ("object" if "properties" in schema else "string")


def _properties(schema: Mapping) -> Mapping[str, Mapping]:
    props = schema.get("properties", {})
    for name in props:
        if not _NAME.match(name):
            raise ValueError(f"form field name {name!r} does not fit the input naming scheme")
    return props


def _conditions(schema: Mapping, lang: str) -> dict[str, str]:
    """Per property, when the schema's if/then or dependentRequired rules make it needed, in words."""
    props, w = _properties(schema), _WORDS[lang]
    when: dict[str, dict[str, list]] = {}
    for rule in [schema, *schema.get("allOf", ())]:
        test, then = rule.get("if"), rule.get("then")
        if not (isinstance(test, Mapping) and isinstance(then, Mapping)):
            continue
        tested = test.get("properties", {})
        if len(tested) != 1:  # only "field is one of these values" can be said simply
            continue
        (name, check), = tested.items()
        values = [check["const"]] if "const" in check else list(check.get("enum", ()))
        for prop in then.get("required", ()):
            when.setdefault(prop, {}).setdefault(name, []).extend(values)
    words: dict[str, list[str]] = {}
    for prop, by_field in when.items():
        for name, values in by_field.items():
            controlling = props.get(name, {})
            titles = [_choice_title(controlling, v, lang) for v in values]
            if lang == "en":
                said = f"“{_title(controlling, lang, name)}” is " + w["or"].join(f"“{t}”" for t in titles)
            else:
                said = w["or"].join(titles)
            words.setdefault(prop, []).append(w["when"].format(said))
    for name, needed in schema.get("dependentRequired", {}).items():
        for prop in needed:
            words.setdefault(prop, []).append(w["when_filled"].format(_title(props.get(name, {}), lang, name)))
    return {prop: w["and"].join(said) for prop, said in words.items()}


# --- HTML ----------------------------------------------------------------------------------------

def _tag(tag: str, attrs: Mapping[str, Any], content: Any = None) -> Markup:
    parts = [Markup(" {}").format(k) if v is True else Markup(' {}="{}"').format(k, v)
             for k, v in attrs.items() if v is not None and v is not False]
    opening = Markup("<{}{}>").format(tag, Markup("").join(parts))
    if tag == "input":
        return opening
    return opening + escape(content if content is not None else "") + Markup("</{}>").format(tag)


def _join(parts) -> Markup:
    return Markup("").join(p for p in parts if p)


def _text(value: Any) -> str:
    if value is None or value is _MISSING:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _get(values: Any, key: Any) -> Any:
    if isinstance(values, Mapping):
        return values.get(key)
    if isinstance(values, list) and isinstance(key, int) and key < len(values):
        return values[key]
    return None


class _Renderer:
    def __init__(self, lang, errors, prefix, options):
        self.lang, self.words = lang, _WORDS[lang]
        self.errors, self.prefix, self.options = errors, prefix, options

    def name(self, path) -> str:
        return self.prefix + "-".join(path)

    def object(self, schema, values, path) -> Markup:
        conditions = _conditions(schema, self.lang)
        return _join(self.field(sub, _get(values, prop), (*path, prop), conditions.get(prop))
                     for prop, sub in _properties(schema).items())

    def field(self, schema, value, path, condition=None, label=None) -> Markup:
        kind = _kind(schema)
        if kind == "object":
            return self.group(schema, value, path, condition)
        if kind == "array":
            return self.array(schema, value, path, condition)
        return self.scalar(schema, value, path, condition, label)

    def notes(self, schema, path, condition):
        """Hint, condition and error paragraphs, the ids they go by, and whether there is an error."""
        ident, key = "f-" + self.name(path), ".".join(path)
        parts, ids = [], []
        if schema.get("description"):
            ids.append(ident + "-hint")
            parts.append(_tag("p", {"class": "hint", "id": ids[-1]}, _say(schema["description"], self.lang)))
        if condition:
            ids.append(ident + "-when")
            parts.append(_tag("p", {"class": "hint condition", "id": ids[-1]}, condition))
        message = self.errors.get(key)
        if message:
            ids.append(ident + "-error")
            parts.append(Markup('<p class="error-message" id="{}"><span class="visually-hidden">{}</span>{}</p>')
                         .format(ids[-1], self.words["error"], _say(message, self.lang)))
        return _join(parts), " ".join(ids) or None, bool(message)

    def wrap(self, inner, invalid, extra="") -> Markup:
        classes = " ".join(c for c in ("field", extra, "field-error" if invalid else "") if c)
        return _tag("div", {"class": classes}, inner)

    def choices(self, schema, path):
        given = self.options.get(".".join(p for p in path if not p.isdigit()))
        if given is not None:
            return [(str(code), str(title)) for code, title in given], True
        if "enum" in schema:
            return [(_text(code), _choice_title(schema, code, self.lang)) for code in schema["enum"]], False
        return None, False

    def scalar(self, schema, value, path, condition, label) -> Markup:
        name = self.name(path)
        ident, title = "f-" + name, label or _title(schema, self.lang, path[-1])
        notes, described, invalid = self.notes(schema, path, condition)
        aria = {"aria-describedby": described, "aria-invalid": "true" if invalid else None}
        kind, current = _kind(schema), _text(value)
        choices, from_options = self.choices(schema, path)
        if kind == "boolean" and not choices:
            # The hidden "false" comes first so an unticked box still says "false", not "missing".
            box = _tag("input", {"type": "hidden", "name": name, "value": "false"}) + _tag(
                "input", {"type": "checkbox", "id": ident, "name": name, "value": "true",
                          "checked": value is True or current == "true", **aria})
            return self.wrap(_join([box, _tag("label", {"for": ident}, title), notes]), invalid, "checkbox")
        if choices and (from_options or len(choices) > _MAX_RADIOS):
            if current and current not in {code for code, _ in choices}:
                choices = [*choices, (current, current)]  # keep a value that is not on the list any more
            opts = [_tag("option", {"value": ""}, self.words["choose"])] + [
                _tag("option", {"value": code, "selected": code == current}, text) for code, text in choices]
            control = _tag("select", {"id": ident, "name": name, **aria}, _join(opts))
            return self.wrap(_join([_tag("label", {"for": ident}, title), notes, control]), invalid)
        if choices:
            # GOV.UK: the first radio carries the field's id, so the error summary can link to it.
            radios = [_tag("div", {"class": "radio"}, _join([
                _tag("input", {"type": "radio", "id": rid, "name": name, "value": code,
                               "checked": code == current, "aria-invalid": aria["aria-invalid"]}),
                _tag("label", {"for": rid}, text)]))
                for i, (code, text) in enumerate(choices) for rid in [ident if i == 0 else f"{ident}-{i + 1}"]]
            fieldset = _tag("fieldset", {"class": "radios", "aria-describedby": described},
                            _join([_tag("legend", {}, title), notes, *radios]))
            return self.wrap(fieldset, invalid)
        attrs: dict[str, Any] = {"id": ident, "name": name}
        if kind in ("integer", "number"):
            attrs.update(type="number", inputmode="numeric" if kind == "integer" else "decimal",
                         step=None if kind == "integer" else "any",
                         min=schema.get("minimum"), max=schema.get("maximum"))
        longest = schema.get("maxLength")
        if kind not in ("integer", "number"):
            if (longest or 0) > 200 or (longest is None and _TEXTY.match(path[-1])):
                control = _tag("textarea", {**attrs, "rows": 5, "maxlength": longest, **aria}, current)
                return self.wrap(_join([_tag("label", {"for": ident}, title), notes, control]), invalid)
            attrs.update(type=_INPUT_TYPES.get(schema.get("format"), "text"), maxlength=longest)
            if _PHONE_PATTERN.fullmatch(schema.get("pattern", "x")) and "\\d" in schema["pattern"]:
                attrs.update(type="tel", inputmode="tel")
        control = _tag("input", {**attrs, "value": current, **aria})
        return self.wrap(_join([_tag("label", {"for": ident}, title), notes, control]), invalid)

    def group(self, schema, values, path, condition) -> Markup:
        notes, described, invalid = self.notes(schema, path, condition)
        inner = _join([_tag("legend", {}, _title(schema, self.lang, path[-1])), notes,
                       self.object(schema, values, path)])
        return self.wrap(_tag("fieldset", {"class": "group", "id": "f-" + self.name(path),
                                           "aria-describedby": described}, inner), invalid)

    def array(self, schema, values, path, condition) -> Markup:
        items = schema.get("items", {})
        entries = list(values) if isinstance(values, (list, tuple)) else []
        notes, described, invalid = self.notes(schema, path, condition)
        name, item_title = self.name(path), _item_title(schema, self.lang, path[-1])
        most = schema.get("maxItems", float("inf"))
        parts = [_tag("legend", {}, _title(schema, self.lang, path[-1])), notes]
        if _kind(items) == "object":
            for i in range(max(len(entries), schema.get("minItems", 0))):
                row_path, row_title = (*path, str(i)), f"{item_title} {i + 1}"
                row_notes, row_described, _ = self.notes({}, row_path, None)
                remove = _tag("button", {"type": "submit", "class": "button secondary", "name": "_remove",
                                         "value": f"{name}-{i}", "formnovalidate": True},
                              self.words["remove"].format(_lower_first(row_title) if self.lang == "en" else row_title))
                parts.append(_tag("fieldset", {"class": "group item", "id": "f-" + self.name(row_path),
                                               "aria-describedby": row_described},
                                  _join([_tag("legend", {}, row_title), row_notes,
                                         self.object(items, _get(entries, i), row_path), remove])))
        else:
            shown = entries + ([""] if len(entries) < most else [])  # always room for one more
            parts += [self.field(items, v, (*path, str(i)), label=f"{item_title} {i + 1}")
                      for i, v in enumerate(shown)]
        if len(entries) < most:
            what = _lower_first(item_title) if self.lang == "en" else item_title
            parts.append(_tag("button", {"type": "submit", "class": "button secondary add", "name": "_add",
                                         "value": name, "formnovalidate": True}, self.words["add"].format(what)))
        return self.wrap(_tag("fieldset", {"class": "group repeat", "id": "f-" + name,
                                           "aria-describedby": described}, _join(parts)), invalid)


def _has_list(schema: Mapping) -> bool:
    if _kind(schema) == "array":
        return True
    return any(_has_list(sub) for sub in schema.get("properties", {}).values())


def render_fields(schema: dict, values: Mapping | None = None, errors: Mapping[str, str] | None = None,
                  *, lang: str = "zh", prefix: str = "",
                  options: Mapping[str, list[tuple[str, str]]] | None = None) -> Markup:
    """The fields of `schema` as HTML (the page supplies <form>, the CSRF token and 提交).

    `values` is what to show (a FormReading.raw, or the JSON data on first display); `errors`
    are messages by dotted path; `options` turns a field (dotted path without list indices,
    e.g. "parties.residence_org") into a <select> of (code, title)."""
    renderer = _Renderer(_lang(lang), errors or {}, prefix, options or {})
    html = renderer.object(schema, values or {}, ())
    if _has_list(schema):
        # Enter in a text box clicks the form's first submit button; without this one that would
        # be "remove 当事人 1". Hidden, it gives Enter an ordinary submit instead.
        html = Markup('<button type="submit" hidden></button>') + html
    return html


# --- reading -------------------------------------------------------------------------------------

def _blank(raw: Any) -> bool:
    if isinstance(raw, Mapping):
        return all(_blank(v) for v in raw.values())
    if isinstance(raw, list):
        return all(_blank(v) for v in raw)
    return raw is _MISSING or raw is False or raw == ""


def _under(key: str, errors: Mapping[str, str]) -> dict[str, str]:
    return {f"{key}.{k}" if k else key: v for k, v in errors.items()}


class _Reader:
    def __init__(self, form: MultiDict, prefix: str, add: str | None, remove: str | None):
        self.form, self.prefix, self.add, self.remove = form, prefix, add, remove

    def value(self, schema, path):
        """(data or _MISSING, raw or _MISSING, errors by path relative to this field)."""
        kind = _kind(schema)
        if kind == "object":
            return self.object(schema, path)
        if kind == "array":
            return self.array(schema, path)
        return self.scalar(schema, path)

    def object(self, schema, path):
        data, raw, errors = {}, {}, {}
        for prop, sub in _properties(schema).items():
            d, r, e = self.value(sub, (*path, prop))
            if d is not _MISSING:
                data[prop] = d
            if r is not _MISSING and r != [] and r != {}:
                raw[prop] = r
            errors.update(_under(prop, e))
        return (data if data or not path else _MISSING), raw, errors

    def array(self, schema, path):
        name = self.prefix + "-".join(path)
        found = re.compile(re.escape(name) + r"-(\d+)(?:-|\Z)")
        indices = sorted({int(m.group(1)) for key in self.form.keys() if (m := found.match(key))})
        items, is_rows = schema.get("items", {}), _kind(schema.get("items", {})) == "object"
        rows = [self.value(items, (*path, str(i))) for i in indices if f"{name}-{i}" != self.remove]
        kept = [row for row in rows if not _blank(row[1])]
        data = [d if d is not _MISSING else {} for d, _, _ in kept]
        errors = {k: v for j, (_, _, e) in enumerate(kept) for k, v in _under(str(j), e).items()}
        if self.add is None and self.remove is None:
            # Indices of the redisplay match those of `data`, so the engine's "parties.1.phone" fits.
            raw = [r for _, r, _ in kept]
        else:
            # Not a submission: redisplay every row as it was, blank ones too, plus the new one.
            raw = [({} if is_rows else "") if r is _MISSING else r for _, r, _ in rows]
            if self.add == name and is_rows:
                raw.append({})  # a list of plain values always shows one empty input anyway
        return (data or _MISSING), raw, errors

    def scalar(self, schema, path):
        name = self.prefix + "-".join(path)
        kind = _kind(schema)
        if kind == "boolean" and "enum" not in schema:
            posted = self.form.getlist(name)
            return ("true" in posted, "true" in posted, {}) if posted else (_MISSING, _MISSING, {})
        text = self.form.get(name)
        text = "" if text is None else text.replace("\r\n", "\n").strip()
        if not text:
            return _MISSING, _MISSING, {}
        for code in schema.get("enum", ()):
            if _text(code) == text:
                return code, text, {}
        if kind == "integer":
            if not _INTEGER.fullmatch(text):
                return _MISSING, text, {"": INTEGER_ERROR}
            return int(text), text, {}
        if kind == "number":
            if not _NUMBER.fullmatch(text):
                return _MISSING, text, {"": NUMBER_ERROR}
            return (float(text) if "." in text else int(text)), text, {}
        return text, text, {}


def _pressed(form: MultiDict, button: str, prefix: str) -> str | None:
    value = form.get(button) or ""
    return value if value.startswith(prefix) and len(value) > len(prefix) else None


def read_form(schema: dict, form: MultiDict, *, prefix: str = "") -> FormReading:
    """The posted `form` as the JSON data `schema` describes; see FormReading."""
    add = _pressed(form, "_add", prefix)
    remove = None if add else _pressed(form, "_remove", prefix)
    data, raw, errors = _Reader(form, prefix, add, remove).object(schema, ())
    if add or remove:
        action = f"add:{add[len(prefix):]}" if add else f"remove:{remove[len(prefix):]}"
        return FormReading(data, raw, {}, action)
    return FormReading(data, raw, errors, None)


def field_error_summary(errors: Mapping[str, str], schema: dict, lang: str = "zh", *,
                        prefix: str = "") -> list[tuple[str, str, str]]:
    """(field id for the "#" link, field title, message) per error, in the order of the form.

    A key that names no field (the engine's "_", say) links to the nearest field it is under,
    or gets an empty id when it is under none."""
    lang = _lang(lang)
    rows = []
    for key, message in errors.items():
        node, segments, titles, rank = schema, [], [], []
        for seg in key.split("."):
            props = node.get("properties", {}) if _kind(node) == "object" else {}
            if seg in props:
                node = props[seg]
                titles.append(_title(node, lang, seg))
                rank.append(list(props).index(seg))
            elif _kind(node) == "array" and seg.isdigit():
                titles[-1] = f"{_item_title(node, lang, segments[-1])} {int(seg) + 1}"
                node = node.get("items", {})
                rank.append(int(seg))
            else:
                rank.append(10 ** 6)
                break
            segments.append(seg)
        ident = "f-" + prefix + "-".join(segments) if segments else ""
        rows.append((rank, (ident, _WORDS[lang]["sep"].join(titles), _say(message, lang))))
    return [row for _, row in sorted(rows, key=lambda r: r[0])]
