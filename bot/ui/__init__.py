"""The web UI: executions, resume forms, signed-link pages."""
