"""REST routes of the auditors, and the county's units and people."""
from __future__ import annotations

from .http import actor, query, route, services
from .openapi import Param


@route("GET", "/audit/verify", summary="校验历史哈希链 / Verify the hash chains", response="AuditResult",
       query=(Param("case", "只校验某个案件（不存在则 404）/ only this case (404 if there is none)", type="integer"),),
       errors=(403, 404), tag="audit")
def verify_audit():
    return services().audit.verify(actor(), query("case"))


@route("GET", "/org-units", summary="全县单位 / The county's org units", response="OrgUnitList", tag="people")
def org_units():
    return {"items": services().people.org_units(actor())}


@route("GET", "/users", summary="用户（不含机密）/ Users, without secrets", response="UserList", tag="people")
def users():
    return {"items": services().people.users(actor())}
