"""`jiliang jobs run`: the scheduler loop. Each round moves the coverage counts' basis to the new day
(once a day: supervision/counts.advance) and delivers the reminders that are due. Safe to run twice
at once: claims are atomic (delivery.py), and advancing the basis to a day it already holds does
nothing."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date

from ..platform import Platform, shanghai_today
from ..supervision import counts
from .delivery import Policy, Tally, deliver_due
from .senders import Senders

__all__ = ["Jobs"]

log = logging.getLogger("jiliang.jobs")


@dataclass
class Jobs:
    platform: Platform
    senders: Senders
    policy: Policy
    today: Callable[[], date] = shanghai_today
    advanced_on: date | None = None

    def round(self) -> Tally:
        """One round: the day's basis (once a day), then the reminders due."""
        day = self.today()
        if self.advanced_on != day:
            with self.platform.uow() as uow:
                counts.advance(uow.conn, day)
                uow.commit()
            self.advanced_on = day
        tally = deliver_due(self.platform, self.senders, day, policy=self.policy)
        log.info("reminders: %s", tally)
        return tally

    def run(self, once: bool, interval: float, rounds: int | None = None) -> None:
        """Rounds every `interval` seconds until stopped (or `rounds` rounds; one with `once`)."""
        n = 0
        while True:
            self.round()
            n += 1
            if once or (rounds is not None and n >= rounds):
                return
            time.sleep(interval)
