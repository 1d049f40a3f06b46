"""Which ProcessApplication serves which case type, and the System built with them.

The mediation and petition case types get their own modules here as their flows land; any
other deployed process runs with the engine's defaults (lane name = role code) and the forms
under `bpmn/forms/`.
"""
from __future__ import annotations

from engine.application import ProcessApplication
from engine.config import Settings
from engine.system import System

from . import board_reach, board_tally, dashboard_tally
from .mediation import MediationApplication
from .petition import PetitionApplication, PetitionRules


def build_system(settings: Settings | None = None) -> System:
    settings = settings or Settings.from_env()
    forms_dir = settings.bpmn_dir / "forms"
    mediation = MediationApplication(forms_dir)
    petition = PetitionApplication(forms_dir, PetitionRules(backlog_days=settings.backlog_days))
    system = System(settings, applications={"mediation": mediation, "petition": petition},
                    default_application=lambda key: ProcessApplication(key, forms_dir=forms_dir))
    dashboard_tally.register(system)  # the dashboard's counts, kept with every case write
    board_tally.register(system)  # the petition board's
    board_reach.register(system)  # the board's petitions a reader reaches outside its units
    return system
