"""Use cases of the people who run the service: the consistency check, backups and restores, the
health of the service and its figures for monitoring."""
from __future__ import annotations

import hmac
import ipaddress
from pathlib import Path

from engine import backup as backups
from engine import health as store_health
from engine import history as case_history
from engine.application import Actor
from engine.check import CheckReport, ConsistencyCheck
from engine.errors import NotFound

from . import authorization as authz
from .base import UseCases


class Operations(UseCases):
    def check(self, actor: Actor) -> CheckReport:
        """Every case's workflow state, tasks, deadlines, history and ledger agree; the chains verify;
        no outbox message was sent twice or lost (engine/check.py)."""
        authz.require("operations.check", actor)
        return ConsistencyCheck(self.engine).run()

    def pack(self, actor: Actor, limit: int = case_history.PACK_LIMIT) -> case_history.PackReport:
        """Pack the histories of up to `limit` closed cases with new events into one row each
        (`System.pack_closed`, what the scheduler does every ten minutes), e.g. a store's backlog after
        migration 0021."""
        authz.require("operations.pack", actor)
        return self.system.pack_closed(limit)

    def backup(self, actor: Actor, path: str | Path) -> backups.BackupResult:
        """A consistent copy of the store, taken while the service runs."""
        authz.require("operations.backup", actor)
        return backups.backup(self.db, Path(path))

    def restore(self, actor: Actor, path: str | Path) -> backups.BackupResult:
        """Load a backup into this store, which must be empty, and bring its schema up to date."""
        authz.require("operations.restore", actor)
        result = backups.restore(self.db, Path(path))
        self.system.upgrade()  # a backup of an earlier release gets the newer migrations
        return result

    def health(self) -> store_health.Health:
        """Public (a load balancer asks it): whether the store answers, a scheduler sweeps and the
        outbox moves. It says nothing about cases or people."""
        s = self.system.settings
        try:
            now = self.now()
        except Exception:  # the simulated clock lives in the store: the store check below says why
            from engine.clock import utcnow
            now = utcnow()
        return store_health.health(self.db, now, sweep_max_age=s.health_sweep_max_age_seconds,
                                   outbox_max_age=s.health_outbox_max_age_seconds)

    def metrics_access(self, client_address: str | None, bearer: str | None) -> None:
        """Who may read /metrics: with FENGQIAO_METRICS_TOKEN set, whoever sends it as a bearer token;
        without it, clients on this machine only. Anyone else is answered as if there were no such page."""
        token = self.system.settings.metrics_token
        if token:
            if bearer and hmac.compare_digest(bearer.encode(), token.encode()):
                return
        elif _is_loopback(client_address):
            return
        raise NotFound("没有这个页面 / not found")

    def figures(self) -> store_health.Figures:
        """The store's figures for /metrics (counts only: no case, no person). Callers pass metrics_access first."""
        return store_health.figures(self.db, self.now())


def _is_loopback(address: str | None) -> bool:
    try:
        return address is not None and ipaddress.ip_address(address).is_loopback
    except ValueError:
        return False
