import pytest

from tests.conftest import FIXTURES, deploy_dir, make_system, seed_people


@pytest.fixture(params=["live", "restored"])
def system(request, database_url):
    """Every engine scenario runs twice: with live workflows kept between commands, and with
    the workflow saved and restored from the store at every command (no cache)."""
    cache = 256 if request.param == "live" else 0
    system = make_system(database_url, FIXTURES / "engine", workflow_cache_size=cache)
    deploy_dir(system, FIXTURES / "engine")
    deploy_dir(system, FIXTURES / "bpmn")
    system.people = seed_people(system)
    yield system
    system.close()
