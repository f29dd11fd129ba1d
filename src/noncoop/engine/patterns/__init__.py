"""Pattern kinds, one module each, and the registry that names them.

A new kind is one module (its spec, `evaluate`, `explain` and message values, as a `KIND`) plus
one line here.
"""

from noncoop.engine.patterns import count, distinct, divergence, gap, rate, sequence, trend
from noncoop.engine.patterns.base import PatternKind, Signals

KINDS: dict[str, PatternKind] = {
    k.name: k
    for k in (
        count.KIND,
        sequence.KIND,
        rate.KIND,
        divergence.KIND,
        distinct.KIND,
        gap.KIND,
        trend.KIND,
    )
}

__all__ = ["KINDS", "PatternKind", "Signals"]
