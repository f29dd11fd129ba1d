"""Decisions: which children meet each rule's condition, given the signals their patterns gave.

Two interchangeable backends behind one interface: a vectorised pure-Python evaluator and
durable_rules (compiled to its JSON ruleset form, one session per child). Both give the same
decisions by construction, and the tests hold them to it.
"""

from __future__ import annotations

from collections.abc import Callable

from noncoop.engine.decide.conjunctions import Decision, SignalTable
from noncoop.engine.decide.durable import decide_durable, durable_available
from noncoop.engine.decide.python import decide_python
from noncoop.engine.rules.pack import LoadedRule

Decide = Callable[[list[LoadedRule], SignalTable], list[Decision]]
BACKENDS: dict[str, Decide] = {"python": decide_python, "durable": decide_durable}


def resolve_engine(engine: str) -> str:
    """'durable' where durable_rules is installed, else the pure-Python evaluator."""
    if engine == "auto":
        return "durable" if durable_available() else "python"
    if engine == "durable" and not durable_available():
        raise RuntimeError(
            "durable_rules is not installed (it builds on Python 3.12 or older); "
            "use --engine python"
        )
    return engine


def decider(engine: str) -> Decide:
    """The backend for an engine name (auto, durable or python)."""
    return BACKENDS[resolve_engine(engine)]


__all__ = ["Decide", "Decision", "SignalTable", "decider", "resolve_engine"]
