"""The built-in catalog of families and the reading of TOML specs.

The catalog is the folder ``derivations/`` of the source tree, installed as the
package data ``symgeo/catalog``: one TOML spec per family (design.md 3.1).
"""

import sys
from functools import cache
from pathlib import Path

from .errors import SpecError

if sys.version_info >= (3, 11):
    import tomllib
else:
    import tomli as tomllib


def catalog_dir():
    """The folder of built-in specs: installed package data, else the checkout."""
    installed = Path(__file__).with_name("catalog")
    if installed.is_dir():
        return installed
    return Path(__file__).resolve().parents[1] / "derivations"


def builtin_names():
    """Names of the built-in families, sorted.

    >>> "gamma" in builtin_names()
    True
    """
    return sorted(path.stem for path in catalog_dir().glob("*.toml"))


def read_spec(path):
    """``(spec, source, text)`` from a TOML file; SpecError if it does not parse."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise SpecError(
            f"cannot read the spec file {path} ({exc.strerror}); check the path"
        ) from None
    try:
        spec = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise SpecError(f"the spec file {path} is not valid TOML: {exc}") from None
    return spec, str(path), text


@cache
def _builtin(name):
    return read_spec(catalog_dir() / f"{name}.toml")


def builtin_spec(name):
    """``(spec, source, text)`` of the built-in family ``name``."""
    if name not in builtin_names():
        raise SpecError(
            f"there is no built-in family '{name}'; run 'symgeo list' to see them, "
            "or give the path of a .toml spec"
        )
    spec, source, text = _builtin(name)
    return dict(spec), f"builtin:{name}", text


def load_family(name_or_path):
    """A :class:`~symgeo.family.Family` from a built-in name or a spec path.

    >>> load_family("exponential").names
    ('lam',)
    """
    from .family import Family

    text = str(name_or_path)
    if text.endswith(".toml") or Path(text).is_file():
        return Family.from_toml(text)
    return Family.builtin(text)
