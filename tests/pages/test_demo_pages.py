"""`fengqiao serve --demo` as a trainer meets it: the demo county's village mediator signs in with the
password printed for them and works a task in the pages, the way the README says."""
from __future__ import annotations

import re

from tests.conftest import BPMN_DIR, definition_files, deploy_files, make_system
from tests.pages.conftest import PageUser
from usecases import CLI


def test_a_demo_mediator_signs_in_with_the_printed_password_and_works_a_task(database_url):
    system = make_system(database_url, BPMN_DIR)
    try:
        deploy_files(system, definition_files(BPMN_DIR))
        accounts, _cases = system.services.admin.seed_demo(CLI)
        password = next(a.password for a in accounts if a.username == "mediator_village")
        from web.app import create_app
        person = PageUser(create_app(services=system.services))

        assert person.login("mediator_village", password).status_code in (302, 303)
        worklist = person.page("/tasks")
        task_id = int(re.search(r'href="/tasks/(\d+)"', worklist).group(1))
        form = person.page(f"/tasks/{task_id}")
        assert "提交" in form and 'name="version"' in form
        version = re.search(r'name="version" value="(\d+)"', form).group(1)

        done = person.submit(f"/tasks/{task_id}", {"version": version, "result": "no_agreement"})

        assert done.status_code == 303 and done.headers["Location"].startswith("/tasks")
        assert "已提交" in person.page(done.headers["Location"])
        assert f'href="/tasks/{task_id}"' not in person.page("/tasks")
    finally:
        system.close()
