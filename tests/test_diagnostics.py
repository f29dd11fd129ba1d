"""Every diagnostic code is catalogued once, used, documented and explained on request."""

import ast
import re

from conftest import ROOT
from typer.testing import CliRunner

from noncoop.cli.app import app
from noncoop.diagnostics import CATALOGUE, CONFIG_FILES

SRC = ROOT / "src" / "noncoop"
CODE = re.compile(r"^[A-Z]+(?:-[A-Z0-9]+)+$")
PER_FILE = ("UNKNOWN-KEY", "MISSING-KEY", "INVALID", "UNREADABLE")


def codes_in_source() -> set[str]:
    """Code-shaped string constants in the package (the synthetic region's own data aside), with
    the per-file codes yamlspec builds from a prefix."""
    found = set()
    for path in SRC.rglob("*.py"):
        if "synth" in path.parts or path.name == "diagnostics.py":
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Constant) and CODE.match(str(node.value)):
                found.add(node.value)
    return found | {f"{p}-{c}" for p in CONFIG_FILES for c in PER_FILE}


def test_every_code_given_is_catalogued_and_every_catalogued_code_is_given():
    assert codes_in_source() == set(CATALOGUE)


def test_every_code_is_documented():
    docs = (ROOT / "docs" / "rules.md").read_text(encoding="utf-8")
    assert [c for c in CATALOGUE if f"`{c}`" not in docs] == []


def test_explain_prints_a_code_description_and_refuses_an_unknown_code():
    runner = CliRunner()
    known = runner.invoke(app, ["rules", "validate", "--explain", "unlinked-id"])
    assert known.exit_code == 0
    assert "UNLINKED-ID (rejected row): the identifier is not in the people file" in known.output
    unknown = runner.invoke(app, ["rules", "validate", "--explain", "NO-SUCH-CODE"])
    assert unknown.exit_code == 1 and "no diagnostic code NO-SUCH-CODE" in unknown.output
