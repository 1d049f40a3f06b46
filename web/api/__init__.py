"""The REST API, `/api/v1`: one blueprint, one module of routes per area, each route a translation
from HTTP to one use case of the application layer and back.

Every module of this package is imported here (a new one needs no line anywhere), so its routes
register and its `OPENAPI_PATHS` (path items keyed by path under /api/v1) and `OPENAPI_SCHEMAS`
(component schemas) join the OpenAPI document. Routes declared with `http.route` are described from
that same declaration; a module that registers views otherwise describes them in `OPENAPI_PATHS`.
Request bodies are checked against the schemas the document gives them (`http.json_body`)."""
from __future__ import annotations

import importlib
import pkgutil

from .http import EXTENSION, MODULES, ROUTES, URL_PREFIX, bp, in_api, route, services
from .openapi import build_document

MODULES.extend(importlib.import_module(f"{__name__}.{info.name}")
               for info in sorted(pkgutil.iter_modules(__path__), key=lambda m: m.name)
               if info.name not in ("http", "openapi"))


@route("GET", "/openapi.json", summary="本接口的 OpenAPI 文档 / This API's OpenAPI document", response="OpenApiDocument",
       public=True, tag="meta")
def openapi_document():
    return build_document(ROUTES, URL_PREFIX, register_forms=services().cases.register_forms(), modules=MODULES)


__all__ = ["bp", "EXTENSION", "URL_PREFIX", "in_api"]
