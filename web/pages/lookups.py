"""The county's units and people as a page needs them to say names: read once per request (a page
names units and people in its form, its summary and its history alike)."""
from __future__ import annotations

from flask import current_app, g


def users() -> list[dict]:
    if "county_users" not in g:
        g.county_users = current_app.extensions["fengqiao"].people.users(g.actor)
    return g.county_users


def org_units() -> list[dict]:
    if "county_units" not in g:
        g.county_units = current_app.extensions["fengqiao"].people.org_units(g.actor)
    return g.county_units
