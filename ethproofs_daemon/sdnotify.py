"""systemd's ``sd_notify`` protocol: datagrams to ``$NOTIFY_SOCKET`` (sd_notify(3)).

The daemon sends ``READY=1`` once the store is open and HTTP is bound, ``WATCHDOG=1`` at half of
``$WATCHDOG_USEC`` from the event loop (so a wedged loop gets the daemon restarted),
``STOPPING=1`` on shutdown, ``STATUS=...`` for ``systemctl status``. Without ``NOTIFY_SOCKET``
every call does nothing. An abstract socket name starts with ``@``. The watchdog is ours only
when ``$WATCHDOG_PID`` is unset or our pid (sd_watchdog_enabled(3)).
"""

from __future__ import annotations

import os
import socket
from collections.abc import Mapping

import trio


class SystemdNotifier:
    """Sends notifications when run under systemd (``Type=notify``); otherwise a no-op.

    ``env`` (default ``os.environ``) is read once, here: ``NOTIFY_SOCKET``, ``WATCHDOG_USEC``
    (microseconds) and ``WATCHDOG_PID``.
    """

    def __init__(self, env: Mapping[str, str] | None = None) -> None:
        env = os.environ if env is None else env
        address = env.get("NOTIFY_SOCKET", "")
        self.address: str | None = None
        if address:
            self.address = "\0" + address[1:] if address.startswith("@") else address
        usec = env.get("WATCHDOG_USEC", "")
        pid = env.get("WATCHDOG_PID", "")
        watchdog_for_us = usec.isdigit() and (not pid or pid == str(os.getpid()))
        #: Seconds between ``WATCHDOG=1`` pings (half the configured timeout), or None.
        self.watchdog_interval_s: float | None = int(usec) / 2e6 if watchdog_for_us else None

    def notify(self, message: str) -> bool:
        """Send one datagram (e.g. ``"READY=1"``).

        Returns:
            True when sent; False when not under systemd or on any socket error (never raises).
        """
        if self.address is None:
            return False
        try:
            with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
                sock.connect(self.address)
                sock.sendall(message.encode())
            return True
        except OSError:
            return False

    async def watchdog_loop(self) -> None:
        """Ping ``WATCHDOG=1`` every ``watchdog_interval_s`` until cancelled; returns at once
        when the watchdog is off or not ours, or there is no ``NOTIFY_SOCKET``."""
        if self.watchdog_interval_s is None or self.address is None:
            return
        while True:
            self.notify("WATCHDOG=1")
            await trio.sleep(self.watchdog_interval_s)
