"""Routes of the web UI (placeholder until the UI lands)."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter()
