"""The REST API, `/api/v1`: one blueprint, one module of routes per area, each route a translation
from HTTP to one use case of the application layer and back. The OpenAPI document is built from the
same route table that registers the views (`http.route`)."""
from __future__ import annotations

from . import (admin, audit, cases, dashboard, definitions, notifications, petitions, subsidies,  # noqa: F401
               tasks)  # (they register their routes)
from .http import EXTENSION, ROUTES, URL_PREFIX, bp, in_api, route
from .openapi import build_document


@route("GET", "/openapi.json", summary="本接口的 OpenAPI 文档 / This API's OpenAPI document", response="OpenApiDocument",
       public=True, tag="meta")
def openapi_document():
    return build_document(ROUTES, URL_PREFIX)


__all__ = ["bp", "EXTENSION", "URL_PREFIX", "in_api"]
