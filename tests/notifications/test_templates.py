"""Every notification kind renders, in Chinese with English, without a Flask request context."""
from __future__ import annotations

import pytest

from notifications.render import kinds, render

DEADLINE = {"case_id": 7, "case_number": "MEDIATION-2026-000007", "case_type": "mediation", "step": "mediate",
            "step_title": "调解 <村级>", "task_id": 31, "assignee": None, "org_unit": "qh-dz-lc", "level": "warning",
            "due_at": "2026-09-11T15:59:59+00:00", "warning_at": "2026-09-08T02:59:59+00:00",
            "started_at": "2026-09-01T01:00:00+00:00", "estimated": True, "risk_level": "red", "urgent": True,
            "link": "http://fq.example/tasks/31"}
DIGEST = {"leader": "leader1", "date": "2026-12-04", "link": "http://fq.example/cases?owner=leader1", "due_days": 7,
          "backlog_days": 90, "due_soon_count": 1, "overdue_count": 1, "backlog_count": 1,
          "due_soon": [{"case_id": 2, "case_number": "PETITION-2026-000002", "case_type": "petition", "step": "handle",
                        "due_at": "2026-12-10T15:59:59+00:00", "link": "http://fq.example/cases/2"}],
          "overdue": [{"case_id": 1, "case_number": "PETITION-2026-000001", "case_type": "petition", "step": "handle",
                       "due_at": "2026-11-01T15:59:59+00:00", "link": "http://fq.example/cases/1"}],
          "backlog": [{"case_id": 1, "case_number": "PETITION-2026-000001", "case_type": "petition",
                       "opened_at": "2026-09-01T09:00:00+08:00", "days_open": 94, "link": "http://fq.example/cases/1"}]}
FAILED = {"message_id": 12, "failed_kind": "deadline_overdue", "failed_recipient": "vmed1", "channel": "email",
          "attempts": 8, "error": "SMTP 451 <try later>", "case_number": "MEDIATION-2026-000007", "case_id": 7,
          "link": "http://fq.example/api/v1/outbox?status=failed"}
ZERO_DUE = {"month": "2026-10", "stage": "first", "village": "qh-dz-lc", "village_name": "柳村", "town": "qh-dz",
            "due_date": "2026-11-05", "link": "http://fq.example/reports/zero?month=2026-10"}
ZERO_OVERDUE = {"month": "2026-10", "stage": "overdue", "town": "qh-dz", "town_name": "东镇", "due_date": "2026-11-05",
                "missing_count": 1, "missing": [{"code": "qh-dz-lc", "name": "柳村 <一组>"}],
                "link": "http://fq.example/reports/zero?month=2026-10&unit=qh-dz"}
PAYLOADS = {"deadline_warning": DEADLINE, "deadline_overdue": DEADLINE, "deadline_overdue_supervisor": DEADLINE,
            "owner_digest": DIGEST, "delivery_failed": FAILED, "zero_report_due": ZERO_DUE,
            "zero_report_overdue": ZERO_OVERDUE}


def test_every_kind_has_a_text_and_an_html_template():
    assert kinds() == sorted(PAYLOADS)


@pytest.mark.parametrize("kind", sorted(PAYLOADS))
def test_a_notification_renders_in_both_languages_with_case_time_and_link(kind):
    rendered = render(kind, PAYLOADS[kind], "张三")
    assert "\n" not in rendered.subject and " / " in rendered.subject  # Chinese / English
    assert rendered.html.startswith("<!doctype html>")
    if kind.startswith("deadline"):
        assert "MEDIATION-2026-000007" in rendered.subject
        assert "2026年09月11日 23:59" in rendered.text  # the due time in Asia/Shanghai
        assert "2026-09-11 23:59 (Asia/Shanghai)" in rendered.text
        assert "http://fq.example/tasks/31" in rendered.text and 'href="http://fq.example/tasks/31"' in rendered.html
        assert "调解 &lt;村级&gt;" in rendered.html and "<村级>" in rendered.text  # escaped in HTML only
    if kind == "owner_digest":
        assert "PETITION-2026-000001" in rendered.text and "94 天" in rendered.text
        assert "2026年11月01日 23:59" in rendered.html
    if kind.startswith("zero_report"):
        assert "2026-10" in rendered.subject and "2026-11-05" in rendered.text
        assert "http://fq.example/reports/zero?month=2026-10" in rendered.text
    if kind == "zero_report_overdue":
        assert "柳村 <一组>（qh-dz-lc）" in rendered.text and "柳村 &lt;一组&gt;" in rendered.html


def test_the_warning_says_when_the_due_date_is_only_estimated_and_the_task_unclaimed():
    text = render("deadline_warning", DEADLINE, "张三").text
    assert "估算" in text and "尚未认领" in text
    assert "估算" not in render("deadline_warning", {**DEADLINE, "estimated": False, "assignee": "vmed1"}, "张三").text
