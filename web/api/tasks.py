"""REST routes of tasks: the worklist, a task with its form, assignment, completion, extension."""
from __future__ import annotations

from .http import DEFAULT_PAGE, MAX_PAGE, actor, form_data, json_body, page, query, route, services
from .openapi import Param


@route("GET", "/tasks", summary="我的待办（每页默认 50 条）/ The caller's workable tasks, 50 a page by default",
       response="TaskList", tag="tasks", query=(
           Param("case", "只看某个案件 / only this case's tasks", type="integer"),
           Param("after", "上一页返回的 next / the `next` of the previous page", type="integer", minimum=1),
           Param("limit", f"每页条数 / page size (default {DEFAULT_PAGE})", type="integer", minimum=1,
                 maximum=MAX_PAGE)))
def list_tasks():
    items, next_id = services().tasks.worklist_after(actor(), query("case"), after=query("after"),
                                               limit=query("limit") or DEFAULT_PAGE)
    return page(items, next_id)


@route("GET", "/tasks/<id:task_id>", summary="任务详情及其表单 / A task with its form", response="Task",
       tag="tasks")
def get_task(task_id: int):
    return services().tasks.get(actor(), task_id)


@route("POST", "/tasks/<id:task_id>/claim", summary="认领任务 / Claim a task", response="Case",
       errors=(403, 409), tag="tasks")
def claim_task(task_id: int):
    return services().tasks.claim(actor(), task_id)


@route("POST", "/tasks/<id:task_id>/unclaim", summary="退回认领 / Release a claimed task", response="Case",
       errors=(403, 409), tag="tasks")
def unclaim_task(task_id: int):
    return services().tasks.unclaim(actor(), task_id)


@route("POST", "/tasks/<id:task_id>/assign", summary="指派任务 / Assign a task", body="Assignment",
       response="Case", errors=(403, 409), tag="tasks")
def assign_task(task_id: int):
    return services().tasks.assign(actor(), task_id, json_body().get("user"))


@route("POST", "/tasks/<id:task_id>/complete", summary="办结任务 / Complete a task", body="Completion",
       response="Case", errors=(403, 409), tag="tasks")
def complete_task(task_id: int):
    body = json_body()
    return services().tasks.complete(actor(), task_id, form_data(body), body.get("version"))


@route("POST", "/tasks/<id:task_id>/extend", summary="延长任务期限 / Extend a task's deadline", body="Extension",
       response="Case", errors=(403, 409), tag="tasks")
def extend_task(task_id: int):
    return services().tasks.extend(actor(), task_id, json_body())
