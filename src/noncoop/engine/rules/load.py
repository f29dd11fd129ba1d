"""Loading a rule pack, in three steps as Falco's rule loader does: read each file with positions,
collect the rules that validate (every problem reported at once, with a code and file:line:col),
then compile the pack: references across rules checked and rules put in evaluation order.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

from pydantic import ValidationError

from noncoop.engine.rules.checks import Where, check_pack, check_rule
from noncoop.engine.rules.condition import parse_condition
from noncoop.engine.rules.model import Rule
from noncoop.engine.rules.pack import LoadedRule, RulePack
from noncoop.yamlspec import ConfigError, ConfigInvalid, errors_from_validation, load_located


def rule_files(paths: list[Path]) -> list[Path]:
    """YAML files named directly or found in folders."""
    files: list[Path] = []
    for p in paths:
        p = Path(p)
        files.extend(sorted(p.glob("*.yaml")) + sorted(p.glob("*.yml")) if p.is_dir() else [p])
    return files


def load_rules(paths: list[Path] | Path) -> RulePack:
    """Load and cross-check rule files; raises ConfigInvalid listing every problem found."""
    paths = [paths] if isinstance(paths, (str, Path)) else paths
    collector = _Collector()
    for path in rule_files(paths):
        collector.add(path)
    errors = collector.errors + check_pack(collector.rules, collector.where)
    if errors:
        raise ConfigInvalid(errors)
    pack = RulePack(collector.rules)
    return RulePack([r for group in pack.strata() for r in group])


@dataclass
class _Read:
    """One rule file as read: its text, positions and validated rule."""

    text: str
    where: Where
    rule: Rule


class _Collector:
    """The rules that validate, and every problem of those that do not."""

    def __init__(self) -> None:
        self.rules: list[LoadedRule] = []
        self.where: dict[str, Where] = {}
        self.errors: list[ConfigError] = []

    def add(self, path: Path) -> None:
        read = self._read(path)
        if read is None:
            return
        rule, where = read.rule, read.where
        problems = check_rule(rule, where)
        if problems:
            self.errors.extend(_named(problems, rule.id))
            return
        if rule.id in self.where:
            self.errors.append(
                where.error(
                    ("id",),
                    "RULE-DUPLICATE-ID",
                    f"rule id {rule.id} is also used in {self.where[rule.id].file}",
                )
            )
            return
        self.where[rule.id] = where
        condition = parse_condition(rule.condition, ("condition",), where.located, where.file)
        digest = hashlib.sha256(read.text.encode()).hexdigest()
        self.rules.append(LoadedRule(rule, condition, path, digest))

    def _read(self, path: Path) -> _Read | None:
        """The file parsed and validated, or None with its problems recorded."""
        file = str(path)
        try:
            text = path.read_text(encoding="utf-8")
            located = load_located(text, file)
        except OSError as exc:
            self.errors.append(
                ConfigError(file, 1, 1, "RULE-UNREADABLE", f"cannot read file: {exc}")
            )
            return None
        except ConfigInvalid as exc:
            self.errors.extend(exc.errors)
            return None
        if not isinstance(located.data, dict):
            self.errors.append(ConfigError(file, 1, 1, "RULE-INVALID", "expected a mapping"))
            return None
        try:
            rule = Rule.model_validate(located.data)
        except ValidationError as exc:
            problems = errors_from_validation(exc, Rule, located, file, "RULE")
            self.errors.extend(_named(problems, located.data.get("id")))
            return None
        return _Read(text, Where(located, file), rule)


def _named(errors: list[ConfigError], rule_id: object) -> list[ConfigError]:
    """Errors prefixed with the rule id, when the file has one."""
    if not isinstance(rule_id, str) or not rule_id:
        return errors
    return [
        ConfigError(e.file, e.line, e.column, e.code, f"[{rule_id}] {e.message}") for e in errors
    ]
