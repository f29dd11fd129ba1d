"""The durable_rules decision backend: each conjunction compiled to durable_rules' JSON ruleset
form, one inference session per child, sessions deleted in batches.
"""

from __future__ import annotations

import contextlib
import multiprocessing

import numpy as np

from noncoop.asof import DAY
from noncoop.engine.decide.conjunctions import Decision, SignalTable, conjunctions
from noncoop.engine.rules.pack import LoadedRule

BATCH = 500  # children per durable_rules ruleset handle; the engine runs out of state beyond this


def durable_available() -> bool:
    try:
        import durable.engine  # noqa: F401
    except ImportError:
        return False
    return True


def compile_durable(rules: list[LoadedRule]) -> dict[str, dict]:
    """durable_rules JSON rules: one per conjunction, named `<rule id>#<n>`."""
    compiled = {}
    for rule in rules:
        for k, conj in enumerate(conjunctions(rule.condition, rule)):
            terms = []
            for i, name in enumerate(conj.pos):
                test: dict = {"pattern": name}
                if conj.within is not None and i:
                    d = conj.within * DAY
                    bounds = []
                    for j in range(i):
                        bounds.append(
                            {"$lte": {"start": {"$add": {"$l": {f"m{j}": "end"}, "$r": d}}}}
                        )
                        bounds.append(
                            {"$gte": {"end": {"$add": {"$l": {f"m{j}": "start"}, "$r": -d}}}}
                        )
                    test = {"$and": [test, *bounds]}
                terms.append({f"m{i}": test})
            for i, name in enumerate(conj.neg):
                terms.append({f"n{i}$not": {"pattern": name}})
            compiled[f"{rule.id}#{k}"] = {"all": terms}
    return compiled


def decide_durable(rules: list[LoadedRule], table: SignalTable) -> list[Decision]:
    """The same decisions through durable_rules, one session per child.

    durable_rules 2.0.28 keeps memory from every session even after its ruleset is deleted, so
    beyond one chunk of children the work runs in forked worker processes that each take a
    single chunk and exit, handing their memory back; both cores are used while they run.
    """
    job = _DurableJob(rules, table)
    if not job.definitions:
        return []
    chunks = [job.children[i : i + CHUNK] for i in range(0, len(job.children), CHUNK)]
    if len(chunks) <= 1 or "fork" not in multiprocessing.get_all_start_methods():
        pairs = [p for chunk in chunks for p in job.run(chunk)]
    else:
        global _JOB
        _JOB = job
        try:
            context = multiprocessing.get_context("fork")
            with context.Pool(WORKERS, maxtasksperchild=1) as pool:
                pairs = [p for part in pool.imap(_run_chunk, chunks) for p in part]
        finally:
            _JOB = None
    found: dict[tuple[str, int], set[str]] = {}
    for rule_id, child, members in pairs:
        found.setdefault((rule_id, child), set()).update(members)
    by_rule = {r.id: i for i, r in enumerate(rules)}
    return [
        Decision(rule_id, child, tuple(sorted(m)))
        for (rule_id, child), m in sorted(
            found.items(), key=lambda kv: (by_rule[kv[0][0]], kv[0][1])
        )
    ]


CHUNK = 4000  # children per worker process
WORKERS = 2
_JOB: _DurableJob | None = None  # handed to forked workers by inheritance, never pickled


def _run_chunk(children: np.ndarray) -> list[Decision]:
    assert _JOB is not None
    return _JOB.run(children)


class _DurableJob:
    """One compiled rule set and the facts to feed it, runnable on any chunk of children."""

    def __init__(self, rules: list[LoadedRule], table: SignalTable) -> None:
        self.definitions = compile_durable(rules)
        self.supports = {
            f"{r.id}#{k}": conj
            for r in rules
            for k, conj in enumerate(conjunctions(r.condition, r))
        }
        conjs = list(self.supports.values())
        names = sorted({n for conj in conjs for n in (*conj.pos, *conj.neg)})
        negated = {n for conj in conjs for n in conj.neg}
        # Facts named under `not` go first, so no rule fires before the fact that blocks it.
        self.order = sorted(names, key=lambda n: (n not in negated, n))
        # Only a child with a signal some conjunction needs present can meet a rule.
        positive = sorted({n for conj in conjs for n in conj.pos})
        self.children = np.flatnonzero(np.any([table.has(n) for n in positive], axis=0))
        # Every fact to assert, child by child in that order, gathered once with array ops.
        held = [np.flatnonzero(table.has(n)) for n in self.order]
        windows = [table.window(n) for n in self.order]
        none = np.zeros(0, np.int64)
        child = np.concatenate([none, *held])
        rank = np.repeat(np.arange(len(held)), [len(h) for h in held])
        start = np.concatenate([none, *(w[0][h] for w, h in zip(windows, held, strict=True))])
        end = np.concatenate([none, *(w[1][h] for w, h in zip(windows, held, strict=True))])
        # Only the children who can meet a rule get a session (durable_rules holds few at once).
        keep = np.isin(child, self.children)
        by = np.lexsort((rank[keep], child[keep]))
        self.facts = tuple(column[keep][by] for column in (child, rank, start, end))

    def run(self, children: np.ndarray) -> list[Decision]:
        """Decisions for these children, a ruleset handle per batch, deleted after it."""
        import durable_rules_engine
        from durable.engine import Host, MessageNotHandledException

        class _QuietHost(Host):
            def _run(self) -> None:  # no timer thread: this engine never uses timers
                pass

        found: list[Decision] = []

        def make(rule_name: str):
            rule_id, members = rule_name.split("#")[0], self.supports[rule_name].pos

            def act(c) -> None:
                # A conjunction fires only with all its positive signals: they are its support.
                found.append(Decision(rule_id, int(c.s.sid), members))

            return act

        actions = {name: make(name) for name in self.definitions}
        child, rank, start, end = self.facts
        for first in range(0, len(children), BATCH):
            ruleset = f"noncoop_{id(self)}_{children[first]}"
            host = _QuietHost(
                {
                    ruleset: {
                        name: dict(rule, run=actions[name])
                        for name, rule in self.definitions.items()
                    }
                }
            )
            handle = host.get_ruleset(ruleset)._handle
            batch = children[first : first + BATCH]
            lo = np.searchsorted(child, batch[0], side="left")
            hi = np.searchsorted(child, batch[-1], side="right")
            for c, r, s, e in zip(
                child[lo:hi].tolist(),
                rank[lo:hi].tolist(),
                start[lo:hi].tolist(),
                end[lo:hi].tolist(),
                strict=True,
            ):
                fact = {"sid": str(c), "pattern": self.order[r], "start": s, "end": e}
                with contextlib.suppress(MessageNotHandledException):
                    host.assert_fact(ruleset, fact)
            durable_rules_engine.delete_ruleset(handle)
        return found
