"""Pricing a closing mediation case's subsidy (以案定补, DOMAIN.md §4).

One case, one subsidy, to the level whose mediators reached the agreement, at the rate of the newest
deployed `subsidy` decision table (`bpmn/subsidy.dmn`; an oral agreement is priced at the level's
simple rate by that table). Several mediators share it equally, the fen left over going to the first.
It is paid only for an agreement with a complete case file and a follow-up that found the agreement
performed or partly performed; otherwise, and for civil servants, the entry is recorded with amount 0
and the reason. Money is integer fen throughout.
"""
from __future__ import annotations

from typing import Any, Mapping

from sqlalchemy import select

from engine.application import CommandScope
from engine.definitions_repo import decide
from engine.errors import InvalidInput
from engine.ledger import NewEntry
from engine.store import User

from . import subsidy_ledger

PAID_PERFORMANCE = ("performed", "partial")
NO_AGREEMENT_REASONS = {
    "refused": "当事人拒绝调解，未达成协议，不予补贴 / refused mediation: no agreement, no subsidy",
    "withdrawn": "申请人撤回，未达成协议，不予补贴 / withdrawn: no agreement, no subsidy",
    "court": "调解未成，转法院处理，不予补贴 / mediation failed and went to court: no subsidy",
}
CIVIL_SERVANT_REASON = "公务员不领取以案定补 / civil servants are not eligible for the subsidy"


def record_subsidy(scope: CommandScope, agreement: Mapping[str, Any] | None, missing_items: list[str],
                   review_unit: str | None) -> list[dict[str, Any]]:
    """Write the closing case's ledger entries in the command's transaction; returns their views."""
    entries = price(scope.session, scope.process_data, agreement, missing_items, scope.case["level"])
    return subsidy_ledger.record(scope, entries, review_unit)


def price(session, data: Mapping[str, Any], agreement: Mapping[str, Any] | None, missing_items: list[str],
          case_level: str | None) -> list[NewEntry]:
    outcome = data.get("outcome") or ""
    if agreement is None or not outcome.startswith("resolved_"):
        reason = NO_AGREEMENT_REASONS.get(outcome, "未达成调解协议，不予补贴 / no agreement: no subsidy")
        return [NewEntry(None, case_level, None, 0, reason, None, kind="subsidy")]
    mediators = list(agreement["mediators"])
    level, form, difficulty = agreement["level"], agreement["agreement_form"], agreement["difficulty"]
    reasons = []
    if missing_items:
        reasons.append(f"卷宗不完整（缺：{'、'.join(missing_items)}）/ incomplete case file (missing: "
                       f"{', '.join(missing_items)})")
    performance = data.get("performance")
    if performance not in PAID_PERFORMANCE:
        reasons.append(f"回访发现协议未履行（{performance}）/ the follow-up found the agreement not performed "
                       f"({performance})")
    if reasons:
        return [NewEntry(mediators[0], level, difficulty, 0, "；".join(reasons), None, kind="subsidy")]

    result = decide(session, "subsidy", {"level": level, "agreement_form": form, "difficulty": difficulty})
    if result is None:
        raise InvalidInput("补贴标准表（subsidy）尚未部署，请管理员部署后再归档 / the subsidy rate table is not "
                           "deployed: ask the admin to deploy it, then archive", fields={"checklist": "无法计算补贴"})
    rate = result.outputs.get("rate_fen")
    if isinstance(rate, bool) or not isinstance(rate, int) or rate < 0:
        raise InvalidInput(f"补贴标准表 v{result.version} 对 {level}/{form}/{difficulty} 没有有效金额 / the subsidy "
                           f"table v{result.version} has no valid rate for {level}/{form}/{difficulty}",
                           fields={"checklist": "无法计算补贴 / cannot price the subsidy"})

    servants = set(session.scalars(select(User.username).where(User.username.in_(mediators),
                                                               User.civil_servant.is_(True))))
    share, remainder = divmod(rate, len(mediators))
    entries = []
    for i, mediator in enumerate(mediators):
        amount = share + (remainder if i == 0 else 0)
        shared = f"{len(mediators)} 人均分 / shared by {len(mediators)}" if len(mediators) > 1 else ""
        if mediator in servants:
            entries.append(NewEntry(mediator, level, difficulty, 0,
                                    CIVIL_SERVANT_REASON + (f"（{shared}）" if shared else ""), result.version, rate,
                                    kind="subsidy"))
        else:
            entries.append(NewEntry(mediator, level, difficulty, amount, shared, result.version, rate,
                                    kind="subsidy"))
    return entries
