"""Selections: a prefix matches the same events whether the column is categorical or text."""

import pandas as pd

from noncoop.engine.rules.model import Selection
from noncoop.engine.selections import selection_mask

TYPES = ["appointment.missed", "appointment.attended", "visit.no_access", None, "appointment.late"]


def _events(kind: str) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "event_type": pd.Series(TYPES, dtype=kind),
            "chain_id": pd.Series(["GP-1", "HV-2", None, "GP-3", "gp-4"], dtype="string"),
        }
    )


def test_prefix_on_categorical_and_text_columns():
    wanted = [True, True, False, False, True]
    for kind in ("category", "string"):
        events = _events(kind)
        assert selection_mask(events, Selection(event_type="appointment.*")).tolist() == wanted
        assert selection_mask(
            events, Selection(event_type={"prefix": "appointment."})
        ).tolist() == (wanted)
        assert selection_mask(events, Selection(event_type="*")).tolist() == [
            True,
            True,
            True,
            False,
            True,
        ]
    assert selection_mask(_events("string"), Selection(chain_id="GP-*")).tolist() == [
        True,
        False,
        False,
        True,
        False,
    ]
