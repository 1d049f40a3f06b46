"""`fengqiao init --demo` seeds a few mediation cases at different stages for training."""
from __future__ import annotations

import shutil

from sqlalchemy import select

from engine.config import Settings
from engine.store import Case, LedgerEntry
from tests.mediation.conftest import BPMN, MEDIATION_FILES
from web.cli import main as fengqiao
from workflows import build_system


def test_the_demo_county_comes_with_mediation_cases_at_different_stages(tmp_path, monkeypatch, capsys, database_url):
    folder = tmp_path / "bpmn"
    shutil.copytree(BPMN / "forms" / "mediation", folder / "forms" / "mediation")
    for name in MEDIATION_FILES:
        shutil.copy(BPMN / name, folder / name)
    monkeypatch.setenv("FENGQIAO_DATABASE_URL", database_url)
    monkeypatch.setenv("FENGQIAO_BPMN_DIR", str(folder))

    assert fengqiao(["init", "--demo"]) == 0
    out = capsys.readouterr().out
    assert "MED-2026-" in out or "MED-20" in out

    system = build_system(Settings.from_env())
    try:
        with system.db.read() as session:
            cases = session.execute(select(Case.level, Case.status, Case.outcome).order_by(Case.id)).all()
            entries = session.scalars(select(LedgerEntry.amount_fen)).all()
    finally:
        system.close()
    assert [tuple(c) for c in cases] == [("village", "open", None), ("town", "open", None),
                                         ("village", "open", None), ("village", "closed", "resolved_village"),
                                         ("county", "open", None)]
    assert entries == [3000]  # an oral agreement at village level: the simple rate
