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


def names() -> dict[str, str]:
    """username → the name shown: from the users when the page read them anyway, else only the names."""
    if "county_names" not in g:
        g.county_names = ({u["username"]: u["display_name"] or u["username"] for u in g.county_users}
                          if "county_users" in g else current_app.extensions["fengqiao"].people.names(g.actor))
    return g.county_names
