"""Form data checked against a step's JSON Schema, with field errors in Chinese first, then English.

A schema may give a field its own message with `"x-message": {"zh": "...", "en": "..."}`.
"""
from __future__ import annotations

from typing import Any, Mapping

from jsonschema import Draft202012Validator, FormatChecker
from jsonschema.exceptions import ValidationError

from .errors import InvalidInput

_FORMAT_CHECKER = FormatChecker()

_ID_WEIGHTS = [2 ** (17 - i) % 11 for i in range(17)]
_ID_CHECK = "10X98765432"


@_FORMAT_CHECKER.checks("cn-id-number")
def is_cn_id_number(value: object) -> bool:
    """A resident identity card number (GB 11643-1999): 17 digits with a valid birth date, then the
    ISO 7064 MOD 11-2 check character (0-9 or X)."""
    if not isinstance(value, str):
        return True  # the schema's "type" reports non-strings
    text = value.strip().upper()
    if len(text) != 18 or not text[:17].isdigit() or text[17] not in "0123456789X":
        return False
    try:
        from datetime import date
        born = date(int(text[6:10]), int(text[10:12]), int(text[12:14]))
    except ValueError:
        return False
    if born.year < 1900:
        return False
    return _ID_CHECK[sum(int(d) * w for d, w in zip(text[:17], _ID_WEIGHTS)) % 11] == text[17]
_validators: dict[int, tuple[Mapping, Draft202012Validator]] = {}

_TYPE_NAMES = {"string": ("文本", "text"), "integer": ("整数", "a whole number"), "number": ("数字", "a number"),
               "boolean": ("是/否", "true or false"), "array": ("列表", "a list"), "object": ("对象", "an object"),
               "null": ("空值", "null")}


def _type_name(t: Any) -> tuple[str, str]:
    names = [_TYPE_NAMES.get(x, (x, x)) for x in (t if isinstance(t, list) else [t])]
    return "或".join(n[0] for n in names), " or ".join(n[1] for n in names)


def _message(error: ValidationError) -> str:
    custom = error.schema.get("x-message") if isinstance(error.schema, dict) else None
    if isinstance(custom, dict) and error.validator not in ("required",):
        return f"{custom.get('zh', '')} / {custom.get('en', '')}".strip(" /")
    v, arg = error.validator, error.validator_value
    if v == "required":
        return "必填 / required"
    if v == "type":
        zh, en = _type_name(arg)
        return f"应为{zh} / must be {en}"
    if v == "enum":
        options = "、".join(str(x) for x in arg)
        return f"必须是以下之一：{options} / must be one of: {', '.join(str(x) for x in arg)}"
    if v == "const":
        return f"必须为 {arg} / must be {arg}"
    if v == "minLength":
        return "不能为空 / must not be empty" if arg == 1 else f"至少 {arg} 个字 / at least {arg} characters"
    if v == "maxLength":
        return f"最多 {arg} 个字 / at most {arg} characters"
    if v == "pattern":
        if arg == "\\S":
            return "不能只有空白 / must not be blank"
        return "格式不正确 / wrong format"
    if v == "format":
        return f"格式不正确（{arg}）/ not a valid {arg}"
    if v in ("minimum", "exclusiveMinimum"):
        return f"不能小于 {arg} / must be at least {arg}"
    if v in ("maximum", "exclusiveMaximum"):
        return f"不能大于 {arg} / must be at most {arg}"
    if v == "minItems":
        return f"至少需要 {arg} 项 / needs at least {arg} items"
    if v == "maxItems":
        return f"最多 {arg} 项 / at most {arg} items"
    if v == "minProperties":
        return f"至少给出 {arg} 项 / give at least {arg} field{'s' if arg != 1 else ''}"
    if v == "additionalProperties":
        return "包含未知字段 / contains unknown fields"
    return f"不符合要求 / invalid ({v})"


def _field(error: ValidationError) -> str:
    path = [str(p) for p in error.absolute_path]
    if error.validator == "required":
        missing = error.message.split("'")[1] if "'" in error.message else ""
        path.append(missing)
    elif error.validator == "additionalProperties":
        extra = sorted(set(error.instance) - set(error.schema.get("properties", {})))
        path.append(extra[0] if extra else "")
    return ".".join(p for p in path if p) or "_"


def field_errors(schema: Mapping[str, Any], data: Any) -> dict[str, str]:
    """Every field error of `data` against `schema`, first message per field."""
    cached = _validators.get(id(schema))
    if cached is None or cached[0] is not schema:  # keep the schema alive so its id is not reused
        cached = _validators[id(schema)] = (schema, Draft202012Validator(schema, format_checker=_FORMAT_CHECKER))
    validator = cached[1]
    errors: dict[str, str] = {}
    for error in sorted(validator.iter_errors(data), key=lambda e: [str(p) for p in e.absolute_path]):
        errors.setdefault(_field(error), _message(error))
    return errors


def validate_form(schema: Mapping[str, Any] | None, data: Any, *, form_title: str = "") -> None:
    """Raise InvalidInput naming each bad field; nothing has been changed when it raises."""
    if not isinstance(data, dict):
        raise InvalidInput("表单数据必须是 JSON 对象 / form data must be a JSON object", fields={"data": "应为对象 / must be an object"})
    if schema is None:
        return
    errors = field_errors(schema, data)
    if errors:
        label = f"“{form_title}”" if form_title else ""
        raise InvalidInput(f"表单{label}填写有误，请检查标出的字段 / the form has errors in the fields shown",
                           fields=errors)
