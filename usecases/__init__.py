"""The application layer: one method per use case, which every entry point calls (the REST API, the
pages, the command line, the scheduler). Each takes the actor and the input, checks the
authorization table (`authorization.py`), runs in its own unit of work and returns a read model."""
from __future__ import annotations

from engine.application import SYSTEM, Actor
from engine.config import Settings
from engine.system import System

from .admin import Admin
from .audit import Audit
from .cases import Cases
from .dashboard import Dashboard
from .definitions import Definitions
from .documents import Documents
from .leader import Leader
from .notifications import Notifications
from .operations import Operations
from .people import People
from .petitions import Petitions
from .reports import Reports
from .subsidies import Subsidies
from .tasks import Tasks
from .zero_reports import ZeroReports

# The command line acts as the system (an operator with the machine's shell may do everything);
# its name in the history is "cli".
CLI = Actor("cli", frozenset({"system"}))


class Services:
    """Every use case, grouped by area, over one System."""

    def __init__(self, system: System):
        self.system = system
        self.cases = Cases(system)
        self.tasks = Tasks(system, self.cases)
        self.petitions = Petitions(system, self.cases)
        self.leader = Leader(system)
        self.subsidies = Subsidies(system)
        self.dashboard = Dashboard(system)
        self.audit = Audit(system)
        self.people = People(system)
        self.notifications = Notifications(system)
        self.admin = Admin(system)
        self.operations = Operations(system)
        self.definitions = Definitions(system)  # deployed versions, moving cases between them
        self.documents = Documents(system)  # the standard papers printed from a case
        self.reports = Reports(system)  # the quarterly statistics
        from .sign_in import SignIns  # the pages' sign-in (and the API's tokens) live there
        self.sign_ins = SignIns(system)
        self.zero_reports = ZeroReports(system)  # 零上报; adds its reminders to the system's sweep

    def areas(self, actor: Actor) -> set[str]:
        """Which areas of the pages the actor has use for (the navigation shows just these)."""
        from . import authorization as authz
        found = {"inbox"}
        checks = {"tasks": ("area.tasks", None), "register_mediation": ("case.register", "mediation"),
                  "register_petition": ("case.register", "petition"), "petitions_board": ("petitions.board", None),
                  "leader": ("area.leader", None), "audit": ("audit.verify", None),
                  "dashboard": ("area.dashboard", None), "admin": ("admin.users", None)}
        for area, (use_case, case_type) in checks.items():
            if authz.allowed(use_case, actor, {"anywhere"}, case_type=case_type):
                found.add(area)
        for kind in ("mediation", "petition"):  # the quarterly statistics
            if authz.allowed(f"report.{kind}", actor, {"anywhere"}):
                found.add(f"report_{kind}")
        if authz.allowed("subsidy.read", actor, {authz.ENTRY_OFFICE, authz.OFFICE_ABOVE, authz.PAYEE}):
            found.add("subsidies")
        if authz.allowed("zero_report.read", actor, {authz.IN_UNIT, authz.UNIT_ABOVE}):
            found.add("zero_reports")
        return found

    def actor_for_token(self, token: str) -> Actor:
        from engine.accounts import actor_for_token
        with self.system.db.read() as session:
            return actor_for_token(session, token, self.system.clock.now())

    def close(self) -> None:
        self.system.close()


def build_services(settings: Settings | None = None, system: System | None = None) -> Services:
    if system is None:
        from workflows import build_system
        system = build_system(settings)
    return Services(system)


__all__ = ["Services", "build_services", "CLI", "SYSTEM"]
