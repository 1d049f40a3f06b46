"""Step forms drawn from their JSON Schema and read back (web.pages.forms), posted the way a browser would."""
from __future__ import annotations

import json
import re
from html.parser import HTMLParser
from pathlib import Path

import pytest
from werkzeug.datastructures import MultiDict

from engine.errors import InvalidInput
from engine.forms import validate_form
from web.pages.forms import field_error_summary, read_form, render_fields

FORMS = Path(__file__).resolve().parents[2] / "bpmn" / "forms"
FORM_FILES = sorted(FORMS.glob("*/*.json"))


def schema(name: str) -> dict:
    return json.loads((FORMS / f"{name}.json").read_text(encoding="utf-8"))


# The people of tests/mediation/conftest.py and tests/petition/conftest.py (valid ID check digits).
ZHANG_SAN = {"side": "applicant", "name": "张三", "id_number": "11010519491231002X", "phone": "13800138000",
             "household_address": "东镇柳村3组", "residence_org": "dz-lc"}
LI_SI = {"side": "respondent", "name": "李四", "phone": "13900139000", "household_address": "东镇柳村3组",
         "residence_org": "dz-lc"}
WANG_WU = {"name": "王五", "id_number": "11010519491231002X", "phone": "13800138000", "address": "东镇柳村3组"}
ZHAO_LIU = {"name": "赵六", "id_number": "320582198001011231", "phone": "13912345678", "address": "东镇石桥村1组"}

DISPUTE = {"parties": [ZHANG_SAN, LI_SI], "category": "neighbour", "summary": "排水沟堵塞引发邻里纠纷",
           "source": "party_application", "risk_level": "green"}
PETITION = {"petitioners": [WANG_WU], "residence_org": "dz-lc", "channel": "visit", "kind": "complaint_request",
            "category": "land_forest", "respondent_unit": "dz",
            "summary": "对东镇土地承包经营权调整决定不服，要求重新核定承包面积", "people_count": 1}

# Valid data for every bundled form, every field filled where that can be (an unticked box reads as
# false, so the booleans are all given).
SAMPLES = {
    "mediation/archive": {"checklist": {"registration_form": True, "rights_notice": True, "identity_proof": True,
                                        "mediation_record": True, "agreement": True, "followup_record": False,
                                        "evidence": True, "investigation_record": False, "power_of_attorney": False,
                                        "performance_proof": True, "judicial_confirmation_papers": False},
                          "missing_reason": "当事人外出务工，回访记录待补"},
    "mediation/followup": {"performance": "partial", "satisfaction": 4, "notes": "已付一半\n余款约定月底付清"},
    "mediation/judicial_confirmation": {"applied": True, "court": "青禾县人民法院"},
    "mediation/mediate": {"result": "agreement", "agreement_form": "written", "agreement_text": "李四疏通排水沟并赔偿 200 元",
                          "difficulty": "general", "mediators": ["vmed1", "tmed1"], "parties_request_court": False,
                          "notes": "双方当面确认"},
    "mediation/message_court_confirmation": {"result": "confirmed", "reference": "（2026）青0102民特12号"},
    "mediation/message_court_result": {"outcome": "judgment", "reference": "（2026）青0102民初88号"},
    "mediation/message_withdraw": {"reason": "双方已自行和解"},
    "mediation/refer_to_court": {"court": "青禾县人民法院", "referral_kind": "pre_filing_mediation"},
    "mediation/register": {**DISPUTE, "amount_fen": 20000, "petition_case_id": 7,
                           "linked_police_officer": {"name": "刘警官", "phone": "0731-84561234", "unit": "东镇派出所"},
                           "legal_aid_contact": {"name": "陈明白", "phone": "13700001111", "unit": "柳村村委会"}},
    "petition/assign_leader": {"leader": "leader_wang"},
    "petition/decide_acceptance": {"decision": "mediate", "reason": "属邻里纠纷，宜先行调解", "repeat_of": 3,
                                   "mediation": {"respondents": [{"name": "东镇柳村村委会", "household_address": "东镇柳村",
                                                                  "residence_org": "dz-lc", "phone": "13600002222"}],
                                                 "risk_level": "yellow", "note": "请村调委会先行调解"}},
    "petition/handle": {"opinion": "explain", "opinion_text": "经核查，承包面积调整符合村民会议决定", "hearing": True},
    "petition/message_rereview_request": {"note": "不服复查意见"},
    "petition/message_review_request": {"note": "不服处理意见"},
    "petition/progress_report": {"notes": "已两次约见信访人"},
    "petition/register": {**PETITION, "petitioners": [WANG_WU, ZHAO_LIU], "people_count": 2,
                          "materials": [{"title": "承包合同复印件", "description": "2019 年签订"}, {"title": "村民会议记录"}]},
    "petition/rereview": {"opinion": "not_support", "opinion_text": "维持复查意见", "hearing": False},
    "petition/review": {"opinion": "support", "opinion_text": "撤销原处理意见", "hearing": True},
    "petition/supervise": {"action": "listed", "notes": "挂牌督办，限期 15 日办结"},
}
FORM_NAMES = [f"{p.parent.name}/{p.stem}" for p in FORM_FILES]


# --- a browser, as far as forms go -------------------------------------------------------------

class Page(HTMLParser):
    """The controls of rendered fields, with their labels and the legend of the fieldset around them."""

    def __init__(self, html: str):
        super().__init__(convert_charrefs=True)
        self.controls: list[dict] = []
        self.buttons: list[dict] = []
        self.labels: dict[str, str] = {}
        self.legends: list[str] = []  # every legend, in order
        self._fieldsets: list[dict] = []
        self._open: list[dict] = []  # elements whose text is being collected
        self.feed(str(html))
        self.close()

    def handle_starttag(self, tag, attrs):
        a = {k: ("" if v is None else v) for k, v in attrs}
        if tag == "fieldset":
            self._fieldsets.append({"legend": ""})
        elif tag in ("input", "select", "textarea"):
            control = {"tag": tag, **a, "legend": self._fieldsets[-1]["legend"] if self._fieldsets else None,
                       "text": "", "options": []}
            self.controls.append(control)
            if tag != "input":
                self._open.append(control)
        elif tag == "option":
            option = {"value": a.get("value"), "selected": "selected" in a, "text": ""}
            self.controls[-1]["options"].append(option)
            self._open.append(option)
        elif tag in ("label", "legend", "button"):
            self._open.append({"tag": tag, **a, "text": ""})

    def handle_endtag(self, tag):
        if tag == "fieldset":
            self._fieldsets.pop()
        if tag in ("label", "legend", "button", "option", "select", "textarea") and self._open:
            element = self._open.pop()
            if tag == "label":
                self.labels[element["for"]] = element["text"].strip()
            elif tag == "legend":
                self._fieldsets[-1]["legend"] = element["text"].strip()
                self.legends.append(element["text"].strip())
            elif tag == "button":
                self.buttons.append(element)

    def handle_data(self, data):
        if self._open and self._open[-1].get("tag") != "select":
            self._open[-1]["text"] += data

    def fill(self, typed: dict[str, object]) -> "Page":
        """Type, tick and choose: `typed` maps input names to what the person enters."""
        for c in self.controls:
            if c.get("name") not in typed or c.get("type") == "hidden":
                continue
            value = typed[c["name"]]
            if c.get("type") == "checkbox":
                c["checked"] = value is True
            elif c.get("type") == "radio":
                c["checked"] = c["value"] == value
            elif c["tag"] == "select":
                for option in c["options"]:
                    option["selected"] = option["value"] == value
            elif c["tag"] == "textarea":
                c["text"] = str(value)
            else:
                c["value"] = str(value)
        return self

    def post(self, press: tuple[str, str] | None = None) -> MultiDict:
        pairs = []
        for c in self.controls:
            name, kind = c.get("name"), c.get("type", "text")
            if not name:
                continue
            if c["tag"] == "textarea":
                pairs.append((name, c["text"].replace("\n", "\r\n")))  # browsers send CRLF
            elif c["tag"] == "select":
                chosen = [o for o in c["options"] if o["selected"]] or c["options"][:1]
                pairs.append((name, chosen[0]["value"]))
            elif kind in ("checkbox", "radio"):
                if c.get("checked") not in (None, False):
                    pairs.append((name, c.get("value", "on")))
            else:
                pairs.append((name, c.get("value", "")))
        if press:
            pairs.append(press)
        return MultiDict(pairs)

    def value(self, name: str):
        c = next(c for c in self.controls if c.get("name") == name and c.get("type") != "hidden")
        return c["text"] if c["tag"] == "textarea" else c.get("value")

    def button(self, name: str, value: str) -> tuple[str, str]:
        assert any(b.get("name") == name and b.get("value") == value for b in self.buttons), (name, value)
        return name, value


def typed_names(data, path=""):
    """The input names a person fills in to enter `data`, and what goes into each."""
    if isinstance(data, (dict, list)):
        pairs = data.items() if isinstance(data, dict) else enumerate(data)
        return {k: v for key, sub in pairs for k, v in typed_names(sub, f"{path}-{key}" if path else str(key)).items()}
    return {path: data}


def node_of(form: dict, name: str) -> tuple[dict, list[str]]:
    """The schema of the input `name` (`parties-0-phone`), and the path that led there."""
    node, walked = form, []
    for seg in name.split("-"):
        node = node["items"] if seg.isdigit() else node["properties"][seg]
        walked.append(seg)
    return node, walked


# --- drawing ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("lang", ["zh", "en"])
@pytest.mark.parametrize("name", FORM_NAMES)
def test_every_input_of_every_bundled_form_is_labelled_with_its_schema_title(name, lang):
    form = schema(name)
    html = render_fields(form, SAMPLES[name], lang=lang)
    page = Page(html)
    title_key = "x-title-en" if lang == "en" else "title"
    ids = [c["id"] for c in page.controls if c.get("type") != "hidden"]
    assert len(ids) == len(set(ids)), "ids are unique"
    seen = set()
    for c in page.controls:
        if c.get("type") == "hidden":
            continue
        assert c["id"] in page.labels, f"{c['name']} has a label"
        node, walked = node_of(form, c["name"])
        seen.add(tuple(s for s in walked if not s.isdigit()))
        if c.get("type") == "radio":
            assert c["legend"] == node[title_key]
            assert node["x-enum-titles"][c["value"]] in page.labels[c["id"]]
        elif walked[-1].isdigit():  # one entry of a list of plain values: "调解员 2"
            array, _ = node_of(form, "-".join(walked[:-1]))
            assert page.labels[c["id"]] == f"{array[title_key]} {int(walked[-1]) + 1}"
        else:
            assert page.labels[c["id"]] == node[title_key]
    scalars = {tuple(k for k in key.split("-") if not k.isdigit()) for key in typed_names(SAMPLES[name])}
    assert scalars <= seen, "every field of the sample data has an input"


def test_enumerations_show_their_titles_as_radios_or_a_select():
    page = Page(render_fields(schema("mediation/register"), {"risk_level": "red", "category": "land_forest"}))
    risk = [c for c in page.controls if c.get("name") == "risk_level"]
    assert [page.labels[c["id"]] for c in risk] == ["绿（一般）", "黄（关注）", "红（可能激化，须报告公安）"]
    assert [c["value"] for c in risk if "checked" in c] == ["red"]
    category = next(c for c in page.controls if c.get("name") == "category")
    assert category["tag"] == "select" and page.labels[category["id"]] == "纠纷类别"
    assert [o["text"] for o in category["options"]][:3] == ["请选择", "婚姻家庭", "邻里"]
    assert [o["value"] for o in category["options"] if o["selected"]] == ["land_forest"]
    assert "Choose…" in render_fields(schema("mediation/register"), lang="en")


def test_mediate_shows_the_agreement_fields_always_with_a_hint_saying_when_they_are_needed():
    zh = render_fields(schema("mediation/mediate"))
    for field in ("agreement_form", "agreement_text", "difficulty"):
        hint = re.search(rf'<p class="hint condition" id="f-{field}-when">([^<]*)</p>', zh)
        assert hint and hint.group(1) == "达成协议时填写", field
        assert f'aria-describedby="f-{field}-when"' in zh
    assert 'id="f-notes-when"' not in zh and 'id="f-result-when"' not in zh
    en = render_fields(schema("mediation/mediate"), lang="en")
    assert "fill in when “Result” is “达成协议 (agreement)”" in en


def test_a_field_needed_for_two_decisions_names_both_and_an_optional_group_gets_no_condition():
    html = render_fields(schema("petition/decide_acceptance"))
    assert '<p class="hint condition" id="f-reason-when">转送、交办或不予受理时填写</p>' in html
    assert '<p class="hint condition" id="f-transfer_to-when">转送、交办时填写</p>' in html
    assert 'id="f-mediation-when"' not in html  # the other party defaults to the unit complained about


def test_booleans_are_checkboxes_with_a_marker_and_numbers_and_phones_get_the_right_keyboard():
    archive = Page(render_fields(schema("mediation/archive"), {"checklist": {"agreement": True}}))
    boxes = {c["name"]: c for c in archive.controls if c.get("type") == "checkbox"}
    assert len(boxes) == 11
    assert "checked" in boxes["checklist-agreement"] and "checked" not in boxes["checklist-evidence"]
    assert sum(c.get("type") == "hidden" for c in archive.controls) == 11
    assert archive.legends == ["卷宗清单"]
    register = Page(render_fields(schema("mediation/register")))
    amount = next(c for c in register.controls if c.get("name") == "amount_fen")
    assert (amount["type"], amount["inputmode"], amount["min"]) == ("number", "numeric", "0")
    phone = next(c for c in register.controls if c.get("name") == "parties-1-phone")
    assert phone["inputmode"] == "tel"
    assert next(c for c in register.controls if c.get("name") == "summary")["tag"] == "textarea"
    name = next(c for c in register.controls if c.get("name") == "parties-0-name")
    assert (name["tag"], name["type"], name["maxlength"]) == ("input", "text", "50")


def test_org_units_given_as_options_are_a_select_for_every_party():
    villages = [("dz-lc", "柳村（东镇）"), ("dz-sq", "石桥村（东镇）")]
    page = Page(render_fields(schema("mediation/register"), {"parties": [ZHANG_SAN, LI_SI]},
                              options={"parties.residence_org": villages}))
    for i in (0, 1):
        select = next(c for c in page.controls if c.get("name") == f"parties-{i}-residence_org")
        assert select["tag"] == "select"
        assert [(o["value"], o["text"]) for o in select["options"][1:]] == villages
        assert [o["value"] for o in select["options"] if o["selected"]] == ["dz-lc"]


def test_no_script_no_inline_style_and_no_event_handlers_in_any_form():
    for name in FORM_NAMES:
        for lang in ("zh", "en"):
            html = str(render_fields(schema(name), SAMPLES[name], lang=lang))
            assert "<script" not in html and " style=" not in html and not re.search(r"\son\w+=", html), name


# --- reading back ------------------------------------------------------------------------------------

@pytest.mark.parametrize("name", FORM_NAMES)
def test_posting_the_rendered_form_reads_back_the_same_data(name):
    form, data = schema(name), SAMPLES[name]
    validate_form(form, data)  # the sample itself is good
    reading = read_form(form, Page(render_fields(form, data)).post())
    assert reading.errors == {} and reading.action is None
    assert reading.data == data
    validate_form(form, reading.data)


def test_a_prefix_keeps_two_forms_apart_on_one_page():
    form, data = schema("mediation/register"), SAMPLES["mediation/register"]
    page = Page(render_fields(form, data, prefix="m-"))
    assert all(c["name"].startswith("m-") and c["id"].startswith("f-m-") for c in page.controls)
    posted = page.post(page.button("_add", "m-parties"))
    assert read_form(form, posted, prefix="m-").action == "add:parties"
    assert read_form(form, page.post(), prefix="m-").data == data


@pytest.mark.parametrize("kind, sample", [("mediation", DISPUTE), ("petition", PETITION)])
def test_a_register_form_filled_in_from_blank_passes_the_engines_validator(kind, sample):
    form = schema(f"{kind}/register")
    page = Page(render_fields(form)).fill(typed_names(sample))
    reading = read_form(form, page.post())
    assert reading.errors == {}
    assert reading.data == sample
    validate_form(form, reading.data)


def test_blank_optional_fields_are_left_out_text_is_trimmed_and_blank_rows_dropped():
    form = schema("mediation/register")
    page = Page(render_fields(form, {"parties": [ZHANG_SAN, LI_SI, {}]}))
    page.fill({"summary": "  排水沟堵塞\n", "parties-0-name": " 张三 ", "amount_fen": "", "category": "neighbour"})
    reading = read_form(form, page.post())
    assert reading.data["summary"] == "排水沟堵塞" and reading.data["parties"][0]["name"] == "张三"
    assert len(reading.data["parties"]) == 2 and len(reading.raw["parties"]) == 2
    for absent in ("amount_fen", "linked_police_officer", "legal_aid_contact", "petition_case_id"):
        assert absent not in reading.data
    assert "" not in reading.data.values()
    mediate = read_form(schema("mediation/mediate"), MultiDict([("result", "refused"), ("mediators-0", ""),
                                                               ("parties_request_court", "false")]))
    assert mediate.data == {"result": "refused", "parties_request_court": False}
    # A group left blank (转调解 when the decision is 受理) is left out, not sent as {}.
    accept = Page(render_fields(schema("petition/decide_acceptance"))).fill({"decision": "accept"})
    assert read_form(schema("petition/decide_acceptance"), accept.post()).data == {"decision": "accept"}


def test_adding_a_party_without_javascript_keeps_every_value_and_shows_one_more_row():
    form = schema("mediation/register")
    page = Page(render_fields(form, DISPUTE))
    page.fill({"summary": "排水沟堵塞，双方争吵", "amount_fen": "abc"})
    reading = read_form(form, page.post(page.button("_add", "parties")))
    assert reading.action == "add:parties" and reading.errors == {}
    again = Page(render_fields(form, reading.raw))
    assert [legend for legend in again.legends if legend.startswith("当事人")] == [
        "当事人", "当事人 1", "当事人 2", "当事人 3"]
    # Enter in a text box clicks the first submit button: a plain hidden one, not "删除当事人 1".
    assert again.buttons[0] == {"tag": "button", "type": "submit", "hidden": "", "text": ""}
    assert again.value("parties-1-name") == "李四" and again.value("parties-2-name") == ""
    assert again.value("summary") == "排水沟堵塞，双方争吵" and again.value("amount_fen") == "abc"
    assert [b["value"] for b in again.buttons if b.get("name") == "_remove"] == ["parties-0", "parties-1", "parties-2"]
    # Adding again before typing anything still adds a row.
    assert len(read_form(form, again.post(again.button("_add", "parties"))).raw["parties"]) == 4
    filled = again.fill(typed_names({"parties": [ZHANG_SAN, LI_SI, {**LI_SI, "name": "王五"}]}))
    final = read_form(form, filled.post())
    assert [p["name"] for p in final.data["parties"]] == ["张三", "李四", "王五"]


def test_removing_a_party_drops_that_row_and_keeps_the_others():
    form = schema("mediation/register")
    wang = {**LI_SI, "name": "王五"}
    page = Page(render_fields(form, {**DISPUTE, "parties": [ZHANG_SAN, LI_SI, wang]}))
    reading = read_form(form, page.post(page.button("_remove", "parties-1")))
    assert reading.action == "remove:parties-1"
    assert [p["name"] for p in reading.raw["parties"]] == ["张三", "王五"]
    again = Page(render_fields(form, reading.raw))
    assert again.value("parties-0-name") == "张三" and again.value("parties-1-name") == "王五"
    assert not any(c.get("name", "").startswith("parties-2") for c in again.controls)
    # At the minimum of two, removing one leaves an empty second row to fill in.
    fewer = read_form(form, again.post(again.button("_remove", "parties-0")))
    assert Page(render_fields(form, fewer.raw)).value("parties-1-name") == ""


def test_a_string_list_gets_another_input_on_add():
    form = schema("mediation/mediate")
    page = Page(render_fields(form, {"result": "agreement", "mediators": ["vmed1"]}))
    assert [c["name"] for c in page.controls if c["name"].startswith("mediators")] == ["mediators-0", "mediators-1"]
    page.fill({"mediators-1": "tmed1"})
    reading = read_form(form, page.post(page.button("_add", "mediators")))
    again = Page(render_fields(form, reading.raw))
    assert [again.value(f"mediators-{i}") for i in range(3)] == ["vmed1", "tmed1", ""]


def test_script_typed_into_a_field_comes_back_escaped():
    form = schema("mediation/register")
    evil = "<script>alert(1)</script>"
    page = Page(render_fields(form, DISPUTE)).fill({"summary": evil, "parties-0-name": evil})
    posted = page.post(page.button("_add", "parties"))
    posted["category"] = evil  # no browser offers that; a forged post can
    reading = read_form(form, posted)
    html = str(render_fields(form, reading.raw, {"parties.0.name": evil}))
    assert "<script>" not in html
    # the summary, the name, the name's error, and the unknown category kept as an option (value and text)
    assert html.count("&lt;script&gt;alert(1)&lt;/script&gt;") == 5
    again = Page(html)
    assert again.value("summary") == evil and again.value("parties-0-name") == evil


def test_a_wrong_whole_number_is_a_field_error_not_an_exception():
    form = schema("petition/register")
    page = Page(render_fields(form, PETITION)).fill({"people_count": "十二", "residence_org": "dz-lc"})
    reading = read_form(form, page.post())
    assert reading.errors == {"people_count": "请填写整数 / enter a whole number"}
    assert "people_count" not in reading.data and reading.raw["people_count"] == "十二"
    assert read_form(form, MultiDict([("people_count", "1.5")])).errors["people_count"].startswith("请填写整数")
    assert read_form(form, MultiDict([("people_count", "１２")])).data["people_count"] == 12  # full-width digits
    html = str(render_fields(form, reading.raw, reading.errors))
    assert 'aria-describedby="f-people_count-error" aria-invalid="true"' in html
    assert re.search(r'<div class="field field-error"><label for="f-people_count">人数</label>'
                     r'<p class="error-message" id="f-people_count-error"><span class="visually-hidden">错误：</span>'
                     r'请填写整数</p><input id="f-people_count"[^>]* value="十二"', html)
    assert "enter a whole number" in str(render_fields(form, reading.raw, reading.errors, lang="en"))


def test_the_engines_errors_land_beside_the_right_row_and_in_the_summary():
    form = schema("mediation/register")
    page = Page(render_fields(form, {**DISPUTE, "parties": [ZHANG_SAN, {**LI_SI, "phone": "12345"}]}))
    reading = read_form(form, page.post())
    with pytest.raises(InvalidInput) as caught:
        validate_form(form, {k: v for k, v in reading.data.items() if k != "summary"})
    errors = caught.value.fields
    assert set(errors) == {"parties.1.phone", "summary"}
    html = str(render_fields(form, reading.raw, errors))
    assert re.search(r'<input id="f-parties-1-phone" name="parties-1-phone" type="tel" inputmode="tel" value="12345"'
                     r' aria-describedby="f-parties-1-phone-error" aria-invalid="true">', html)
    assert 'id="f-parties-0-phone-error"' not in html
    assert field_error_summary(errors, form) == [
        ("f-parties-1-phone", "当事人 2：电话", "电话号码格式不正确（手机 11 位，或带区号的固话）"),
        ("f-summary", "纠纷简要情况", "必填"),
    ]
    assert field_error_summary({"summary": "必填 / required", "_": "表单有误 / bad"}, form, "en") == [
        ("f-summary", "Summary", "required"), ("", "", "bad")]


def test_an_error_about_a_whole_list_shows_on_its_group():
    form = schema("mediation/register")
    errors = {"parties": "至少需要一名被申请人 / at least one respondent is needed"}
    html = str(render_fields(form, {"parties": [ZHANG_SAN, {**LI_SI, "side": "applicant"}]}, errors))
    assert re.search(r'<div class="field field-error"><fieldset class="group repeat" id="f-parties" '
                     r'aria-describedby="f-parties-error"><legend>当事人</legend>'
                     r'<p class="error-message" id="f-parties-error">', html)
    assert field_error_summary(errors, form)[0][:2] == ("f-parties", "当事人")
