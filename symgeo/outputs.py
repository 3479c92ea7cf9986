"""Checks of the files and folders a command writes, made before any work is done.

A derivation can take minutes; a mistyped ``-o`` or ``--plot`` should fail at
once, not after it. :func:`check_output_file` and :func:`check_output_folder`
raise :class:`~symgeo.errors.SpecError` for a path that cannot be written, and
:func:`writing` turns an ``OSError`` met while writing anyway (a read-only or
virtual file system such as ``/proc``) into the same kind of error.
"""

import os
from contextlib import contextmanager
from pathlib import Path

from .errors import SpecError


def check_output_file(path, what):
    """Raise unless the folder of the file ``path`` exists and is writable.

    ``what`` names the file in the message ("the report", "the figure").

    >>> check_output_file("/nonexistent/x.png", "the figure")
    Traceback (most recent call last):
    ...
    symgeo.errors.SpecError: cannot write the figure to /nonexistent/x.png: the \
    folder /nonexistent does not exist; create it or choose another path
    """
    path = Path(path)
    if path.is_dir():
        raise SpecError(
            f"cannot write {what} to {path}: it is a folder; give a file name inside it"
        )
    _check_writable_folder(path.parent, f"{what} to {path}")


def check_output_folder(folder, what):
    """Raise unless ``folder`` is, or can be created as, a writable folder.

    >>> import tempfile
    >>> with tempfile.NamedTemporaryFile() as afile:
    ...     check_output_folder(f"{afile.name}/x", "the kernels")
    Traceback (most recent call last):
    ...
    symgeo.errors.SpecError: cannot write the kernels to .../x: ... is a file, \
    not a folder; choose another path
    """
    folder = Path(folder)
    existing = folder
    while not existing.exists() and existing != existing.parent:
        existing = existing.parent
    _check_writable_folder(existing, f"{what} to {folder}")


def _check_writable_folder(folder, target):
    folder = folder if str(folder) else Path(".")
    if not folder.exists():
        raise SpecError(
            f"cannot write {target}: the folder {folder} does not exist; create it "
            "or choose another path"
        )
    if not folder.is_dir():
        raise SpecError(
            f"cannot write {target}: {folder} is a file, not a folder; choose "
            "another path"
        )
    if not os.access(folder, os.W_OK | os.X_OK):
        raise SpecError(
            f"cannot write {target}: the folder {folder} is not writable; choose "
            "another path"
        )


@contextmanager
def writing(what, path):
    """Turn an ``OSError`` raised inside the block into a one-sentence error.

    >>> import tempfile
    >>> with tempfile.NamedTemporaryFile() as afile, writing("the kernels", "x"):
    ...     Path(afile.name, "x").mkdir()
    Traceback (most recent call last):
    ...
    symgeo.errors.SpecError: cannot write the kernels to x (Not a directory); check \
    that its folder exists and is writable
    """
    try:
        yield
    except OSError as exc:
        reason = exc.strerror or str(exc)
        raise SpecError(
            f"cannot write {what} to {path} ({reason}); check that its folder "
            "exists and is writable"
        ) from None
