"""The crash soak, small: `bench/soak.py` with 3 kills, so that every run of the suite kills a real
server with SIGKILL mid-work and finds the store consistent after each restart (no timing asserted)."""
from __future__ import annotations

import pytest

from bench.soak import soak


@pytest.mark.slow
def test_a_server_killed_three_times_leaves_a_consistent_store(database_url, tmp_path):
    figures = soak(database_url, kills=3, max_seconds=600, seed=7, workdir=tmp_path)
    assert figures["kills"] == 3 and figures["checks"] == 3
    assert figures["inconsistencies"] == 0, figures["findings"]
    assert figures["audit_verify_ok"]
    assert figures["server_errors"] == []
    assert figures["cases"] >= 11 and figures["calls_ok"] > 0  # the demo cases and what the clients added
    assert figures["server_header"] is None  # waitress announces nothing
