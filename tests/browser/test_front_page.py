"""The service as a browser shows it: a real headless Chromium loads the pages people open."""
from __future__ import annotations

import shutil
import subprocess
import threading

import pytest
from werkzeug.serving import make_server

from tests.conftest import FIXTURES, make_system
from web.app import create_app

pytestmark = pytest.mark.browser

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


@pytest.fixture
def served(tmp_path):
    system = make_system(f"sqlite:///{tmp_path / 'browser.db'}", FIXTURES / "bpmn")
    server = make_server("127.0.0.1", 0, create_app(system=system), threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    system.close()


def rendered_dom(url: str, tmp_path) -> str:
    if CHROMIUM is None:
        pytest.skip("browser: Debian's chromium is not installed (.ci/run installs it)")
    result = subprocess.run(
        [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
         f"--user-data-dir={tmp_path / 'profile'}", "--dump-dom", url],
        capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr[-2000:]
    return result.stdout


def test_the_front_page_says_what_the_service_is_in_chinese_first(served, tmp_path):
    dom = rendered_dom(served + "/", tmp_path)
    assert "枫桥" in dom or "fengqiao" in dom
    assert "/api/v1/openapi.json" in dom
    chinese, english = dom.find("调解"), dom.lower().find("mediation")
    assert chinese != -1 and (english == -1 or chinese < english)


def test_the_api_document_opens_in_a_browser(served, tmp_path):
    dom = rendered_dom(served + "/api/v1/openapi.json", tmp_path)
    assert "openapi" in dom and "/cases" in dom
