"""The Kestra-compatible REST API, mounted under ``/api/v1`` (and ``/api/v1/main``, Kestra 1.x's
default tenant) by ``bot.server``.

    auth.py        bearer token (PAUSEBOT_API_TOKEN), basic auth users, the acting user
    bodies.py      body size limit; reading form/JSON input values and flow YAML
    errors.py      engine errors -> status codes and Kestra-like JSON bodies, in one place
    flows.py       /flows
    executions.py  /executions (start, read, search, resume, bulk resume, pause, kill), /logs
    files.py       /executions/{id}/file and /file/metas (the execution's kestra:/// files)
    follow.py      /executions/{id}/follow (server-sent events) and start's wait=true
    webhooks.py    /executions/webhook/... (the Webhook trigger; its key is the credential)
    params.py      identifiers and filter text from paths and queries (no control characters);
                   unknown query parameters refused
    links.py       signed resume links: the secret, ``pause.*`` in expressions, resume_with_link
    approvals.py   /approvals: approval requests for any program (create, read, wait, cancel)
"""

from __future__ import annotations

from fastapi import APIRouter, Depends

from bot.api import approvals, executions, files, flows, follow, webhooks
from bot.api.auth import api_actor, require_admin
from bot.api.params import check_path_ids, check_query_names


def api_router() -> APIRouter:
    router = APIRouter()
    # Before the token: the key is the credential.
    router.include_router(webhooks.router, dependencies=[Depends(check_path_ids)])
    # Every query parameter is implemented or refused (422 naming it); the webhook is exempt:
    # its query parameters are the caller's data (trigger.parameters).
    checks = [Depends(check_path_ids), Depends(check_query_names)]
    # Approval requests check their own scope (an approvals-only token may use them).
    router.include_router(approvals.router, dependencies=checks)
    # require_admin first: it records who the token is, which api_actor (cached for the
    # request) reads; the identity headers are checked on every request, acting or not.
    authenticated = APIRouter(dependencies=[Depends(require_admin), Depends(api_actor), *checks])
    authenticated.include_router(flows.router)
    authenticated.include_router(executions.router)
    authenticated.include_router(files.router)
    authenticated.include_router(follow.router)
    router.include_router(authenticated)
    return router
