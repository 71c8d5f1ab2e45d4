"""The web UI's router: each page in its own module, assembled here.

- ``auth.py``: sign-in (password users of ``PAUSEBOT_UI_USERS`` or the API token), sessions,
  CSRF-checked forms, flash messages.
- ``list_page.py``: ``/ui/executions`` and bulk resume (asks first).
- ``execution_page.py``: one execution, its decision buttons, pause and kill.
- ``flows_page.py``: ``/ui/flows``, one flow's YAML and revisions, the Run form.
- ``link_pages.py``: signed resume links (``/resume/{token}``), the one page without sign-in.

Anything else under ``/ui/`` gets a styled "Not found" page, never the API's JSON.
The app (``bot/server.py``) includes ``router`` and provides ``request.app.state.engine``,
``.settings`` and ``.links``.
"""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter, Request
from fastapi.responses import FileResponse, Response

from bot.ui import auth, execution_page, flows_page, link_pages, list_page
from bot.ui.auth import Visitor, visitor_of
from bot.ui.pages import PageRoute, message, see_other

router = APIRouter()  # what the app includes: the UI's pages and the link pages
_ui = APIRouter(include_in_schema=False, route_class=PageRoute)

_STATIC = Path(__file__).parent / "static"
_STATIC_TYPES = {".css": "text/css; charset=utf-8", ".js": "text/javascript; charset=utf-8"}


@_ui.get("/ui")
@_ui.get("/ui/")
def ui_home() -> Response:
    return see_other("/ui/executions")


@_ui.get("/ui/static/{name}")
def ui_static(name: str) -> Response:
    path = _STATIC / name
    media_type = _STATIC_TYPES.get(path.suffix)
    if "/" in name or name.startswith(".") or media_type is None or not path.is_file():
        return Response("not found", status_code=404, media_type="text/plain")
    return FileResponse(path, media_type=media_type, headers={"Cache-Control": "max-age=300"})


def _unknown_page(request: Request) -> Response:
    visitor = visitor_of(request)
    context = visitor.context() if isinstance(visitor, Visitor) else {}
    return message(
        "Not found",
        f"There is no page at {request.url.path}. It may have moved, or the link is incomplete.",
        status=404,
        **context,
    )


router.include_router(_ui)
router.include_router(auth.router)
router.include_router(list_page.router)
router.include_router(execution_page.router)
router.include_router(flows_page.router)
router.include_router(link_pages.router)
# Last, so that every real page matches first.
router.add_api_route(
    "/ui/{rest:path}",
    _unknown_page,
    methods=["GET", "POST"],
    include_in_schema=False,
    route_class_override=PageRoute,
)
