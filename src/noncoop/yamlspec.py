"""Strict YAML configuration: parse with positions, validate against a pydantic model, and report
every problem with file, line and column so an analyst can fix a profile or rule without Python.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from types import UnionType
from typing import Any, TypeVar, Union, get_args, get_origin

import yaml
from pydantic import BaseModel, ConfigDict, ValidationError

Path_ = tuple[str | int, ...]
M = TypeVar("M", bound=BaseModel)


_DURATION = re.compile(r"^(\d+)([dw])$")


def days(text: str) -> int:
    """'28d' or '4w' in days."""
    match = _DURATION.match(str(text).strip())
    if not match:
        raise ValueError(f"'{text}' is not a duration such as 28d or 4w")
    return int(match.group(1)) * (7 if match.group(2) == "w" else 1)


class Duration(str):
    """A duration written as days or weeks (`90d`, `12w`)."""

    @classmethod
    def __get_pydantic_core_schema__(cls, source: Any, handler: Any) -> Any:
        from pydantic_core import core_schema

        def check(value: Any) -> str:
            days(value)
            return str(value)

        return core_schema.no_info_plain_validator_function(check)


class StrictModel(BaseModel):
    """Base for every YAML-backed model: an unknown key is an error, never ignored."""

    model_config = ConfigDict(extra="forbid", frozen=True)


@dataclass(frozen=True)
class ConfigError:
    """One problem in a configuration file, located precisely."""

    file: str
    line: int
    column: int
    code: str
    message: str

    def __str__(self) -> str:
        """`file:line:col: CODE message`, the form editors jump to."""
        return f"{self.file}:{self.line}:{self.column}: {self.code} {self.message}"


class ConfigInvalid(Exception):
    """Raised with every problem found in one or more configuration files."""

    def __init__(self, errors: list[ConfigError]):
        self.errors = errors
        super().__init__("\n".join(str(e) for e in errors))


@dataclass
class Located:
    """Plain data from a YAML file plus the position of every value and key in it."""

    data: Any
    values: dict[Path_, tuple[int, int]]
    keys: dict[Path_, tuple[int, int]]

    def position(self, path: Path_, *, key: bool = False) -> tuple[int, int]:
        """Line and column (1-based) of the deepest node on the path that exists."""
        for end in range(len(path), -1, -1):
            prefix = path[:end]
            if key and prefix in self.keys:
                return self.keys[prefix]
            if prefix in self.values:
                return self.values[prefix]
        return (1, 1)


def _pos(node: yaml.Node) -> tuple[int, int]:
    return node.start_mark.line + 1, node.start_mark.column + 1


# A configuration is a few hundred lines: these bounds stop a file built to exhaust time or
# memory (a "billion laughs" of aliases) long before it could, whatever its size on disk.
MAX_ALIASES = 20  # anchors may be reused this often in one file
MAX_NODES = 100_000  # values in one file, aliases expanded
MAX_BYTES = 2 << 20
MAX_DEPTH = 50  # mappings and lists within one another (a rule is about eight deep)
TOO_DEEP = f"values nested more than {MAX_DEPTH} levels deep"
# Tags a configuration may carry: plain data. `!!python/…` and any other tag is refused: nothing
# in a YAML file is ever executed or turned into an object.
PLAIN_TAGS = {
    f"tag:yaml.org,2002:{t}"
    for t in ("map", "seq", "str", "int", "float", "bool", "null", "timestamp")
}


class _Budget:
    """Counts what a file expands to while it is read."""

    def __init__(self) -> None:
        self.seen: set[int] = set()
        self.aliases = 0
        self.nodes = 0

    def spend(self, node: yaml.Node) -> None:
        self.nodes += 1
        if id(node) in self.seen and isinstance(node, yaml.CollectionNode):
            self.aliases += 1  # the composer gives an alias the very node its anchor names
            if self.aliases > MAX_ALIASES:
                _refuse(node, f"more than {MAX_ALIASES} uses of anchors (&) and aliases (*)")
        self.seen.add(id(node))
        if self.nodes > MAX_NODES:
            _refuse(node, f"more than {MAX_NODES:,} values once aliases are expanded")
        if node.tag not in PLAIN_TAGS:
            _refuse(node, f"tag '{node.tag}' is not allowed: a configuration holds plain data")


class _Refused(yaml.MarkedYAMLError):
    """Valid YAML that noncoop does not read: a tag that is not plain data, or a file that
    expands beyond the bounds."""


def _refuse(node: yaml.Node, problem: str) -> None:
    raise _Refused(problem=problem, problem_mark=node.start_mark)


def _construct(
    node: yaml.Node, path: Path_, located: Located, loader: yaml.SafeLoader, budget: _Budget
) -> Any:
    budget.spend(node)
    if len(path) > MAX_DEPTH:
        _refuse(node, TOO_DEEP)
    located.values[path] = _pos(node)
    if isinstance(node, yaml.MappingNode):
        out: dict[Any, Any] = {}
        for key_node, value_node in node.value:
            if not isinstance(key_node, yaml.ScalarNode):
                raise yaml.MarkedYAMLError(
                    problem="a mapping key must be a plain value", problem_mark=key_node.start_mark
                )
            # Keys are always text: `Y:` or `5:` in a value map means the code as written.
            key = key_node.value
            located.keys[(*path, key)] = _pos(key_node)
            if key in out:
                raise yaml.MarkedYAMLError(
                    problem=f"duplicate key '{key}'", problem_mark=key_node.start_mark
                )
            out[key] = _construct(value_node, (*path, key), located, loader, budget)
        return out
    if isinstance(node, yaml.SequenceNode):
        return [
            _construct(v, (*path, i), located, loader, budget) for i, v in enumerate(node.value)
        ]
    return loader.construct_object(node)


# libyaml's parser, where PyYAML was built with it: a tenth of the pure-Python parser's time,
# with the same positions (a scan reads its rule pack and sources every night). A file it
# cannot read is read again by the pure parser, whose words every error has always used.
_LIBYAML = getattr(yaml, "CSafeLoader", None)


def load_located(text: str, file: str) -> Located:
    """Parse YAML keeping positions; raises ConfigInvalid on a syntax error."""
    if _LIBYAML is not None:
        try:
            yaml.reader.Reader(text)  # every character checked first, as the pure parser does
            return _located(_LIBYAML(text))
        except _Refused as exc:  # noncoop's own words, at the same place either parser gives
            raise _invalid(exc, text, file) from None
        except (yaml.YAMLError, UnicodeError):
            pass  # told below, as the pure parser tells it
    try:
        loader = yaml.SafeLoader(text)  # checks every character first
    except yaml.YAMLError as exc:
        raise _invalid(exc, text, file) from None
    try:
        return _located(loader)
    except yaml.YAMLError as exc:
        raise _invalid(exc, text, file) from None
    except RecursionError:  # the pure parser's own nesting, past what Python allows
        raise ConfigInvalid([ConfigError(file, 1, 1, "YAML-REFUSED", TOO_DEEP)]) from None


def _located(loader: yaml.SafeLoader) -> Located:
    located = Located(None, {}, {})
    try:
        root = loader.get_single_node()
        located.data = {} if root is None else _construct(root, (), located, loader, _Budget())
    finally:
        loader.dispose()
    return located


def _invalid(exc: yaml.YAMLError, text: str, file: str) -> ConfigInvalid:
    """A YAML error as a located configuration error."""
    if isinstance(exc, yaml.MarkedYAMLError):
        mark = exc.problem_mark or exc.context_mark
        line, col = (mark.line + 1, mark.column + 1) if mark else (1, 1)
        if isinstance(exc, _Refused):
            return ConfigInvalid([ConfigError(file, line, col, "YAML-REFUSED", exc.problem)])
        problem = exc.problem
    elif isinstance(exc, yaml.reader.ReaderError):  # a character YAML does not allow
        line, col = _offset_position(text, exc.position)
        problem = f"character #x{exc.character:04x} is not allowed in YAML"
    else:
        line, col, problem = 1, 1, "the file cannot be read as YAML"
    return ConfigInvalid(
        [ConfigError(file, line, col, "YAML-SYNTAX", f"not valid YAML: {problem}")]
    )


def _offset_position(text: str, offset: int) -> tuple[int, int]:
    """Line and column (1-based) of a character offset into the text."""
    before = text[: max(offset, 0)]
    return before.count("\n") + 1, len(before) - (before.rfind("\n") + 1) + 1


def _describe(model: type[BaseModel], loc: Path_) -> list[str]:
    """Keys allowed at the mapping that holds `loc`, for 'expected one of' hints."""
    current: Any = model
    for part in loc[:-1]:
        current = _step(current, part)
        if current is None:
            return []
    current = _unwrap(current)
    if isinstance(current, type) and issubclass(current, BaseModel):
        return [f.alias or name for name, f in current.model_fields.items()]
    return []


def _unwrap(annotation: Any) -> Any:
    """Optional[X] / X | None -> X (the first non-None member that is a model or container)."""
    if get_origin(annotation) in (Union, UnionType):
        members = [a for a in get_args(annotation) if a is not type(None)]
        for member in members:
            if get_origin(member) in (list, dict) or (
                isinstance(member, type) and issubclass(member, BaseModel)
            ):
                return member
        return members[0] if members else annotation
    return annotation


def _step(annotation: Any, part: str | int) -> Any:
    """The type found one step down a YAML path from `annotation`."""
    annotation = _unwrap(annotation)
    origin = get_origin(annotation)
    if origin is list:
        return get_args(annotation)[0]
    if origin is dict:
        return get_args(annotation)[1]
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        field = annotation.model_fields.get(str(part))
        return field.annotation if field else None
    return None


def _clean_loc(loc: Path_, located: Located) -> Path_:
    """Drop pydantic's internal loc parts (union tags, validator names) not present in the YAML."""
    kept: list[str | int] = []
    for part in loc:
        candidate = (*kept, part)
        if candidate in located.values or candidate in located.keys:
            kept.append(part)
        elif isinstance(part, str) and ("[" in part or part.startswith("function")):
            continue
        else:
            kept.append(part)
    return tuple(kept)


def errors_from_validation(
    exc: ValidationError, model: type[BaseModel], located: Located, file: str, prefix: str
) -> list[ConfigError]:
    """Turn pydantic's errors into located, readable messages."""
    out = []
    for err in exc.errors(include_url=False):
        loc = _clean_loc(tuple(err["loc"]), located)
        kind = err["type"]
        where = ".".join(str(p) for p in loc) or "(top level)"
        if kind == "extra_forbidden":
            allowed = _describe(model, loc)
            line, col = located.position(loc, key=True)
            hint = f"; expected one of: {', '.join(allowed)}" if allowed else ""
            out.append(
                ConfigError(
                    file,
                    line,
                    col,
                    f"{prefix}-UNKNOWN-KEY",
                    f"unknown key '{loc[-1]}' at {where}{hint}",
                )
            )
        elif kind == "missing":
            line, col = located.position(loc[:-1])
            out.append(
                ConfigError(
                    file,
                    line,
                    col,
                    f"{prefix}-MISSING-KEY",
                    f"missing required key '{loc[-1]}' at {where}",
                )
            )
        else:
            line, col = located.position(loc)
            message = err["msg"].removeprefix("Value error, ")
            out.append(ConfigError(file, line, col, f"{prefix}-INVALID", f"{where}: {message}"))
    return sorted(out, key=lambda e: (e.line, e.column))


def load_model(path: Path, model: type[M], prefix: str, text: str | None = None) -> M:
    """Read a YAML file into a strict model, raising ConfigInvalid listing every problem."""
    file = str(path)
    if text is None:
        try:
            text = Path(path).read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise ConfigInvalid(
                [ConfigError(file, 1, 1, f"{prefix}-UNREADABLE", f"cannot read file: {exc}")]
            ) from None
    if len(text) > MAX_BYTES:
        raise ConfigInvalid(
            [ConfigError(file, 1, 1, "YAML-REFUSED", f"larger than {MAX_BYTES >> 20} MB: not read")]
        )
    located = load_located(text, file)
    if not isinstance(located.data, dict):
        raise ConfigInvalid(
            [ConfigError(file, 1, 1, f"{prefix}-INVALID", "expected a mapping at the top level")]
        )
    try:
        return model.model_validate(located.data)
    except ValidationError as exc:
        raise ConfigInvalid(errors_from_validation(exc, model, located, file, prefix)) from None
