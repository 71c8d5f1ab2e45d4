"""What route handlers take from the running app (set up by ``bot.server.create_app``)."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from engine.engine import Engine


def engine_of(request: Request) -> Engine:
    engine: Engine = request.app.state.engine
    return engine


EngineDep = Annotated[Engine, Depends(engine_of)]
