"""The README's own example spec derives, verifies and evaluates from the CLI."""

import json
import re
from pathlib import Path

import pytest

from symgeo.cli import main

README = (Path(__file__).resolve().parents[1] / "README.md").read_text()


def test_readme_lomax_spec_runs(tmp_path, capsys):
    block = re.search(r"```toml\n(.*?)```", README, re.S).group(1)
    spec = tmp_path / "lomax.toml"
    spec.write_text(block)

    assert main(["derive", str(spec), "--format", "json"]) == 0
    record = json.loads(capsys.readouterr().out)
    assert record["fisher"]["verified"]["worst_relative_error"] < 1e-10
    assert record["fisher"]["closed_form"]

    assert main(["eval", str(spec), "--at", "alpha=2,lam=1.5", "--json"]) == 0
    matrix = json.loads(capsys.readouterr().out)["matrix"]
    # Lomax Fisher information (Johnson, Kotz and Balakrishnan 1994, ch. 20):
    # [[1/a^2, -1/(lam (a+1))], [., a/(lam^2 (a+2))]] at a = 2, lam = 1.5.
    assert matrix[0][0] == pytest.approx(1 / 4, rel=1e-13)
    assert matrix[0][1] == pytest.approx(-1 / (1.5 * 3), rel=1e-13)
    assert matrix[1][1] == pytest.approx(2 / (1.5**2 * 4), rel=1e-13)


def test_readme_commands_match_ci():
    ci = (Path(__file__).resolve().parents[1] / ".ci" / "run").read_text()
    test_command = re.search(
        r"Install and run the tests:\n\n```bash\n(.*?)\n```", README, re.S
    ).group(1)
    assert test_command in ci


def test_readme_closure_table_is_the_generated_one():
    """The README's table of closure verdicts is generated/closure.md verbatim
    (written by `symgeo build`, which `symgeo build --check` keeps fresh)."""
    generated = Path(__file__).resolve().parents[1] / "generated"
    table = (generated / "closure.md").read_text(encoding="utf-8")
    assert table.strip() in README
