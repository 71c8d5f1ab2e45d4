"""pausebot's public Python API for programs that ask for approvals: ``pausebot.client``.

The service itself lives in the ``engine`` and ``bot`` packages.
"""
