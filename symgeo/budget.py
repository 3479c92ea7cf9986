"""Time budgets for symbolic work.

SymPy's ``integrate``, ``summation`` and ``simplify`` can run for minutes on
inputs they eventually fail on. Every such call in symgeo runs inside
:func:`time_budget`, which interrupts it with :class:`BudgetExceeded` after a
wall-clock limit, so a derivation strategy can give up and hand over to the next
one. The interruption uses ``SIGALRM`` and therefore only works in the main
thread of a POSIX process; elsewhere the budget is not enforced and a DEBUG
message says so.
"""

import logging
import signal
import threading
import time
from contextlib import contextmanager

from .errors import DerivationError

log = logging.getLogger(__name__)


class BudgetExceeded(DerivationError):
    """A symbolic computation ran past its time budget."""


def _can_interrupt():
    return (
        hasattr(signal, "setitimer")
        and threading.current_thread() is threading.main_thread()
    )


@contextmanager
def time_budget(seconds, what):
    """Run the body for at most ``seconds`` of wall-clock time.

    Budgets nest: an inner budget never outlives the one around it.

    >>> with time_budget(5, "a quick sum"):
    ...     total = sum(range(10))
    >>> total
    45
    """
    if seconds is None or not _can_interrupt():
        if seconds is not None:
            log.debug("time budget for %s not enforced outside the main thread", what)
        yield
        return

    outer_remaining, _ = signal.getitimer(signal.ITIMER_REAL)
    limit = seconds if outer_remaining == 0 else min(seconds, outer_remaining)
    inner_is_binding = outer_remaining == 0 or seconds < outer_remaining

    def on_alarm(signum, frame):
        if inner_is_binding:
            raise BudgetExceeded(f"{what} did not finish within {seconds:g} s")
        previous_handler(signum, frame)

    previous_handler = signal.signal(signal.SIGALRM, on_alarm)
    start = time.monotonic()
    signal.setitimer(signal.ITIMER_REAL, limit)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous_handler)
        if outer_remaining:
            left = outer_remaining - (time.monotonic() - start)
            signal.setitimer(signal.ITIMER_REAL, max(left, 1e-3))
