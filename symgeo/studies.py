"""Studies: scripts in ``derivations/studies/`` whose pages ``symgeo build`` writes.

A study is a Python file ``derivations/studies/<name>.py``. Its module
docstring's first line is its title, and its function ``run(page, size=1.0)``
computes over symgeo's public API and writes the results on ``page`` (a
:class:`Page`): paragraphs, display formulas, tables, matplotlib figures and
one ``page.finding``, the one-line result that the index and the README carry.
Every number on a page is computed by the run. ``size`` in (0, 1] scales the
work (samples, grid points, iterations): the build runs every study at 1, the
tests at a reduced size.

:func:`build_studies` writes ``<name>.md`` and its figures ``<name>/<figure>.png``
for every study, an ``index.md`` (one row per study: its page and its finding)
and a ``manifest.json`` with, per study, the sha256 of its inputs (the script,
the package files its imports reach, this module and the symgeo version) and
of every file it wrote. :func:`check_studies` compares them with the present
files without running anything, as :func:`symgeo.build.check` does for the
families.

Determinism: figures are :class:`matplotlib.figure.Figure` objects rendered by
Agg (no pyplot state) at a fixed size and dpi, saved without the Software
metadata; studies draw their samples from fixed seeds. Building twice changes
no byte (with the same versions of numpy, scipy, SymPy and matplotlib, which
are not hashed).
"""

import ast
import hashlib
import importlib.util
import io
import json
import logging
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from . import __version__
from .errors import SpecError

log = logging.getLogger(__name__)

MANIFEST = "manifest.json"
INDEX = "index.md"
DPI = 100


# -- the page a study writes -------------------------------------------------------


@dataclass
class Page:
    """The Markdown page of one study, built block by block.

    >>> page = Page("demo", "A demo")
    >>> page.text("One sentence.")
    >>> page.table(["x", "x²"], [[2, 4]])
    >>> print(page.markdown())
    # A demo
    <BLANKLINE>
    One sentence.
    <BLANKLINE>
    | x | x² |
    |---|---|
    | 2 | 4 |
    <BLANKLINE>
    """

    name: str
    title: str
    finding: str = ""
    blocks: list = field(default_factory=list)
    figures: dict = field(default_factory=dict)

    def text(self, paragraph):
        """A paragraph of Markdown (inline formulas as ``$...$``)."""
        self.blocks.append(paragraph.strip())

    def heading(self, title):
        """A section heading."""
        self.blocks.append(f"## {title}")

    def math(self, latex):
        """A display formula."""
        self.blocks.append(f"$$\n{latex.strip()}\n$$")

    def table(self, header, rows):
        """A table; cells are strings or numbers (numbers shown by :func:`number`)."""
        lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
        for row in rows:
            cells = [c if isinstance(c, str) else number(c) for c in row]
            lines.append("| " + " | ".join(c.replace("|", "\\|") for c in cells) + " |")
        self.blocks.append("\n".join(lines))

    def figure(self, name, figure, caption):
        """Embed a matplotlib Figure (see :func:`new_figure`) as ``<name>.png``."""
        buffer = io.BytesIO()
        figure.savefig(buffer, format="png", dpi=DPI, metadata={"Software": None})
        path = f"{self.name}/{name}.png"
        self.figures[path] = buffer.getvalue()
        self.blocks.append(f"![{caption}]({path})\n\n*{caption}*")

    def markdown(self):
        """The page: title, then the blocks separated by blank lines."""
        return "\n\n".join([f"# {self.title}", *self.blocks]) + "\n"


def new_figure(columns=1, rows=1, width=4.2, height=3.4):
    """``(figure, axes)``: an Agg-rendered Figure of columns × rows panels.

    >>> fig, axes = new_figure(2)
    >>> len(axes)
    2
    """
    try:
        from matplotlib.figure import Figure
    except ImportError as exc:
        raise SpecError(
            "the studies draw figures with matplotlib, which is not installed; "
            'install it with pip install "symgeo[plot]"'
        ) from exc
    figure = Figure(figsize=(width * columns, height * rows), layout="constrained")
    axes = figure.subplots(rows, columns, squeeze=False)
    return figure, list(axes.ravel())


def number(value, digits=3):
    """``value`` to ``digits`` significant digits, as a study states it.

    >>> number(0.000123456), number(2.0), number(123456.0), number(True)
    ('0.000123', '2', '1.23e+05', 'yes')
    """
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int):
        return str(value)
    return f"{float(value):.{digits}g}"


# -- running -----------------------------------------------------------------------


@dataclass
class StudyResult:
    """What one study run produced: ``files`` maps relative paths to bytes."""

    name: str
    title: str
    finding: str
    files: dict
    seconds: float


def study_paths(folder):
    """The study scripts of ``folder`` (``*.py``), sorted by name."""
    folder = Path(folder)
    return sorted(folder.glob("*.py")) if folder.is_dir() else []


def load_study(path):
    """The module of the study script ``path``, checked to have ``run``."""
    path = Path(path)
    spec = importlib.util.spec_from_file_location(f"symgeo_study_{path.stem}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    if not callable(getattr(module, "run", None)) or not module.__doc__:
        raise SpecError(
            f"the study {path} needs a module docstring (its first line is the "
            "title) and a function run(page, size=1.0)"
        )
    return module


def run_study(path, size=1.0):
    """Run the study script ``path`` at ``size``; a :class:`StudyResult`."""
    if not 0 < size <= 1:
        raise SpecError(f"the study size must lie in (0, 1], not {size}")
    path = Path(path)
    module = load_study(path)
    page = Page(path.stem, module.__doc__.strip().splitlines()[0].rstrip("."))
    start = time.monotonic()
    module.run(page, size=size)
    seconds = time.monotonic() - start
    if not page.finding:
        raise SpecError(f"the study {path} set no page.finding")
    log.info("study %s in %.1f s", path.stem, seconds)
    files = {f"{page.name}.md": page.markdown().encode("utf-8"), **page.figures}
    return StudyResult(page.name, page.title, page.finding, files, seconds)


# -- inputs ------------------------------------------------------------------------


def study_dependencies(path):
    """Package files (relative posix paths) that the study ``path`` can execute.

    The import closure (:func:`symgeo.build.import_closure`) of the symgeo
    modules the script imports, a name imported from ``symgeo`` itself counting
    as the module that ``symgeo/__init__.py`` takes it from; plus this module,
    which renders the page.
    """
    from .build import PACKAGE, import_closure

    reexports = _reexports(PACKAGE / "__init__.py")
    roots = set()
    for node in ast.walk(ast.parse(Path(path).read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module:
            names = [node.module] + [f"{node.module}.{a.name}" for a in node.names]
            if node.module == "symgeo":
                names += [reexports.get(a.name, "symgeo") for a in node.names]
        else:
            continue
        roots |= {_module_path(PACKAGE, name) for name in names} - {None}
    return sorted({*import_closure(roots), "studies.py", "__init__.py"})


def _reexports(init):
    """``{name: "symgeo.<module>"}`` for the names ``symgeo/__init__.py`` imports."""
    found = {}
    for node in ast.parse(init.read_text(encoding="utf-8")).body:
        if isinstance(node, ast.ImportFrom) and node.level == 1 and node.module:
            for alias in node.names:
                found[alias.asname or alias.name] = f"symgeo.{node.module}"
    return found


def _module_path(package, name):
    parts = name.split(".")
    if parts[0] != "symgeo" or len(parts) == 1:
        return None
    base = package.joinpath(*parts[1:])
    for candidate in (base.with_suffix(".py"), base / "__init__.py"):
        if candidate.is_file():
            return candidate
    return None


def study_inputs(path):
    """``{"script": sha256, "symgeo_version": ..., "code": {file: sha256}}``."""
    from .build import PACKAGE

    return {
        "script": _sha256(Path(path).read_bytes()),
        "symgeo_version": __version__,
        "code": {
            name: _sha256((PACKAGE / name).read_bytes())
            for name in study_dependencies(path)
        },
    }


def _sha256(data):
    return hashlib.sha256(data).hexdigest()


# -- building and checking -----------------------------------------------------------


def build_studies(folder, generated, jobs=1, size=1.0):
    """Run every study of ``folder`` and write its page into ``generated``.

    ``jobs`` studies run in parallel processes; :func:`write_studies` writes
    the results. Returns the paths written.
    """
    paths = study_paths(folder)
    if jobs > 1 and len(paths) > 1:
        with ProcessPoolExecutor(min(jobs, len(paths))) as pool:
            results = list(pool.map(run_study, paths, [size] * len(paths)))
    else:
        results = [run_study(path, size) for path in paths]
    return write_studies(paths, results, generated, size)


def write_studies(paths, results, generated, size=1.0):
    """Write the :class:`StudyResult` of each study script of ``paths``.

    Writes ``<name>.md``, ``<name>/*.png``, ``index.md`` and ``manifest.json``
    into ``generated``; files an older manifest listed that no study makes any
    more are deleted (all of them, with the manifest, when there is no study).
    Returns the paths written.
    """
    generated = Path(generated)
    old = _read_manifest(generated)
    if not paths:
        for name in [*_listed_files(old), MANIFEST] if old is not None else []:
            (generated / name).unlink(missing_ok=True)
        _remove_empty_folders(generated)
        return []
    files = {}
    studies = {}
    for path, result in zip(paths, results, strict=True):
        files.update(result.files)
        studies[result.name] = {
            "title": result.title,
            "finding": result.finding,
            "inputs": study_inputs(path),
            "files": {
                name: _sha256(data) for name, data in sorted(result.files.items())
            },
        }
    index = index_markdown(studies).encode("utf-8")
    files[INDEX] = index
    manifest = {"symgeo_version": __version__, "size": size, "studies": studies}
    files[MANIFEST] = (json.dumps(manifest, indent=2, sort_keys=True) + "\n").encode()

    for name in _listed_files(old) - set(files):
        (generated / name).unlink(missing_ok=True)
    _remove_empty_folders(generated)
    for name, data in sorted(files.items()):
        target = generated / name
        target.parent.mkdir(parents=True, exist_ok=True)
        if not target.is_file() or target.read_bytes() != data:
            target.write_bytes(data)
    return sorted(generated / name for name in files)


def _remove_empty_folders(generated):
    for folder in sorted(Path(generated).glob("*/"), reverse=True):
        if folder.is_dir() and not any(folder.iterdir()):
            folder.rmdir()


def index_markdown(studies, prefix=""):
    """The index: a table of the studies (page link, finding), in name order.

    Links are relative to ``generated/studies/``; the README carries the same
    table with ``prefix="generated/studies/"``.
    """
    rows = ["| study | finding |", "|---|---|"]
    for name, record in sorted(studies.items()):
        finding = record["finding"].replace("|", "\\|")
        rows.append(f"| [{record['title']}]({prefix}{name}.md) | {finding} |")
    return "\n".join(rows) + "\n"


def check_studies(folder, generated):
    """``[(path, reason)]`` of the stale study files; empty when up to date."""
    generated = Path(generated)
    paths = {path.stem: path for path in study_paths(folder)}
    manifest = _read_manifest(generated)
    if manifest is None:
        if paths:
            return [(_show(generated / MANIFEST), "missing (studies to build)")]
        return []
    stale = []
    recorded = manifest.get("studies", {})
    for name in sorted(set(recorded) - set(paths)):
        stale.append((_show(generated / f"{name}.md"), "no study script makes it"))
    for name in sorted(set(paths) - set(recorded)):
        stale.append((_show(generated / f"{name}.md"), "missing (a new study)"))
    for name in sorted(set(paths) & set(recorded)):
        record = recorded[name]
        changed = _changed(record.get("inputs", {}), study_inputs(paths[name]))
        if changed:
            reason = f"made from other inputs: {changed} changed since"
            for listed in sorted(record.get("files", {})):
                stale.append((_show(generated / listed), reason))
    for listed, digest in sorted(_file_digests(manifest).items()):
        target = generated / listed
        if not target.is_file():
            stale.append((_show(target), "missing"))
        elif _sha256(target.read_bytes()) != digest:
            stale.append((_show(target), "edited by hand (hash differs)"))
    known = _listed_files(manifest) | {MANIFEST}
    for target in sorted(generated.rglob("*")):
        relative = target.relative_to(generated).as_posix()
        if target.is_file() and relative not in known:
            stale.append((_show(target), "not listed in the manifest"))
    index = generated / INDEX
    if not index.is_file() or index.read_text(encoding="utf-8") != index_markdown(
        recorded
    ):
        stale.append((_show(index), "does not match the manifest's findings"))
    return stale


def _changed(recorded, present):
    names = []
    if recorded.get("script") != present["script"]:
        names.append("the script")
    if recorded.get("symgeo_version") != present["symgeo_version"]:
        names.append("the symgeo version")
    old, new = recorded.get("code", {}), present["code"]
    names += [
        f"symgeo/{f}" for f in sorted(set(old) | set(new)) if old.get(f) != new.get(f)
    ]
    return ", ".join(names)


def _file_digests(manifest):
    digests = {}
    for record in (manifest or {}).get("studies", {}).values():
        digests.update(record.get("files", {}))
    return digests


def _listed_files(manifest):
    if manifest is None:
        return set()
    return set(_file_digests(manifest)) | {INDEX}


def _read_manifest(generated):
    try:
        return json.loads((Path(generated) / MANIFEST).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def _show(path):
    return Path(path).as_posix()
