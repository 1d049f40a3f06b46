"""REST routes of cases: register, list and search, read, history, messages, unmasked data."""
from __future__ import annotations

from .http import DEFAULT_PAGE, MAX_PAGE, actor, form_data, json_body, page, query, route, services
from .openapi import Param


@route("POST", "/cases", summary="登记案件 / Register a case", body="NewCase", response="Case", status=201,
       errors=(403,), tag="cases")
def create_case():
    body = json_body()
    return services().cases.register(actor(), body.get("type"), form_data(body)), 201


CASE_FILTERS = (
    Param("type", "案件类型（已部署的）/ case type (a deployed one)", case_type=True),
    Param("status", "状态 / status", enum=("open", "closed")),
    Param("level", "层级 / level", enum=("village", "town", "county")),
    Param("owner", "包案领导用户名 / owner leader's username", max_length=64),
    Param("overdue", "1：只看已超期的 / 1: only cases with an overdue deadline", type="flag"),
    Param("q", "按编号、当事人或信访人姓名、完整电话号码、事由中的词搜索 / search by number, a party's or "
               "petitioner's name, a whole phone number, or a word of the summary", max_length=100),
    Param("after", "上一页返回的 next / the `next` of the previous page", type="integer", minimum=1),
    Param("limit", f"每页条数 / page size (default {DEFAULT_PAGE})", type="integer", minimum=1, maximum=MAX_PAGE),
)


@route("GET", "/cases", summary="案件列表 / List cases", response="CaseList", query=CASE_FILTERS, tag="cases")
def list_cases():
    items, next_id = services().cases.search(
        actor(), type=query("type"), status=query("status"), level=query("level"), owner=query("owner"),
        overdue=bool(query("overdue")), q=query("q"), after=query("after"), limit=query("limit") or DEFAULT_PAGE)
    return page(items, next_id)


@route("GET", "/cases/<id:case_id>", summary="案件详情 / A case", response="Case", tag="cases")
def get_case(case_id: int):
    return services().cases.get(actor(), case_id)


@route("GET", "/cases/<id:case_id>/events", summary="案件历史（哈希链）/ A case's hash-chained history",
       response="EventList", tag="cases")
def case_events(case_id: int):
    return {"items": services().cases.history(actor(), case_id)}


@route("POST", "/cases/<id:case_id>/messages/<name>",
       summary="向案件投递消息（法院结果、撤回、复查申请……）/ Deliver a message to a case",
       body="Message", response="Case", errors=(403, 409), tag="cases")
def send_message(case_id: int, name: str):
    return services().cases.send_message(actor(), case_id, name, form_data(json_body()))


@route("GET", "/cases/<id:case_id>/unmasked",
       summary="查看完整身份证号和电话（仅承办人员，记入案件历史）/ A case with unmasked ID numbers and phones "
               "(handlers only; recorded in the history)",
       response="Case", errors=(403,), tag="cases")
def unmasked_case(case_id: int):
    return services().cases.unmasked(actor(), case_id)
