"""Commands arriving on ``<base>/cmd``: parsed, handed to the daemon, bad ones answered.

A bad command is answered on ``<base>/error`` at most once a second, with a log line at
most once a minute, so a flood of them costs neither the broker nor the journal nor the
readings anything; the next answer says how many went unanswered. Runs on paho's network
thread: ``on_command`` must return quickly.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

from .commands import Command, CommandError, parse_command
from .payloads import Error

logger = logging.getLogger(__name__)

REPLY_SECONDS = 1.0
LOG_SECONDS = 60.0


class CommandInbox:
    def __init__(self, max_bytes: int, on_command: Callable[[Command], None] | None,
                 publish_error: Callable[[Error], object]) -> None:
        self.max_bytes = max_bytes
        self.on_command = on_command
        self.publish_error = publish_error
        self.refused = 0  # bad commands since the start, answered or not
        self._answered_at = self._logged_at = -1e18
        self._unanswered = self._unlogged = 0

    def receive(self, topic: str, payload: bytes, retain: bool) -> None:
        try:
            if retain:
                raise CommandError("retained commands are ignored (they would run again on "
                                   "every reconnect); publish without the retain flag")
            command = parse_command(payload, self.max_bytes)
        except CommandError as exc:
            self._refuse(topic, exc.reason)
            return
        logger.info("command: %s", command)
        if self.on_command is None:
            return
        try:
            self.on_command(command)
        except Exception as exc:
            logger.exception("command %s failed", command)
            self.publish_error(Error("command_failed", f"{command}: {exc}"))

    def _refuse(self, topic: str, reason: str) -> None:
        now = time.monotonic()
        self.refused += 1
        self._unanswered += 1
        self._unlogged += 1
        if now - self._logged_at >= LOG_SECONDS:
            more = self._unlogged - 1
            logger.warning("rejected a command on %s: %s%s", topic, reason,
                           f" ({more} more since the last such line)" if more else "")
            self._logged_at, self._unlogged = now, 0
        if now - self._answered_at >= REPLY_SECONDS:
            extra = {"unanswered": self._unanswered - 1} if self._unanswered > 1 else {}
            self.publish_error(Error("bad_command", reason, extra))
            self._answered_at, self._unanswered = now, 0
