"""The shape of the package: stages in data-flow order, each importing only from the stages
before it and from the shared modules, so the folder names keep telling the flow."""

import ast
import tomllib

from conftest import ROOT

SRC = ROOT / "src" / "noncoop"
# Data flow, first to last. A stage may import itself, the shared modules and earlier stages.
STAGES = (
    "sources",  # what the partnership declares, and reading its files
    "identity",  # who each identifier is
    "store",  # the workspace: event parts, manifest, quarantine, lock
    "ingest",  # exports -> linked canonical events -> the store
    "engine",  # rules, patterns, decisions -> explained alerts (pure)
    "alerts",  # lifecycle, triage and audit of alerts (SQLite)
    "reports",  # case files, chronology, figure, renderings
    "scan",  # ingest -> evaluate -> record
    "synth",  # synthetic regions and scoring
    "cli",  # the command line on top
)
SHARED = ("vocab", "events", "quarantine", "asof", "yamlspec", "diagnostics", "heap", "__init__")
DATA = ("profiles", "rulepack")  # shipped YAML, no code
# The engine reads no file and no store: events in, alerts out, the same for a region, a shard of
# children or a rule's inline test.
PURE = ("engine",)


def stage_of(module: str) -> str:
    """`noncoop.engine.rules.load` -> `engine`; `noncoop.vocab` -> `vocab`."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "__init__"


def imports(path) -> set[str]:
    """Every noncoop module a file imports, at the top or inside a function."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            if node.module == "noncoop":  # a module of the package, or a name from __init__
                found |= {
                    f"noncoop.{a.name}" if _is_module(a.name) else "noncoop" for a in node.names
                }
            elif node.module.startswith("noncoop."):
                found.add(node.module)
        elif isinstance(node, ast.Import):
            found |= {a.name for a in node.names if a.name.startswith("noncoop.")}
    return found


def _is_module(name: str) -> bool:
    return (SRC / f"{name}.py").exists() or (SRC / name).is_dir()


def allowed(importer: str) -> set[str]:
    if importer in SHARED or importer in PURE:
        return {*SHARED, importer}
    return set(SHARED) | set(STAGES[: STAGES.index(importer) + 1])


def test_every_module_belongs_to_a_stage_or_is_shared():
    modules = {p.stem for p in SRC.glob("*.py")} | {p.name for p in SRC.iterdir() if p.is_dir()}
    modules -= {"__main__", "__pycache__"}
    assert modules - set(STAGES) - set(SHARED) - set(DATA) == set()


def test_stages_import_only_earlier_stages_and_shared_modules():
    wrong = []
    for path in SRC.rglob("*.py"):
        rel = path.relative_to(SRC.parent).with_suffix("")
        importer = stage_of(".".join(rel.parts))
        if importer == "__main__":
            continue
        for module in imports(path):
            if stage_of(module) not in allowed(importer):
                wrong.append(f"{path.relative_to(SRC)} imports {module}")
    assert wrong == []


def test_top_level_has_at_most_eight_modules():
    modules = [p.name for p in SRC.glob("*.py") if p.name not in ("__init__.py", "__main__.py")]
    assert len(modules) <= 8, modules


def test_no_function_is_longer_than_eighty_lines():
    long = []
    for path in SRC.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                lines = node.end_lineno - node.lineno + 1
                if lines > 80:
                    long.append(f"{path.relative_to(SRC)}:{node.lineno} {node.name} ({lines})")
    assert long == []


def test_each_stage_says_what_it_owns_and_may_import():
    for stage in (*STAGES, "engine/rules", "engine/patterns", "engine/decide"):
        init = SRC / stage / "__init__.py"
        if not init.exists():  # a one-module stage says it in its own docstring
            continue
        doc = ast.get_docstring(ast.parse(init.read_text(encoding="utf-8"))) or ""
        assert "May import" in doc or "/" in stage, f"{stage}/__init__.py: {doc!r}"


def test_every_package_is_installed():
    # The wheel lists its packages by name (the rule pack is mapped from rules/); none forgotten.
    setup = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["tool"]
    listed = set(setup["setuptools"]["packages"])
    found = {".".join(p.parent.relative_to(SRC.parent).parts) for p in SRC.rglob("__init__.py")} | {
        "noncoop.rulepack"
    }
    assert listed == found
