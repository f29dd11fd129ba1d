"""Rules over the whole history agree with the single-date evaluation on every day: a rule's
episodes hold on day D for exactly the children it alerts on when a scan is run as of D, whichever
decision engine decides them."""

import functools
import json
from dataclasses import replace

import numpy as np
import pandas as pd
import pytest
from conftest import ROOT
from test_episodes import PACK, SEEDS, region

from noncoop.alerts.backfill import history_rows
from noncoop.alerts.lifecycle import COLUMNS, reconcile
from noncoop.engine.decide import decider
from noncoop.engine.decide.durable import durable_available
from noncoop.engine.evaluate import evaluate
from noncoop.engine.history import pack_history
from noncoop.engine.rules.load import load_rules
from noncoop.events import conform
from noncoop.scan.masks import KeptMasks

ENGINES = ["python", "durable"] if durable_available() else ["python"]


@functools.cache
def single_date_alerts(seed: int) -> list[tuple[object, list, list]]:
    """Each day's timeline, the alerts a scan as of that day raises and those it folds."""
    events, subjects, days = region(seed)
    runs = [(tl, evaluate(events, subjects, PACK, tl.as_of, "python")) for tl in days]
    return [(tl, run.alerts, run.folded) for tl, run in runs]


FOLDED = [f"{r} folded" for r in PACK.superseders()]


@functools.cache
def days_alerted_by_single_dates(seed: int) -> dict[str, frozenset]:
    """Per rule, the (child, day) it alerts on; per superseded rule, those it is folded on."""
    alerted: dict[str, set] = {name: set() for name in [*(r.id for r in PACK.rules), *FOLDED]}
    for tl, alerts, _ in single_date_alerts(seed):
        for alert in alerts:
            alerted[alert.rule_id].add((alert.subject_id, tl.last_day))
            for related in alert.related:
                alerted[f"{related.rule_id} folded"].add((alert.subject_id, tl.last_day))
    return {rule_id: frozenset(days) for rule_id, days in alerted.items()}


def days_held_by_rule_episodes(seed: int, engine: str) -> dict[str, set]:
    tl = region(seed)[2][-1]
    found, _ = pack_history(tl, PACK.strata(), decider(engine), PACK.superseders())
    parts = {rule_id: r.episodes for rule_id, r in found.items()}
    parts.update(
        {f"{rule_id} folded": r.folded.episodes for rule_id, r in found.items() if r.folded}
    )
    return {
        name: {
            (str(tl.subjects[s]), day)
            for s, first, last in zip(eps.subject, eps.start, eps.end, strict=True)
            for day in range(first, last + 1)
        }
        for name, eps in parts.items()
    }


@pytest.mark.parametrize("engine", ENGINES)
@pytest.mark.parametrize("seed", SEEDS)
def test_rule_episodes_hold_on_the_days_the_rule_alerts(seed, engine):
    expected = days_alerted_by_single_dates(seed)
    held = days_held_by_rule_episodes(seed, engine)
    assert {r: frozenset(d) for r, d in held.items()} == expected


def test_the_histories_exercise_every_rule_and_every_fold():
    for name in [*(r.id for r in PACK.rules), *FOLDED]:
        assert any(days_alerted_by_single_dates(seed)[name] for seed in SEEDS), name


@pytest.mark.parametrize("engine", ENGINES)
def test_the_alerts_live_on_the_last_day_are_the_single_date_alerts(engine):
    """Explained history: the episodes still holding on the as-of day are the alerts a scan as
    of that day raises, for the same children and rules, citing at least the same records."""
    events, subjects, days = region(1)
    as_of = days[-1].as_of
    single = evaluate(events, subjects, PACK, as_of, "python").alerts
    history = evaluate(events, subjects, PACK, as_of, engine, history=True).alerts
    live = [a for a in history if a.held.end == f"{as_of:%Y-%m-%d}"]
    assert sorted((a.rule_id, a.subject_id) for a in live) == sorted(
        (a.rule_id, a.subject_id) for a in single
    )
    cited = {(a.rule_id, a.subject_id): set(a.evidence_ids) for a in live}
    for alert in single:
        assert set(alert.evidence_ids) <= cited[(alert.rule_id, alert.subject_id)]
    assert len(history) > len(live)  # and the episodes that ended earlier
    ended = [a for a in history if a.held.end < f"{as_of:%Y-%m-%d}"]
    assert all(a.window.start <= a.window.end <= a.held.end for a in ended)


LIFECYCLE = ["alert_id", "rule_id", "subject_id", "status", "note", "first_as_of"]
LIFECYCLE += ["changed_as_of", "touched_as_of", "triage", "window_end"]


def lifecycle_of(rows) -> list[dict]:
    frame = pd.DataFrame(rows, columns=list(COLUMNS), dtype=object)
    prior = frame["prior"].map(lambda p: p and (p["status"], p["changed_as_of"]))
    return frame[LIFECYCLE].assign(prior=prior).sort_values("alert_id").to_dict("records")


@pytest.mark.parametrize("engine", ENGINES)
def test_one_pass_over_the_history_leaves_the_store_of_nightly_scans(engine):
    """Scanned night by night, each night's alerts reconciled with the store, or once over the
    whole history: the same alerts (ids), statuses, dates changed and resolved, and reopenings."""
    versions = {rule.id: "v1" for rule in PACK.rules}
    store = pd.DataFrame(columns=list(COLUMNS), dtype=object)
    for tl, alerts, folded in single_date_alerts(1):
        _, rows, dropped = reconcile(
            store.to_dict("records"), alerts, versions, f"{tl.as_of:%Y-%m-%d}", folded
        )
        kept = store[~store["alert_id"].isin([r["alert_id"] for r in rows] + dropped)]
        store = pd.concat([kept, pd.DataFrame(rows, columns=list(COLUMNS), dtype=object)])
    events, subjects, days = region(1)
    as_of = f"{days[-1].as_of:%Y-%m-%d}"
    history = evaluate(events, subjects, PACK, as_of, engine, history=True)
    once = [row for _, row in history_rows(history.alerts, versions, as_of, history.folded)]
    nightly = lifecycle_of(store.to_dict("records"))
    assert lifecycle_of(once) == nightly
    # Some alerts stopped being raised because a rule superseding them came to hold.
    assert any(r["note"] and "folded into" in r["note"] for r in nightly)
    statuses = {row["status"] for row in nightly}
    assert {"resolved", "ongoing"} <= statuses
    # and alerts reopened: still active, changed after the night they were first raised
    assert any(r["status"] != "resolved" and r["changed_as_of"] > r["first_as_of"] for r in nightly)


def test_the_worked_example_in_the_docs():
    """docs/rules.md: failed visits on 1 Feb, 20 Feb, 12 Mar, 5 Apr and 1 Jul give NC-NO-ACCESS
    two episodes, 12 Mar - 1 Apr and 5 - 20 Apr, each citing the visits in its windows."""
    days = ["2026-02-01", "2026-02-20", "2026-03-12", "2026-04-05", "2026-07-01"]
    events = conform(
        pd.DataFrame(
            {
                "event_id": [f"v{i}" for i in range(len(days))],
                "subject_id": "C1",
                "subject_role": "child",
                "household_id": "H1",
                "agency": "social_care",
                "service": "cp",
                "event_type": "visit.no_access",
                "occurred_at": pd.to_datetime(days, utc=True),
                "source": "visits",
                "source_file": "v.csv",
                "source_line": range(2, 2 + len(days)),
            }
        )
    )
    subjects = pd.DataFrame(
        {"subject_id": ["C1"], "role": ["child"], "household_id": ["H1"], "date_of_birth": [None]}
    )
    rule = load_rules(ROOT / "rules" / "NC-NO-ACCESS.yaml")
    alerts = evaluate(events, subjects, rule, "2026-07-01", "python", history=True).alerts
    assert [(a.held.start, a.held.end) for a in alerts] == [
        ("2026-03-12", "2026-04-01"),
        ("2026-04-05", "2026-04-20"),
    ]
    assert [a.evidence_ids for a in alerts] == [["v0", "v1", "v2"], ["v1", "v2", "v3"]]
    assert (alerts[0].window.start, alerts[0].window.end) == ("2026-02-01", "2026-03-12")
    # In the store, one alert: raised 12 Mar, reopened 5 Apr (its window starts 20 Feb, within 30
    # days of 12 Mar), resolved 21 Apr.
    [(_, row)] = history_rows(alerts, {}, "2026-07-01")
    assert (row["first_as_of"], row["status"], row["changed_as_of"]) == (
        "2026-03-12",
        "resolved",
        "2026-04-21",
    )
    assert row["prior"]["status"] == "ongoing" and row["prior"]["changed_as_of"] == "2026-04-05"


def test_a_history_without_the_records_a_pattern_selects_has_no_episodes_of_it():
    """A region whose feeds hold no school records: the attendance rates have nothing to sweep,
    and the history still evaluates, citing only what is there."""
    events, subjects, days = region(1)
    health = events[events["agency"] == "health"]
    alerts = evaluate(health, subjects, PACK, days[-1].as_of, "python", history=True).alerts
    assert alerts and {e.agency for a in alerts for e in a.evidence} == {"health"}
    assert not [a for a in alerts if a.pattern == "pattern:isolation"]


def test_a_history_where_no_child_is_ever_seen():
    """Only records of visits with no access: the gap patterns have no sighting to measure
    from, and every child open to social care goes unseen from its first record."""
    events, subjects, days = region(1)
    unseen = events[events["event_type"] == "visit.no_access"].assign(child_seen=False)
    alerts = evaluate(unseen, subjects, PACK, days[-1].as_of, "python", history=True).alerts
    assert {a.rule_id for a in alerts} >= {"NC-NO-ACCESS"}


def episodes_found(tl, threads: int) -> dict[str, tuple]:
    found, signals = pack_history(tl, PACK.strata(), decider("python"), PACK.superseders(), threads)
    arrays = lambda e: tuple(  # noqa: E731
        a.tolist() for a in (e.subject, e.start, e.end, e.evidence, e.rows)
    )
    out = {name: arrays(s.episodes) for name, s in signals.items()}
    for rule_id, r in found.items():
        out[rule_id] = (arrays(r.episodes), r.names, r.support.tolist())
        if r.folded is not None:
            out[f"{rule_id} folded"] = (arrays(r.folded.episodes), r.folded.support.tolist())
    return out


@pytest.mark.parametrize("seed", SEEDS)
def test_patterns_worked_out_in_threads_give_what_one_thread_gives(seed):
    tl = region(seed)[2][-1]
    alone = episodes_found(tl, 1)
    assert sum(len(v[0]) for k, v in alone.items() if k.startswith("NC-")) > 0
    assert episodes_found(tl, 3) == alone


def test_a_pattern_several_rules_share_is_worked_out_once_in_threads(monkeypatch, tmp_path):
    """Two rules written with the same pattern share its episodes: with threads, whichever
    asks first works them out and the other waits for them, rather than both working."""
    from noncoop.engine import history

    made: list[str] = []
    kind = history.KINDS["count"]
    counted = lambda spec, masks, tl: made.append("count") or kind.episodes(spec, masks, tl)  # noqa: E731
    monkeypatch.setitem(history.KINDS, "count", replace(kind, episodes=counted))
    text = (ROOT / "rules" / "NC-NO-ACCESS.yaml").read_text()
    for name in ("A", "B"):
        (tmp_path / f"{name}.yaml").write_text(text.replace("id: NC-NO-ACCESS", f"id: NC-{name}"))
    pack = load_rules(tmp_path)
    tl = region(1)[2][-1]
    found, _ = pack_history(tl, pack.strata(), decider("python"), pack.superseders(), 2)
    assert made == ["count"]
    assert len(found["NC-A"].episodes) == len(found["NC-B"].episodes) > 0


def _asking(asked: list[int]):
    """The python backend, noting how many situations it is asked to decide."""
    backend = decider("python")

    def decide_python(rules, table):
        asked.append(table.n)
        return backend(rules, table)

    return decide_python


def _decided_with(tl, memory, asked: list[int], pack=PACK) -> dict[str, tuple]:
    found, _ = pack_history(tl, pack.strata(), _asking(asked), pack.superseders(), 1, memory)
    return {
        rule_id: (r.episodes.subject.tolist(), r.episodes.start.tolist(), r.names)
        for rule_id, r in found.items()
    }


@pytest.mark.parametrize("seed", SEEDS)
def test_situations_an_earlier_scan_decided_are_not_decided_again(seed, tmp_path):
    """A later night takes the decisions its first scan made and kept with the timeline: the
    backend is asked only about situations not met before, and every rule's episodes are those
    that deciding every situation again gives."""
    days = region(seed)[2]
    earlier, later = days[len(days) // 2], days[-1]
    first = KeptMasks()
    asked: list[int] = []
    _decided_with(earlier, first, asked)
    assert sum(asked) > 10
    first.keep(tmp_path, len(earlier.t))
    read = KeptMasks.read(tmp_path, len(earlier.t), earlier.subject)
    assert read.outcomes == json.loads(json.dumps(first.outcomes))
    kept = KeptMasks(outcomes=read.outcomes)  # its masks are of the earlier day's rows
    whole: list[int] = []
    again = _decided_with(later, None, whole)
    remembered: list[int] = []
    assert _decided_with(later, kept, remembered) == again
    assert sum(remembered) < sum(whole)  # the same situations came up again, and were known
    twice: list[int] = []
    assert _decided_with(later, kept, twice) == again
    assert sum(twice) == 0  # tonight's new situations are known too now


def test_rules_written_otherwise_are_decided_again(tmp_path):
    """Decisions are remembered for the rules as written: another text of a rule (its
    condition, say) is decided afresh, and only the pack as it stands is kept again."""
    tl = region(1)[2][-1]
    memory = KeptMasks()
    asked: list[int] = []
    _decided_with(tl, memory, asked)
    again: list[int] = []
    _decided_with(tl, memory, again)
    assert sum(asked) > 0 and sum(again) == 0
    changed = replace(PACK, rules=[replace(r, digest=r.digest[::-1]) for r in PACK.rules])
    other: list[int] = []
    later = KeptMasks(outcomes=memory.outcomes)
    _decided_with(tl, later, other, changed)
    assert sum(other) == sum(asked)
    # What is kept again is the pack as tonight had it, not every pack ever decided.
    later.keep(tmp_path, len(tl.t))
    kept = KeptMasks.read(tmp_path, len(tl.t), tl.subject).outcomes
    assert kept.keys() == later.used and not kept.keys() & memory.used


def test_decisions_kept_in_another_form_are_refused(tmp_path, caplog):
    """A kept index whose decisions are not what a scan writes is not read: the masks and the
    decisions are worked out again, with a warning."""
    memory = KeptMasks()
    memory.learn_decided("ctx", {"5": [("NC-A", ("NC-A.x",))]})
    memory.learn("[]", np.ones(3, bool))
    memory.keep(tmp_path, 3)
    assert KeptMasks.read(tmp_path, 3, np.zeros(3, np.int64)).decided("ctx") == {
        "5": [["NC-A", ["NC-A.x"]]]
    }
    index = json.loads((tmp_path / "masks.json").read_text())
    index["decisions"]["ctx"]["5"] = [["NC-A", "NC-A.x"]]
    (tmp_path / "masks.json").write_text(json.dumps(index))
    read = KeptMasks.read(tmp_path, 3, np.zeros(3, np.int64))
    assert read.decided("ctx") == {} and read.recall("[]") is None
    assert "cannot be read" in caplog.text
