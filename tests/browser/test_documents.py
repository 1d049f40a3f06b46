"""Printing a paper in a real browser (issue 14): the village mediator opens a settled dispute, finds
the written agreement among the case's documents, sees it on screen as an A4 sheet with the page's
tools left out of print, downloads its PDF and the PDF's text names the parties, the agreed terms and
the committee."""
from __future__ import annotations

import io
import re

import pytest

from tests.browser.conftest import (
    PHONE,
    BrowserUser,
    assert_accessible,
    has_horizontal_scroll,
    screenshot,
    served,
)

pytestmark = pytest.mark.browser

COMPLETE_FILE = {"registration_form": True, "rights_notice": True, "identity_proof": True,
                 "mediation_record": True, "agreement": True, "followup_record": True}


@pytest.fixture
def site(tmp_path):
    with served(tmp_path, bundled=True) as found:
        yield found


def settled_dispute(site) -> int:
    """张三 and 李四 of 柳村 settle their ditch quarrel in writing before 柳村's committee (vmed1)."""
    services, people = site.system.services, site.system.people
    data = {"parties": [
        {"side": "applicant", "name": "张三", "id_number": "11010519491231002X", "phone": "13800138000",
         "household_address": "东镇柳村3组", "residence_org": "qh-dz-lc"},
        {"side": "respondent", "name": "李四", "phone": "13900139000", "residence_org": "qh-dz-lc"}],
        "category": "neighbour", "summary": "排水沟堵塞引发邻里纠纷", "source": "party_application", "risk_level": "green"}
    case_id = services.cases.register(people["intake"], "mediation", data)["id"]
    mediator = people["village_mediator"]

    def step(name, **values):
        (task,) = [t for t in services.tasks.worklist(mediator, case_id) if t["name"] == name]
        return services.tasks.complete(mediator, task["id"], values, services.cases.get(mediator, case_id)["version"])

    step("mediate", result="agreement", agreement_form="written", agreement_text="李四于十日内疏通排水沟，张三不再追究",
         difficulty="general")
    step("judicial_confirmation", applied=False)
    step("followup", performance="performed", satisfaction=5, notes="已疏通")
    step("archive", checklist=COMPLETE_FILE)
    return case_id


def test_a_mediator_prints_the_agreement_of_a_settled_case_and_its_pdf_names_parties_terms_and_committee(
        page, ui: BrowserUser, site):
    case_id = settled_dispute(site)
    ui.login("vmed1")
    ui.goto(f"/cases/{case_id}")
    documents = page.locator("#documents")
    documents.get_by_role("link", name="人民调解协议书", exact=True).click()
    page.wait_for_load_state()
    assert ui.path() == f"/cases/{case_id}/documents/agreement"
    sheet = page.locator("article.paper")
    assert "柳村人民调解委员会" in sheet.inner_text() and "李四于十日内疏通排水沟" in sheet.inner_text()
    assert page.evaluate("getComputedStyle(document.querySelector('article.paper')).fontFamily").count("CJK")
    screenshot(page, "documents-agreement")
    assert_accessible(page)
    page.set_viewport_size(PHONE)  # on a 360-px phone the sheet scrolls in its box, never the page
    assert not has_horizontal_scroll(page)
    screenshot(page, "documents-agreement-phone")
    page.set_viewport_size({"width": 1280, "height": 900})

    # In print only the paper shows: the site's header and the page's tools are left out.
    page.emulate_media(media="print")
    assert not page.locator(".document-tools").is_visible() and not page.locator(".site-header").is_visible()
    assert sheet.is_visible()
    page.emulate_media(media="screen")

    with page.expect_download() as waiting:
        page.get_by_role("link", name="下载 PDF", exact=True).click()
    download = waiting.value
    assert re.fullmatch(r"MED-\d{4}-\d+-agreement\.pdf", download.suggested_filename)
    from pypdf import PdfReader
    with open(download.path(), "rb") as f:
        text = re.sub(r"\s+", "", "".join(p.extract_text() or "" for p in PdfReader(io.BytesIO(f.read())).pages))
    for said in ("人民调解协议书", "张三", "李四", "李四于十日内疏通排水沟，张三不再追究", "柳村人民调解委员会", "清河县",
                 "11010519491231002X"):  # the handler prints the signed paper with the full ID number
        assert said in text, said

    events = site.system.services.cases.history(site.system.people["auditor"], case_id)
    assert [(e["data"]["kind"], e["data"]["format"]) for e in events if e["kind"] == "document_printed"] == [
        ("agreement", "html"), ("agreement", "pdf")]
