"""The ``generated/`` folder: every file symgeo derives from ``derivations/``.

For each spec ``derivations/<name>.toml`` and each metric of
:data:`symgeo.registry.METRIC_BUILDERS`, ``generated/<name>/`` holds the files
of every registered :class:`Output` (today the numpy kernels
``<metric>_numpy.py`` and their mpmath twins ``<metric>_mpmath.py``) and a
``manifest.json`` with the spec hash, the symgeo version, the verification of
each derivation and of its kernels, the sha256 of every file, and the *inputs*
they were made from: the sha256 of the spec text and of every package file the
outputs depend on.

Which package files count. Hashing all of the package would mark every family
stale after any edit anywhere (a help text in the command line, a report
template), so that ``generated/`` could never be committed while anyone is at
work, and a stale flag would carry no information. The inputs are instead the
files the generation can execute: the import closure (every ``import`` of a
symgeo module, at module level or inside a function, found by parsing the
source; in a module that calls ``importlib.import_module``, every string that
names a symgeo module counts as an import too) of this module, of the modules of
the metric builders and of each output's ``sources``, plus the kernel templates
and the symgeo version. Two files are cut from the closure on purpose:
``symgeo/__init__.py`` is hashed (it carries the version) but its re-exports are
not followed, and the presentation modules of :data:`PRESENTATION` are not
followed unless an output names them (``Metric._repr_latex_`` imports the report
module lazily, and no kernel byte depends on it). This is safe because the
closure over-approximates what runs: a module that is imported anywhere in it
counts, whether or not the import runs; what it misses is a module reached
without an import statement or a string naming it (there is none in symgeo) and
the versions of SymPy, mpmath and numpy, which are not hashed (a build made with
another SymPy can print different, equally valid, code; ``symgeo build`` is the
fix).

A build is deterministic (sorted keys, no dates, errors rounded to two
significant digits, fixed seeds): building twice changes no byte.
:func:`check` compares the recorded inputs and file hashes with the present
ones without deriving anything, so it takes well under a second for the whole
catalog, and names every stale file with the inputs that changed.

A metric that does not exist for a family (:class:`MetricUndefined`, such as
the Wasserstein metric of a discrete family) is skipped, with the reason in the
manifest; so is a metric whose kernels cannot be generated (a nested integral,
an infinite sum), with the reason too.
"""

import ast
import hashlib
import json
import logging
import shutil
import sys
import time
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass, field
from pathlib import Path

from . import __version__
from .catalog import catalog_dir, read_spec
from .codegen import CodegenError, generated_sources, verify_kernels
from .codegen.crosscheck import round_error
from .errors import DerivationError, MetricUndefined, SpecError
from .family import Family
from .outputs import check_output_folder, writing
from .registry import METRIC_BUILDERS

log = logging.getLogger(__name__)

MANIFEST = "manifest.json"
PACKAGE = Path(__file__).resolve().parent
# Modules whose imports the dependency closure does not follow unless an output
# names them in its ``sources`` (the reports name report.py and latex.py); the
# studies (symgeo.studies) have inputs of their own.
PRESENTATION = {"cli.py", "report.py", "latex.py", "studies.py"}


@dataclass
class FamilyBuild:
    """What one family's outputs are made from."""

    family: Family
    spec_file: str
    metrics: dict = field(default_factory=dict)
    skipped: dict = field(default_factory=dict)
    records: dict = field(default_factory=dict)


@dataclass(frozen=True)
class Output:
    """One kind of generated file: ``files(build)`` -> ``{file name: text}``;
    ``record(build)`` -> its section of the manifest (or None); ``sources``:
    files of :data:`PRESENTATION` (package-relative) that the output uses."""

    name: str
    files: object
    record: object = None
    sources: tuple = ()


@dataclass(frozen=True)
class Stale:
    """A generated file that does not match its inputs, and why."""

    path: str
    reason: str

    def __str__(self):
        return f"{self.path}: {self.reason}"


# -- outputs -------------------------------------------------------------------


def kernel_files(build):
    """``{"<metric>_numpy.py": text, "<metric>_mpmath.py": text}`` per metric."""
    files = {}
    for kind, metric in build.metrics.items():
        for target, text in generated_sources(metric).items():
            files[f"{kind}_{target}.py"] = text
    return files


def kernel_record(build):
    """The kernels' section of each metric in the manifest."""
    return {
        kind: {
            "numpy": f"{kind}_numpy.py",
            "mpmath": f"{kind}_mpmath.py",
            "verification": build.records[kind].as_dict(),
        }
        for kind in build.metrics
    }


# The reports (symgeo.report) and what they are made from.
REPORT_SOURCES = (
    "report.py",
    "latex.py",
    "templates/report.md.j2",
    "templates/report.tex.j2",
)


def report_files(build):
    """``{"report.tex": text, "report.md": text}`` of one family."""
    from .report import build_report_files

    return build_report_files(build)


OUTPUTS = [
    Output("kernels", kernel_files, kernel_record),
    Output("reports", report_files, sources=REPORT_SOURCES),
]


def register_output(output):
    """Add an :class:`Output` (e.g. the reports) to every family's build."""
    OUTPUTS[:] = [o for o in OUTPUTS if o.name != output.name] + [output]


# -- hashes ----------------------------------------------------------------------


def _sha256(text):
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _module_file(name):
    """The source file of the symgeo module ``name`` (dotted), or None."""
    parts = name.split(".")
    if parts[0] != "symgeo":
        return None
    base = PACKAGE.joinpath(*parts[1:])
    for candidate in (base.with_suffix(".py"), base / "__init__.py"):
        if candidate.is_file():
            return candidate
    return None


def _imported_files(path):
    """Package files imported anywhere in ``path`` (absolute or relative)."""
    package = list(path.relative_to(PACKAGE.parent).parts[:-1])
    source = path.read_text(encoding="utf-8")
    dynamic = "import_module" in source
    found = set()
    for node in ast.walk(ast.parse(source)):
        if dynamic and isinstance(node, ast.Constant) and isinstance(node.value, str):
            names = [f"symgeo.{node.value.strip('.')}"]
        elif isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                anchor = package[: len(package) - node.level + 1]
                base = ".".join([*anchor, *([node.module] if node.module else [])])
            else:
                base = node.module or ""
            names = [base] + [f"{base}.{alias.name}" for alias in node.names]
        else:
            continue
        found |= {f for f in map(_module_file, names) if f is not None}
    return found


def dependency_files():
    """The package files (relative posix paths) that generated files depend on.

    >>> files = dependency_files()
    >>> "codegen/plan.py" in files, "cli.py" in files
    (True, False)
    """
    roots = {Path(__file__).resolve()}
    for builder in METRIC_BUILDERS.values():
        roots.add(Path(sys.modules[builder.__module__].__file__).resolve())
    for output in OUTPUTS:
        roots |= {PACKAGE / source for source in output.sources}
    named = {PACKAGE / s for o in OUTPUTS for s in o.sources}
    files = set(import_closure(roots, follow=named))
    files |= {p.relative_to(PACKAGE).as_posix() for p in named if p.suffix == ".j2"}
    files |= {
        p.relative_to(PACKAGE).as_posix() for p in PACKAGE.glob("templates/kernel_*.j2")
    }
    return sorted(files | {"__init__.py"})


def import_closure(roots, follow=()):
    """Package files (relative posix paths) that the files ``roots`` import.

    Follows every import (:func:`_imported_files`) except into
    ``symgeo/__init__.py`` (hashed, re-exports not followed) and into the
    modules of :data:`PRESENTATION` that are not in ``follow``.

    >>> sorted(import_closure([PACKAGE / "budget.py"]))
    ['budget.py', 'errors.py']
    """
    cut = {PACKAGE / name for name in PRESENTATION} - set(follow)
    top = PACKAGE / "__init__.py"
    seen, todo = set(), sorted(roots)
    while todo:
        path = todo.pop()
        if path in seen:
            continue
        seen.add(path)
        if path.suffix == ".py" and path != top:
            todo += sorted(_imported_files(path) - cut - seen)
    return sorted(p.relative_to(PACKAGE).as_posix() for p in seen)


def code_inputs():
    """``{package-relative path: sha256}`` of :func:`dependency_files`."""
    return {
        name: hashlib.sha256((PACKAGE / name).read_bytes()).hexdigest()
        for name in dependency_files()
    }


def inputs_record(spec_text, code=None):
    """The inputs of one family: the spec's hash, the version and the code."""
    return {
        "spec": _sha256(spec_text),
        "symgeo_version": __version__,
        "code": dict(code if code is not None else code_inputs()),
    }


def inputs_hash(record):
    """One sha256 of an :func:`inputs_record`."""
    return _sha256(json.dumps(record, sort_keys=True))


# -- building ------------------------------------------------------------------


def derive_all(family, spec_file):
    """A :class:`FamilyBuild` with every metric of the registry derived.

    A metric is skipped, with the reason, when it does not exist
    (:class:`MetricUndefined`), when its derivation fails
    (:class:`DerivationError`, or an unexpected error, logged as a warning),
    when no kernel can be generated (:class:`CodegenError`) and when its numpy
    kernels disagree with their mpmath twins at typical points.
    """
    build = FamilyBuild(family, spec_file)
    for kind, builder in METRIC_BUILDERS.items():
        start = time.monotonic()
        log.info("deriving the %s metric of %s", kind, family.name)
        try:
            metric = builder(family)
        except MetricUndefined as exc:
            build.skipped[kind] = f"metric not defined: {exc}"
            continue
        except DerivationError as exc:
            build.skipped[kind] = f"derivation failed: {exc}"
            continue
        except Exception as exc:  # a bug in a builder must not stop the catalog
            log.warning("the %s metric of %s failed: %r", kind, family.name, exc)
            build.skipped[kind] = f"derivation failed: {type(exc).__name__}: {exc}"
            continue
        try:
            log.info("generating and verifying the %s kernels of %s", kind, family.name)
            generated_sources(metric)
            check = verify_kernels(metric)
        except CodegenError as exc:
            build.skipped[kind] = f"no kernels: {exc}"
            continue
        if not check.passed:
            build.skipped[kind] = (
                "kernels not written: the numpy kernels disagree with their mpmath "
                f"twins ({'; '.join(check.failures)})"
            )
            continue
        build.metrics[kind] = metric
        build.records[kind] = check
        log.info(
            "%s metric of %s in %.1f s", kind, family.name, time.monotonic() - start
        )
    return build


def family_files(build, spec_text, code=None):
    """``{file name: text}`` of one family: every output, then the manifest."""
    files = {}
    sections = {}
    for output in OUTPUTS:
        files.update(output.files(build))
        if output.record is not None:
            sections[output.name] = output.record(build)
    files[MANIFEST] = _manifest(build, spec_text, files, sections, code)
    return files


def _manifest(build, spec_text, files, sections, code):
    family = build.family
    metrics = {}
    for kind in METRIC_BUILDERS:
        if kind in build.skipped:
            metrics[kind] = {"status": "skipped", "reason": build.skipped[kind]}
            continue
        metric = build.metrics[kind]
        entry = {
            "status": "generated",
            "closed_form": metric.closed_form,
            "derivation": _stable(metric.verification.as_dict())
            if metric.verification is not None
            else None,
        }
        for name, section in sections.items():
            if kind in section:
                entry[name] = section[kind]
        metrics[kind] = entry
    manifest = {
        "family": family.name,
        "title": family.title,
        "spec": build.spec_file,
        "spec_hash": family.spec_hash,
        "symgeo_version": __version__,
        "inputs": inputs_record(spec_text, code),
        "parameters": {p.name: p.domain.describe() for p in family.parameters},
        "metrics": metrics,
        "files": {name: _sha256(text) for name, text in sorted(files.items())},
    }
    return json.dumps(manifest, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def _stable(value, key=""):
    if isinstance(value, dict):
        return {k: _stable(v, k) for k, v in value.items()}
    if isinstance(value, list):
        return [_stable(v, key) for v in value]
    if isinstance(value, float) and "error" in key:
        return round_error(value)
    return value


def write_family(files, folder, what="the generated files"):
    """Write ``files`` into ``folder``; delete files an older manifest listed.

    ``what`` names the files in the error raised when they cannot be written.
    """
    folder = Path(folder)
    with writing(what, folder):
        return _write_files(files, folder)


def _write_files(files, folder):
    folder.mkdir(parents=True, exist_ok=True)
    old = folder / MANIFEST
    if old.is_file():
        listed = json.loads(old.read_text(encoding="utf-8")).get("files", {})
        for name in set(listed) - set(files):
            (folder / name).unlink(missing_ok=True)
    for name, text in sorted(files.items()):
        path = folder / name
        if not path.is_file() or path.read_text(encoding="utf-8") != text:
            path.write_text(text, encoding="utf-8", newline="\n")
    return sorted(folder / name for name in files)


def codegen(name_or_path, folder):
    """Generate one family's files (built-in name or spec path) into ``folder``.

    Returns the paths written and ``{metric kind: reason}`` for each metric
    whose kernels were not written.
    """
    path = Path(str(name_or_path))
    if not (str(name_or_path).endswith(".toml") or path.is_file()):
        path = catalog_dir() / f"{name_or_path}.toml"
        if not path.is_file():
            Family.builtin(str(name_or_path))
    _, _, text = read_spec(path)
    family = Family.from_toml(path)
    check_output_folder(folder, "the kernels")
    build = derive_all(family, path.name)
    files = family_files(build, text)
    return write_family(files, folder, "the kernels"), dict(build.skipped)


def spec_paths(derivations):
    """The spec files of a derivations folder, sorted by name."""
    folder = Path(derivations)
    if not folder.is_dir():
        raise SpecError(
            f"the derivations folder {folder} does not exist; run from the project "
            "root or pass --derivations"
        )
    return sorted(folder.glob("*.toml"))


def _family_job(path, code):
    """``(name, files)`` of one spec: derive, generate and verify (one process)."""
    _, _, text = read_spec(path)
    family = Family.from_toml(path)
    start = time.monotonic()
    files = family_files(derive_all(family, path.name), text, code)
    log.info("built %s in %.1f s", family.name, time.monotonic() - start)
    return family.name, files


def build(derivations, generated, jobs=1):
    """Regenerate ``generated/<family>/`` for every spec in ``derivations``.

    ``jobs`` families are built in parallel processes. Returns the paths
    written; a folder of ``generated`` without a spec is removed. The studies
    of ``derivations/studies/`` (:mod:`symgeo.studies`), which do not read the
    generated files, run in the same processes, queued before the families so
    that the longest of them does not start last, and write their pages into
    ``generated/studies/``.
    """
    from .studies import run_study, study_paths, write_studies

    generated = Path(generated)
    check_output_folder(generated, "the generated files")
    code = code_inputs()
    paths = spec_paths(derivations)
    scripts = study_paths(Path(derivations) / STUDIES)
    if jobs > 1:
        with ProcessPoolExecutor(jobs) as pool:
            pending = {pool.submit(run_study, s): f"study {s.stem}" for s in scripts}
            families = {pool.submit(_family_job, p, code): p.stem for p in paths}
            jobs_done = as_completed([*pending, *families])
            for done, future in enumerate(jobs_done, start=1):
                label = pending.get(future) or families[future]
                log.info("built %s (%d of %d)", label, done, len(scripts) + len(paths))
            results = [future.result() for future in families]
            studies = [future.result() for future in pending]
    else:
        results = [_family_job(path, code) for path in paths]
        studies = [run_study(script) for script in scripts]
    written = []
    for name, files in results:
        written += write_family(files, generated / name)
    names = {name for name, _ in results} | {STUDIES}
    for folder in sorted(generated.iterdir()) if generated.is_dir() else []:
        if folder.is_dir() and folder.name not in names:
            shutil.rmtree(folder)
    table = generated / CLOSURE_TABLE
    with writing("the generated files", generated):
        table.write_text(closure_table(generated), encoding="utf-8", newline="\n")
        pages = write_studies(scripts, studies, generated / STUDIES)
    return [*written, table, *pages]


STUDIES = "studies"
"""The folder of the study scripts in derivations/ and of their pages in
generated/ (:mod:`symgeo.studies`)."""


CLOSURE_TABLE = "closure.md"


def closure_table(generated):
    """The Markdown table of the W2 closure verdicts in ``generated``.

    Made from each family's ``closure.json``, in name order; ``symgeo build``
    writes it to ``generated/closure.md`` and the README carries it verbatim.
    """
    rows = ["| family | verdict | method | evidence |", "|---|---|---|---|"]
    for path in sorted(Path(generated).glob("*/closure.json")):
        record = json.loads(path.read_text(encoding="utf-8"))
        cells = [record["family"], record["verdict"], record["method"]]
        cells.append(record["evidence"])
        rows.append("| " + " | ".join(c.replace("|", "\\|") for c in cells) + " |")
    return "\n".join(rows) + "\n"


# -- checking ------------------------------------------------------------------


def check(derivations, generated):
    """The list of :class:`Stale` files; empty when ``generated`` is up to date.

    Covers the study pages too (:func:`symgeo.studies.check_studies`). Nothing
    is derived: each manifest's recorded inputs are compared with the
    present spec and package files, and each file with its recorded hash. When
    the inputs of a family changed, all its files are stale and the reason
    names the inputs that changed.
    """
    generated = Path(generated)
    check_output_folder(generated, "the generated files")
    code = code_inputs()
    stale, names = [], set()
    for path in spec_paths(derivations):
        spec, _, text = read_spec(path)
        name = str(spec.get("name", path.stem))
        names.add(name)
        folder = generated / name
        manifest = _read_manifest(folder)
        if manifest is None:
            stale.append(Stale(_show(folder / MANIFEST), f"missing (spec {path.name})"))
            continue
        stale += _file_hash_mismatches(folder, manifest)
        changed = changed_inputs(manifest.get("inputs", {}), inputs_record(text, code))
        if changed:
            reason = f"made from other inputs: {changed} changed since"
            for listed in sorted([*manifest.get("files", {}), MANIFEST]):
                stale.append(Stale(_show(folder / listed), reason))
    if generated.is_dir():
        for folder in sorted(generated.iterdir()):
            if folder.is_dir() and folder.name not in names | {STUDIES}:
                stale.append(Stale(_show(folder), "no spec in derivations/ makes it"))
        table = generated / CLOSURE_TABLE
        if not table.is_file() or table.read_text(encoding="utf-8") != closure_table(
            generated
        ):
            stale.append(Stale(_show(table), "does not match the closure.json files"))
    from .studies import check_studies

    studies = check_studies(Path(derivations) / STUDIES, generated / STUDIES)
    stale += [Stale(path, reason) for path, reason in studies]
    return sorted(set(stale), key=lambda s: (s.path, s.reason))


def changed_inputs(recorded, present, shown=4):
    """A phrase naming the inputs that differ between two :func:`inputs_record`.

    >>> changed_inputs({"spec": "a", "code": {"fisher.py": "b"}},
    ...                {"spec": "c", "code": {"fisher.py": "d"}})
    'the spec, symgeo/fisher.py'
    >>> changed_inputs({"spec": "a", "code": {}}, {"spec": "a", "code": {}})
    ''
    """
    names = []
    if recorded.get("spec") != present["spec"]:
        names.append("the spec")
    if recorded.get("symgeo_version") != present.get("symgeo_version"):
        names.append("the symgeo version")
    old, new = recorded.get("code", {}), present["code"]
    names += [
        f"symgeo/{file}"
        for file in sorted(set(old) | set(new))
        if old.get(file) != new.get(file)
    ]
    if len(names) > shown:
        names = [*names[:shown], f"{len(names) - shown} more"]
    return ", ".join(names)


def _show(path):
    return Path(path).as_posix()


def _read_manifest(folder):
    try:
        return json.loads((folder / MANIFEST).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def _file_hash_mismatches(folder, manifest):
    stale = []
    listed = manifest.get("files", {})
    for name, digest in sorted(listed.items()):
        path = folder / name
        if not path.is_file():
            stale.append(Stale(_show(path), "missing"))
        elif _sha256(path.read_text(encoding="utf-8")) != digest:
            stale.append(Stale(_show(path), "edited by hand (hash differs)"))
    for path in sorted(folder.iterdir()):
        if path.is_file() and path.name not in listed and path.name != MANIFEST:
            stale.append(Stale(_show(path), "not listed in the manifest"))
    return stale
