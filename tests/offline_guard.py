"""No test may reach past loopback: a name lookup of any other host fails at once and fails the test.

The machine that runs CI has no network, so a test that forgets to serve a source (GitHub, AWS) itself
does not fail there: the client's retries wait out their back-off (2 + 4 + 8 s for GitHub) and the
source becomes an `error` the test may not look at. Fifteen runbook tests did exactly that, 14 s each.
This guard makes such a test fail and say which host it asked for. Subprocesses are not covered.
"""

from __future__ import annotations

import socket

LOCAL = {"localhost", "127.0.0.1", "::1", "0.0.0.0", "", None}


class Guard:
    def __init__(self) -> None:
        self.asked: list[str] = []
        self._real = socket.getaddrinfo

    def getaddrinfo(self, host, *args, **kwargs):
        name = host.decode() if isinstance(host, bytes) else host
        if name not in LOCAL and not str(name).startswith("127.") and not str(name).endswith(".localhost"):
            self.asked.append(str(name))
            raise socket.gaierror(socket.EAI_NONAME, f"tests are offline: no lookup of {name!r}")
        return self._real(host, *args, **kwargs)
