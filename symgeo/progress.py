"""What a long command is doing, said on stderr while it works.

Derivation stages log INFO messages as they start and finish; without ``-v``
they are not shown. :func:`reporting` keeps the latest one and, once a command
has run for :data:`PROGRESS_AFTER` seconds, prints it every
:data:`PROGRESS_EVERY` seconds, so that a derivation taking minutes (a closure
decided by quadrature, a family of the user's with hard integrals) is never
silent.
"""

import logging
import sys
import threading
import time
from contextlib import contextmanager

PROGRESS_AFTER = 15.0
PROGRESS_EVERY = 30.0


class _Latest(logging.Handler):
    """Remembers the latest message of symgeo's loggers at INFO or above."""

    def __init__(self):
        super().__init__(logging.INFO)
        self.message = "starting"

    def emit(self, record):
        self.message = record.getMessage()


@contextmanager
def reporting(enabled=True, after=PROGRESS_AFTER, every=PROGRESS_EVERY):
    """Within the block, print "symgeo: still working (T s); latest step: ..."
    to stderr after ``after`` seconds and then every ``every`` seconds; the
    symgeo loggers must pass INFO records (the command line sets them so, and
    shows them only with ``-v``)."""
    if not enabled:
        yield
        return
    logger = logging.getLogger("symgeo")
    latest = _Latest()
    logger.addHandler(latest)
    start = time.monotonic()
    stop = threading.Event()

    def speak():
        wait = after
        while not stop.wait(wait):
            elapsed = time.monotonic() - start
            print(
                f"symgeo: still working ({elapsed:.0f} s); latest step: "
                f"{latest.message}",
                file=sys.stderr,
                flush=True,
            )
            wait = every

    thread = threading.Thread(target=speak, name="symgeo-progress", daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join()
        logger.removeHandler(latest)
