"""schemathesis against the REST API: the OpenAPI document and the server must agree.

The bundled workflows are deployed on a store seeded with the demo county and its cases (mediation
and petition cases at several stages, a subsidy entry, notifications after a sweep), the app is
served over HTTP in this process, and schemathesis runs its examples, coverage (boundary values,
missing and wrong-typed fields, invalid parameters) and fuzzing phases (schema-valid and
schema-violating requests) as one user of every role in turn. Every response is checked for server
errors, undocumented status codes, undocumented content types, bodies that do not match the
documented schema, and schema-violating requests that were not refused. The run is bounded by the
number of examples per operation (`MAX_EXAMPLES`), not by time (with a time limit schemathesis keeps
fuzzing until it is spent, so what ran would depend on the machine); the coverage phase enumerates
the document once per role it runs as. The count of requests is printed at the end of the test
session (tests/conftest.py).
"""
from __future__ import annotations

import logging
import threading
from collections.abc import Iterator
from datetime import timedelta

import pytest
import schemathesis
from schemathesis.config import SchemathesisConfig
from schemathesis.engine import events, from_schema
from werkzeug.serving import make_server

from engine.accounts import create_token
from tests.conftest import BPMN_DIR, definition_files, deploy_files, make_system
from usecases import CLI
from web.app import create_app

pytestmark = pytest.mark.slow

# One demo user per role (usecases/demo.py): each runs the whole document with their own token.
USERS = {"intake": "intake", "mediator": "mediator_village", "court_liaison": "court_liaison",
         "petition_officer": "petition_officer", "leader": "leader", "justice_officer": "justice_town",
         "auditor": "auditor", "admin": "admin"}
MAX_EXAMPLES = 10  # fuzzing examples per operation and generation mode, per role
# The coverage phase (boundary values, each field missing or of a wrong type, every invalid parameter)
# reaches the same checks whatever the role once past authorization: it runs as the roles that may
# do the most (every route's validation is reached), the fuzzing phase as every role.
COVERAGE_ROLES = ("admin", "mediator")
CHECKS = ("not_a_server_error", "status_code_conformance", "content_type_conformance",
          "response_schema_conformance", "negative_data_rejection")


@pytest.fixture
def served(database_url) -> Iterator[tuple[str, dict[str, str]]]:
    """The API of a seeded store, served over HTTP on a free local port, and a token per role."""
    system = make_system(database_url, BPMN_DIR)
    deploy_files(system, definition_files())
    system.services.admin.seed_demo(CLI)
    system.clock.advance(timedelta(days=20))  # deadlines warn and fire: inbox items, outbox messages
    system.sweep()
    with system.db.write() as session:
        tokens = {role: create_token(session, username, system.clock.now()) for role, username in USERS.items()}
    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # no line per request
    server = make_server("127.0.0.1", 0, create_app(services=system.services), threaded=False)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.port}", tokens
    server.shutdown()
    thread.join()
    system.close()


def config_for(token: str, coverage: bool) -> SchemathesisConfig:
    return SchemathesisConfig.from_dict({
        "seed": 20260901,
        "suppress-health-check": ["all"],
        "headers": {"Authorization": f"Bearer {token}"},
        "generation": {"max-examples": MAX_EXAMPLES, "mode": "all", "deterministic": True, "database": "none"},
        "checks": {"enabled": False, **{name: {"enabled": True} for name in CHECKS}},
        "phases": {"examples": {"enabled": coverage}, "coverage": {"enabled": coverage}, "fuzzing": {"enabled": True},
                   "stateful": {"enabled": False}},
    })


def run(base_url: str, token: str, coverage: bool) -> tuple[int, list[str], list[str]]:
    """(requests generated, failures, errors) of one schemathesis run as one token."""
    schema = schemathesis.openapi.from_url(f"{base_url}/api/v1/openapi.json", config=config_for(token, coverage))
    requests, failures, errors = 0, [], []
    for event in from_schema(schema).execute():
        if isinstance(event, events.ScenarioFinished):
            requests += len(event.recorder.interactions)
            for case_id, checks in event.recorder.checks.items():
                for check in checks:
                    if check.failure_info is None:
                        continue
                    case = event.recorder.cases[case_id].value
                    response = event.recorder.interactions[case_id].response if case_id in \
                        event.recorder.interactions else None
                    failures.append(f"{event.recorder.label} {check.name}: {check.failure_info.failure.title}\n"
                                    f"  {check.failure_info.failure.message}\n  {case.as_curl_command()}\n"
                                    f"  → {response.status_code if response else '?'} "
                                    f"{(response.content or b'')[:300] if response else ''}")
        elif isinstance(event, events.NonFatalError):
            errors.append(f"{event.label}: {event.value!r}")
        elif isinstance(event, events.FatalError):
            errors.append(f"fatal: {event.exception!r}")
    return requests, failures, errors


def test_the_server_does_exactly_what_its_openapi_document_says(served, record_property):
    base_url, tokens = served
    total, failures, errors = 0, [], []
    for role, token in tokens.items():
        requests, found, failed = run(base_url, token, role in COVERAGE_ROLES)
        total += requests
        failures += [f"[{role}] {f}" for f in found]
        errors += [f"[{role}] {e}" for e in failed]
    record_property("matrix", f"schemathesis: {total} generated requests as {len(tokens)} roles, "
                              f"{len(failures)} failures, {len(errors)} errors")
    assert total > 2000, total  # it ran: the document was read and every operation tried
    assert not errors, "\n".join(errors[:20])
    assert not failures, f"{len(failures)} failures:\n" + "\n".join(failures[:30])
