"""Who may do what: one table, read like DOMAIN.md §1 (people and places), §3 (petitions), §4 (the
subsidy ledger) and §6 (privacy).

Each use case names, per case type (`"*"`: every type not listed; `"petition:progress_report"`: one
step of one type), the roles that may run it and the relations to the case (or task, or ledger
entry) under which they may. `ANYWHERE` allows it whatever the relation; role `"*"` is any role.
A use case that lists no grant for a case type does not apply to it. The system itself (the
scheduler, the command line) may do everything.

Relations of a user to a case:
- `in_unit`     the case belongs to the user's org unit (its jurisdiction);
- `unit_above`  the case belongs to a unit below the user's (a town reads its villages; the county all);
- `handler`     the user has worked one of its tasks, or may work one of its open tasks now;
- `owner`       the user owns the case (包案领导, DOMAIN.md §3);
- `registrant`  the user registered it;
- `complained_about`  the user belongs to a unit the parties' identity is withheld from (信访工作条例
  第三十条): it takes away, whatever else allows it, what `DENIED_WHEN` says.
Relations of a user to a task: `worker` (has the task's role in the task's unit and nobody else
claimed it, or it is assigned to them), `colleague` (has the task's role in the task's unit),
`assignee`. Relations to a ledger entry: `entry_office` (the town justice office that reviews it),
`office_above` (the county bureau above that office), `payee` (the entry pays them). Relations with
no object: `at_county` (the user works at the county).
"""
from __future__ import annotations

from typing import Mapping

from engine.application import Actor
from engine.errors import Conflict, Forbidden, NotFound

# --- relations ---------------------------------------------------------------------------------
IN_UNIT, UNIT_ABOVE, HANDLER, OWNER, REGISTRANT = "in_unit", "unit_above", "handler", "owner", "registrant"
COMPLAINED_ABOUT = "complained_about"
WORKER, COLLEAGUE, ASSIGNEE = "worker", "colleague", "assignee"
ENTRY_OFFICE, OFFICE_ABOVE, PAYEE = "entry_office", "office_above", "payee"
AT_COUNTY = "at_county"
ANYWHERE = frozenset({"anywhere"})

CASE_RELATIONS = (IN_UNIT, UNIT_ABOVE, HANDLER, OWNER, REGISTRANT, COMPLAINED_ABOUT)
TASK_RELATIONS = (WORKER, COLLEAGUE, ASSIGNEE)
ENTRY_RELATIONS = (ENTRY_OFFICE, OFFICE_ABOVE, PAYEE)

# The roles of DOMAIN.md §1, with what people call them.
ROLES = ("intake", "mediator", "court_liaison", "petition_officer", "leader", "justice_officer", "auditor", "admin")
ROLE_TITLES = {
    "intake": ("登记受理", "Intake"), "mediator": ("调解员", "Mediator"), "court_liaison": ("法院联络员", "Court liaison"),
    "petition_officer": ("信访干部", "Petition officer"), "leader": ("包案领导", "Owner leader"),
    "justice_officer": ("司法行政", "Justice officer"), "auditor": ("审计人员", "Auditor"), "admin": ("系统管理员", "Admin"),
}


def _(*relations: str) -> frozenset[str]:
    return frozenset(relations)


_LOCAL = _(IN_UNIT, UNIT_ABOVE)  # the case is in the user's unit or below it
_READERS = {
    "intake": _(IN_UNIT, UNIT_ABOVE, REGISTRANT, HANDLER),
    "mediator": _(IN_UNIT, UNIT_ABOVE, REGISTRANT, HANDLER),
    "court_liaison": _(IN_UNIT, UNIT_ABOVE, REGISTRANT, HANDLER),
    "petition_officer": _(IN_UNIT, UNIT_ABOVE, REGISTRANT, HANDLER),
    "leader": _(IN_UNIT, UNIT_ABOVE, OWNER, HANDLER),
    "justice_officer": _(IN_UNIT, UNIT_ABOVE, HANDLER),
    "auditor": ANYWHERE,
    "admin": ANYWHERE,
}
_EVERYONE = {role: ANYWHERE for role in ROLES}
_ADMIN = {"admin": ANYWHERE}
_AUDITORS = {"auditor": ANYWHERE, "admin": ANYWHERE}

TABLE: dict[str, dict[str, dict[str, frozenset[str]]]] = {
    # ---- cases ---------------------------------------------------------------------------------
    # Registering: the intake windows and grid workers, and the offices that take cases in.
    "case.register": {
        "mediation": {"intake": ANYWHERE, "mediator": ANYWHERE, "court_liaison": ANYWHERE,
                      "petition_officer": ANYWHERE, "admin": ANYWHERE},
        "petition": {"intake": ANYWHERE, "petition_officer": ANYWHERE, "admin": ANYWHERE},
        "*": {"intake": ANYWHERE, "mediator": ANYWHERE, "petition_officer": ANYWHERE, "admin": ANYWHERE},
    },
    # Reading a case and its history (§1): its own unit and the units above it, whoever handles or
    # owns it, whoever registered it; auditors and admins everything.
    "case.read": {"*": _READERS},
    # Seeing ID numbers and phones unmasked (§6): the case's own handlers and owner only; each look
    # is recorded. Auditors verify histories but never need the numbers.
    "case.unmask": {"*": {role: _(HANDLER, OWNER) for role in ROLES if role != "auditor"}},
    # Seeing who the parties are at all (masked): every reader, except the unit complained about.
    "case.identity": {"*": {role: ANYWHERE for role in ROLES}},
    # Leader ownership and backlog (领导包案, 信访积案): the petition office of the case's unit or above.
    "case.set_owner": {"petition": {"petition_officer": _LOCAL, "admin": ANYWHERE}},
    "case.mark_backlog": {"petition": {"petition_officer": _LOCAL, "admin": ANYWHERE}},
    # Messages from outside the workflow (§2, §3, §7). The applicant's withdrawal comes in through the
    # window or the mediator of the unit that has the case; the court's answers through the court
    # liaison; a petitioner's review requests through the petition office.
    "message.withdraw": {"mediation": {"intake": _(IN_UNIT, REGISTRANT), "mediator": _(IN_UNIT),
                                       "admin": ANYWHERE}},
    "message.court_confirmation": {"mediation": {"court_liaison": _LOCAL, "admin": ANYWHERE}},
    "message.court_result": {"mediation": {"court_liaison": _LOCAL, "admin": ANYWHERE}},
    "message.review_request": {"petition": {"intake": _(IN_UNIT, UNIT_ABOVE, REGISTRANT),
                                            "petition_officer": _(IN_UNIT, UNIT_ABOVE, REGISTRANT),
                                            "admin": ANYWHERE}},
    "message.rereview_request": {"petition": {"intake": _(IN_UNIT, UNIT_ABOVE, REGISTRANT),
                                              "petition_officer": _(IN_UNIT, UNIT_ABOVE, REGISTRANT),
                                              "admin": ANYWHERE}},
    # Messages only the engine sends (a new owner, the linked mediation closed): nobody.
    "message.owner_assigned": {"petition": {}},
    "message.mediation_closed": {"petition": {}},
    # Processes other than the two bundled ones: any message, by whoever may work the case's unit.
    "message.*": {"*": {role: _(IN_UNIT, UNIT_ABOVE, REGISTRANT, HANDLER)
                        for role in ("intake", "mediator", "court_liaison", "petition_officer")} | _ADMIN},
    # ---- tasks ---------------------------------------------------------------------------------
    # A mediator works the tasks of their own unit (§1): a task is worked by whoever has its role in
    # its unit and is not claimed by someone else; a colleague of that role and unit may hand it on.
    "task.claim": {"*": {"*": _(WORKER)}},
    "task.unclaim": {"*": {"*": _(ASSIGNEE), "admin": ANYWHERE},
                     # The owner's progress report is theirs alone, for as long as they own the case.
                     "petition:progress_report": {}},
    "task.assign": {"*": {"*": _(COLLEAGUE), "admin": ANYWHERE},
                    "petition:progress_report": {}},
    "task.complete": {"*": {"*": _(WORKER)}},
    "task.extend": {"*": {"*": _(WORKER)}},
    # ---- the subsidy ledger (§4) -------------------------------------------------------------------
    "subsidy.read": {"*": {"justice_officer": _(ENTRY_OFFICE, OFFICE_ABOVE), "mediator": _(PAYEE),
                           "auditor": ANYWHERE, "admin": ANYWHERE}},
    "subsidy.review": {"*": {"justice_officer": _(ENTRY_OFFICE)}},
    "subsidy.approve": {"*": {"justice_officer": _(OFFICE_ABOVE)}},
    "subsidy.reject": {"*": {"justice_officer": _(ENTRY_OFFICE, OFFICE_ABOVE)}},
    "subsidy.reverse": {"*": {"justice_officer": _(OFFICE_ABOVE)}},
    "subsidy.batch": {"*": {"justice_officer": _(AT_COUNTY), "admin": ANYWHERE}},
    # ---- the county's lists, read through each case's own visibility ----------------------------
    "cases.list": {"*": _EVERYONE},
    "tasks.list": {"*": _EVERYONE},
    "petitions.list": {"*": _EVERYONE},
    "petitions.board": {"*": {"petition_officer": ANYWHERE, "leader": ANYWHERE, "auditor": ANYWHERE,
                              "admin": ANYWHERE}},
    "people.read": {"*": _EVERYONE},
    "inbox.own": {"*": _EVERYONE},
    # ---- the pages' areas, for the navigation (each page checks its own use cases too) -------------
    "area.tasks": {"*": {role: ANYWHERE for role in ROLES if role != "auditor"}},
    "area.leader": {"*": {"leader": ANYWHERE}},
    "area.dashboard": {"*": {role: ANYWHERE for role in ("leader", "justice_officer", "petition_officer", "auditor",
                                                         "admin")}},
    # ---- the county dashboard (全县概况): its figures, scoped to the reader's unit and those below -----
    "dashboard.read": {"*": {role: ANYWHERE for role in ("leader", "justice_officer", "petition_officer", "auditor",
                                                         "admin")}},
    # ---- audit and administration ----------------------------------------------------------------
    "audit.verify": {"*": {"auditor": ANYWHERE, "admin": ANYWHERE}},
    "audit.sign_ins": {"*": {"auditor": ANYWHERE, "admin": ANYWHERE}},
    # ---- the auditors' pages (/audit): they read every case and the whole ledger, and change nothing;
    # personal data shows as on the case page (masked; withheld from a unit complained about) ----
    "audit.search": {"*": _AUDITORS},
    "audit.history": {"*": _AUDITORS},
    "audit.case_file": {"*": _AUDITORS},
    "audit.ledger": {"*": _AUDITORS},
    "audit.export": {"*": _AUDITORS},
    "outbox.read": {"*": _ADMIN},
    "outbox.retry": {"*": _ADMIN},
    "admin.deploy": {"*": _ADMIN},
    "admin.org_units": {"*": _ADMIN},
    "admin.users": {"*": _ADMIN},
    "admin.tokens": {"*": _ADMIN},
    "admin.calendar": {"*": _ADMIN},
    "admin.clock": {"*": _ADMIN},
    # ---- the petition office's board and the owner leader's page ------------------------------
    # The supervision (督办) tasks beside the board: whoever sees the board; each task only on the
    # petitions they may read.
    "petitions.supervision": {"*": {"petition_officer": ANYWHERE, "leader": ANYWHERE, "auditor": ANYWHERE,
                                    "admin": ANYWHERE}},
    # An owner leader's own cases and their morning digest: their own only, by construction.
    "leader.cases": {"*": {"leader": ANYWHERE}},
    "leader.digest": {"*": {"leader": ANYWHERE}},
    # ---- accounts, tokens and the administration pages (issue 11 §6, issue 13 §3) ------------------
    # Only admins (and the command line, acting as the system) see every account, change one, end
    # its access, or read the administrators' log; each change is an admin_event (engine/admin_events.py).
    "admin.list_users": {"*": _ADMIN},
    "admin.change_user": {"*": _ADMIN},
    "admin.deactivate_user": {"*": _ADMIN},
    "admin.activate_user": {"*": _ADMIN},
    "admin.reset_password": {"*": _ADMIN},
    "admin.list_tokens": {"*": _ADMIN},
    "admin.revoke_token": {"*": _ADMIN},
    "admin.events": {"*": _ADMIN},
    "admin.rates": {"*": _ADMIN},
    "admin.calendar_read": {"*": _ADMIN},
    # ---- operations (usecases/operations.py): the consistency check, backup and restore ----------------
    # The command line runs them as the system; in the table so that a page or route for admins can follow.
    "operations.check": {"*": _ADMIN},
    "operations.backup": {"*": _ADMIN},
    "operations.restore": {"*": _ADMIN},
    "operations.pack": {"*": _ADMIN},
    # ---- deployed versions and moving running cases between them (usecases/definitions.py) ----------
    # Listing and comparing versions, and the moving itself, are the administrator's (DOMAIN.md §1:
    # "workflow versions, rate tables"); every move is in the case's history.
    "definitions.read": {"*": _ADMIN},
    "definitions.migrate": {"*": _ADMIN},
    # --- printed documents (issue 14, usecases/documents.py; the papers are workflows/documents/) -------
    # Whoever may read a case may print its standard papers (auditors and admins to check a file), except
    # the unit a petition complains about (DENIED_WHEN). The parties' ID numbers and phones are printed in
    # full only on papers the parties sign, and only for the case's own handlers (DOMAIN.md §6).
    "document.print": {"*": _READERS},
    "document.full_identity": {"*": {role: _(HANDLER) for role in ROLES if role != "auditor"}},
    # --- quarterly statistics (issue 14 §4, usecases/reports.py) ---
    # Figures only, no case shown: the dispute report for the justice offices that report mediation to
    # the county bureau, the petition report for the petition offices; leaders, auditors and admins read
    # both. Each reader sees their own unit and those below it (the county: all), as on the dashboard.
    "report.mediation": {"*": {role: ANYWHERE for role in ("justice_officer", "leader", "auditor", "admin")}},
    "report.petition": {"*": {role: ANYWHERE for role in ("petition_officer", "leader", "auditor", "admin")}},
    # --- the monthly zero report (零上报, usecases/zero_reports.py) ---
    # Relations to an org unit: `in_unit` (the user's own), `unit_above` (one below the user's).
    # A village's mediator confirms its month without disputes; the town and county mediators,
    # justice officers and leaders read their villages' reports (a village mediator their own);
    # auditors and admins every unit's.
    "zero_report.confirm": {"*": {"mediator": _(IN_UNIT)}},
    "zero_report.read": {"*": {"mediator": _LOCAL, "justice_officer": _LOCAL, "leader": _LOCAL,
                               "auditor": ANYWHERE, "admin": ANYWHERE}},
}

# Relations that take a use case away whatever grants it (Art. 30: the unit complained about never
# sees who petitioned, not even masked, and never unmasks).
DENIED_WHEN: dict[str, frozenset[str]] = {
    "case.unmask": _(COMPLAINED_ABOUT),
    "case.identity": _(COMPLAINED_ABOUT),
    # --- printed documents (issue 14): nothing of a petition is printed by the unit it complains about
    "document.print": _(COMPLAINED_ABOUT),
    "document.full_identity": _(COMPLAINED_ABOUT),
}

REFUSALS: dict[str, str] = {
    "case.register": "您的角色不能登记此类案件 / your role cannot register this kind of case",
    "case.unmask": "只有本案承办人员可以查看完整的身份证号和电话 / only the case's handlers may see unmasked ID "
                   "numbers and phones",
    "case.set_owner": "只有信访部门可以指定包案领导 / only the petition office assigns owner leaders",
    "case.mark_backlog": "只有信访部门可以标记积案 / only the petition office marks backlog",
    "task.claim": "此任务不属于您的角色或单位，或已由他人认领 / this task is not for your role or unit, or someone "
                  "else claimed it",
    "task.unclaim": "只能退回自己认领的任务 / you can only release a task you claimed",
    "task.assign": "只有同一单位、同一角色的人员可以转交此任务 / only a colleague of the task's role and unit may "
                   "hand it on",
    "task.complete": "此任务不属于您的角色或单位，或已由他人认领 / this task is not for your role or unit, or someone "
                     "else claimed it",
    "task.extend": "只有办理此任务的人员可以申请延期 / only whoever works the task may extend it",
    "subsidy.read": "您的角色不能查看补贴台账 / your role cannot read the subsidy ledger",
    "subsidy.review": "此记录由所属镇司法所审核 / the town justice office of the entry reviews it",
    "subsidy.approve": "此操作需由县司法局办理 / this needs the county justice bureau",
    "subsidy.reject": "只有所属司法所或县司法局可以驳回 / only the entry's justice office or the county bureau rejects",
    "subsidy.reverse": "此操作需由县司法局办理 / this needs the county justice bureau",
    "subsidy.batch": "只有县司法局或管理员可以生成发放批次 / only the county justice bureau or an admin makes a batch",
    "petitions.board": "只有信访部门、包案领导和审计人员查看包案统计 / only the petition office, leaders and auditors "
                       "see the owner board",
    "dashboard.read": "您的角色不查看全县概况 / your role has no dashboard",
    "audit.verify": "只有审计人员和管理员可以校验历史 / only auditors and admins verify history",
    "audit.sign_ins": "只有审计人员和管理员可以查看登录记录 / only auditors and admins read the sign-in log",
    "audit.search": "只有审计人员和管理员可以使用审计查询 / only auditors and admins use the audit search",
    "audit.history": "只有审计人员和管理员可以查看审计历史 / only auditors and admins read audit histories",
    "audit.case_file": "只有审计人员和管理员可以打印审计卷宗 / only auditors and admins print audit case files",
    "audit.ledger": "只有审计人员和管理员可以查看审计台账 / only auditors and admins read the audit ledger",
    "audit.export": "只有审计人员和管理员可以导出审计数据 / only auditors and admins export audit data",
    "outbox.read": "只有管理员可以查看和重发通知 / only admins see and retry the outbox",
    "outbox.retry": "只有管理员可以查看和重发通知 / only admins see and retry the outbox",
    # the petition office's board and the owner leader's page
    "petitions.supervision": "只有信访部门、包案领导和审计人员查看督办事项 / only the petition office, leaders and "
                             "auditors see the supervision tasks",
    "leader.cases": "只有包案领导有包案事项 / only owner leaders own cases",
    "leader.digest": "只有包案领导有每日包案提醒 / only owner leaders get the morning digest",
    # accounts, tokens and the administration pages
    "admin.deploy": "只有管理员可以部署流程定义 / only admins deploy definitions",
    "admin.org_units": "只有管理员可以管理单位 / only admins manage org units",
    "admin.users": "只有管理员可以新建用户 / only admins create users",
    "admin.tokens": "只有管理员可以发放接口令牌 / only admins issue API tokens",
    "admin.calendar": "只有管理员可以导入节假日安排 / only admins import holiday schedules",
    "admin.clock": "只有管理员可以调整模拟时钟 / only admins move the simulated clock",
    "admin.list_users": "只有管理员可以查看全部账号 / only admins see every account",
    "admin.change_user": "只有管理员可以修改账号的角色和单位 / only admins change an account's roles and unit",
    "admin.deactivate_user": "只有管理员可以停用账号 / only admins deactivate accounts",
    "admin.activate_user": "只有管理员可以恢复账号 / only admins reactivate accounts",
    "admin.reset_password": "只有管理员可以重设密码 / only admins reset passwords",
    "admin.list_tokens": "只有管理员可以查看接口令牌 / only admins see API tokens",
    "admin.revoke_token": "只有管理员可以撤销接口令牌 / only admins revoke API tokens",
    "admin.events": "只有管理员可以查看管理操作记录 / only admins read the administrators' log",
    "admin.rates": "只有管理员可以查看补贴标准的版本 / only admins see the rate table's versions",
    "admin.calendar_read": "只有管理员可以查看节假日安排 / only admins see the holiday schedules",
    # ---- operations
    "operations.check": "只有管理员可以检查数据一致性 / only admins run the consistency check",
    "operations.backup": "只有管理员可以备份 / only admins take backups",
    "operations.restore": "只有管理员可以恢复备份 / only admins restore backups",
    "operations.pack": "只有管理员可以压缩已结案件的历史 / only admins pack closed cases' histories",
    # ---- deployed versions (usecases/definitions.py)
    "definitions.read": "只有管理员可以查看和比较流程版本 / only admins see and compare process versions",
    "definitions.migrate": "只有管理员可以把案件迁移到另一版本 / only admins move cases to another version",
    # --- quarterly statistics ---
    "report.mediation": "只有司法行政人员、领导、审计人员和管理员查看调解季度统计 / only justice officers, leaders, "
                        "auditors and admins see the mediation statistics",
    "report.petition": "只有信访部门、领导、审计人员和管理员查看信访季度统计 / only petition officers, leaders, "
                       "auditors and admins see the petition statistics",
    # --- the monthly zero report
    "zero_report.confirm": "只有本村（社区）的调解员可以零上报 / only a mediator of the village files its zero report",
    "zero_report.read": "您不能查看该单位的零上报情况 / you may not see this unit's monthly reports",
}
_DEFAULT_REFUSAL = "您无权进行此操作 / you may not do this"
_NOT_APPLICABLE = {
    "case.set_owner": "此类案件不设包案领导 / cases of this kind have no owner leader",
    "case.mark_backlog": "此类案件不设积案 / cases of this kind are never backlog",
}


def grants(use_case: str, case_type: str | None = None, step: str | None = None) -> dict[str, frozenset[str]] | None:
    """The table's row for a use case on a case type (and step): role → relations, or None when the use
    case does not apply to that type at all."""
    rows = TABLE.get(use_case)
    if rows is None:
        raise KeyError(f"no such use case in the authorization table: {use_case}")
    if case_type is not None and step is not None and f"{case_type}:{step}" in rows:
        return rows[f"{case_type}:{step}"]
    if case_type is not None and case_type in rows:
        return rows[case_type]
    return rows.get("*")


def message_use_case(case_type: str, name: str) -> str | None:
    """The use case of delivering message `name` to a case of `case_type`, or None if its type has no
    such message (the route then answers 404)."""
    specific = f"message.{name}"
    if specific in TABLE and case_type in TABLE[specific]:
        return specific
    if any(case_type in rows for key, rows in TABLE.items() if key.startswith("message.")):
        return None  # a type the table knows: only its own messages
    return "message.*"


def relations_allow(row: Mapping[str, frozenset[str]], actor: Actor, relations: set[str]) -> bool:
    for role in (*actor.roles, "*"):
        allowed = row.get(role)
        if allowed is None:
            continue
        if allowed is ANYWHERE or "anywhere" in allowed or allowed & relations:
            if role != "*" or actor.roles:
                return True
    return False


def allowed(use_case: str, actor: Actor, relations: set[str] = frozenset(), *, case_type: str | None = None,
            step: str | None = None) -> bool:
    """May `actor`, with these relations to the object, run `use_case`?"""
    if "system" in actor.roles:
        return True
    row = grants(use_case, case_type, step)
    if row is None:
        return False
    if DENIED_WHEN.get(use_case, frozenset()) & relations:
        return False
    return relations_allow(row, actor, relations)


def applies(use_case: str, case_type: str) -> bool:
    return grants(use_case, case_type) is not None


def require(use_case: str, actor: Actor, relations: set[str] = frozenset(), *, case_type: str | None = None,
            step: str | None = None) -> None:
    """Raise Forbidden (or Conflict when the use case does not apply to the case type) unless allowed."""
    if case_type is not None and "system" not in actor.roles and grants(use_case, case_type, step) is None:
        raise Conflict(_NOT_APPLICABLE.get(use_case, "此类案件不适用此操作 / this does not apply to cases of this kind"))
    if not allowed(use_case, actor, relations, case_type=case_type, step=step):
        raise Forbidden(REFUSALS.get(use_case, _DEFAULT_REFUSAL))


def roles_with(use_case: str, relation: str, case_type: str = "*") -> set[str]:
    """The roles for which `relation` (or anywhere) allows `use_case` on `case_type`: for building the
    SQL of what a user may read."""
    row = grants(use_case, case_type) or {}
    return {role for role, rel in row.items() if rel is ANYWHERE or relation in rel or "anywhere" in rel}


def not_found(what: str, ident) -> NotFound:
    """The answer for an object the user may not see: exactly the one for an object that does not exist."""
    if what == "case":
        return NotFound(f"案件 {ident} 不存在 / case {ident} not found")
    if what == "task":
        return NotFound(f"任务 {ident} 不存在 / task {ident} not found")
    return NotFound(f"{what} {ident} 不存在 / {what} {ident} not found")
