"""The start page (`/`): a greeting and the areas the signed-in user works in.

`AREAS` is also the navigation of every page. Which of them a person sees is the application
layer's answer (`Services.areas`, from its authorization table); each page checks its own use cases
too, so a hidden link protects nothing.
"""
from __future__ import annotations

from dataclasses import dataclass

from flask import Blueprint, current_app, g, render_template

from web.i18n import N_

bp = Blueprint("home", __name__)


@dataclass(frozen=True)
class Area:
    key: str  # also the key of its count in the `nav_counts` a page may pass (e.g. {"tasks": 3})
    title: str
    href: str
    description: str


AREAS: list[Area] = [
    Area("tasks", N_("我的待办"), "/tasks", N_("轮到您办理的事项，按期限排序")),
    Area("register_mediation", N_("登记纠纷"), "/cases/new?type=mediation", N_("登记一起矛盾纠纷，开始调解")),
    Area("register_petition", N_("登记信访事项"), "/cases/new?type=petition", N_("登记来信、来访或网上信访")),
    Area("petitions_board", N_("信访工作台"), "/petitions/board", N_("各包案领导的信访事项、临期和逾期情况")),
    Area("leader", N_("我包案的事项"), "/leader", N_("您包案的信访事项及其进展")),
    Area("subsidies", N_("以案定补"), "/subsidies", N_("调解员补贴的审核、审批和发放")),
    Area("audit", N_("审计"), "/audit", N_("案件历史的校验和登录记录")),
    Area("dashboard", N_("全县概况"), "/dashboard", N_("全县案件数量、期限和化解情况")),
    Area("report_mediation", N_("调解统计"), "/reports/mediation", N_("各单位每季度的纠纷受理、调解和补贴发放")),
    Area("report_petition", N_("信访统计"), "/reports/petition", N_("各单位每季度的信访登记、按期受理和积案")),
    Area("admin", N_("系统管理"), "/admin", N_("单位、用户和流程定义")),
    Area("inbox", N_("通知"), "/inbox", N_("提醒和督办通知")),
    Area("zero_reports", N_("零上报"), "/reports/zero", N_("各村（社区）调委会每月矛盾纠纷上报情况")),
]


def areas_for(actor) -> list[Area]:
    open_to = current_app.extensions["fengqiao"].areas(actor)
    return [area for area in AREAS if area.key in open_to]


def navigation() -> dict:
    """Template context for every page: the signed-in user and their areas."""
    user = g.get("user")
    if user is None:
        return {"current_user": None, "nav_areas": [], "nav_unread": 0}
    if "nav_unread" not in g:  # the inbox's unread count, beside 通知 on every page (one indexed count)
        from .inbox import unread_count
        g.nav_unread = unread_count(user.actor)
    return {"current_user": user, "nav_areas": areas_for(user.actor), "nav_unread": g.nav_unread}


@bp.get("/")
def index():
    from .zero_reports import due_notice
    return render_template("home/index.html", areas=areas_for(g.actor), zero_due=due_notice())
