"""The approval request client (``bot/client.py``): ``PausebotClient``, ``AsyncPausebotClient``,
``Approval``, ``ApprovalError``, ``verify_callback``, ``InvalidSignature``."""

from bot.client import (
    Approval,
    ApprovalError,
    AsyncPausebotClient,
    InvalidSignature,
    PausebotClient,
    parse_input_option,
    verify_callback,
)

__all__ = [
    "Approval",
    "ApprovalError",
    "AsyncPausebotClient",
    "InvalidSignature",
    "PausebotClient",
    "parse_input_option",
    "verify_callback",
]
