"""Episodes over the whole history agree with the single-date evaluation on every day: a pattern's
episodes hold on day D exactly for the children the pattern fires for when evaluated as of D.

The single-date evaluation is the oracle; random histories of many children and event kinds make
the windows enter, leave, break and resume in every way the rules meet."""

import functools

import numpy as np
import pandas as pd
import pytest
from conftest import ROOT

from noncoop.engine.episodes import runs, sweep, union_of_windows
from noncoop.engine.patterns import KINDS, rate
from noncoop.engine.rules.load import load_rules
from noncoop.engine.selections import rule_masks, shared_records, timeline_mask
from noncoop.engine.timeline import build_timeline
from noncoop.events import conform

START = pd.Timestamp("2025-01-06", tz="UTC")
DAYS = 200
TYPES = (
    "visit.completed",
    "visit.no_access",
    "visit.refused",
    "meeting.not_attended",
    "meeting.attended",
    "appointment.booked",
    "appointment.missed",
    "appointment.attended",
    "appointment.late",
    "appointment.cancelled_by_family",
    "hostility.recorded",
    "contact.excessive",
)
AGENCIES = ("health", "social_care", "education", "police")
ABSENCE_CODES = ("N", "O", "G", "I", "I", "M")
SERVICES = ("gp", "dental", "cp", "school_nurse", None)


def _agency(kind: str, rng) -> str:
    """Visits and meetings mostly by social care, appointments mostly in health."""
    usual = "social_care" if kind.startswith(("visit", "meeting")) else "health"
    if kind.startswith(("visit", "meeting", "appointment")) and rng.random() < 0.8:
        return usual
    return AGENCIES[rng.integers(len(AGENCIES))]


def history(seed: int, children: int = 40) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Random events for children (and one adult per household of two children), bursty so
    that counts rise above thresholds and fall back."""
    rng = np.random.default_rng(seed)
    rows = []
    for c in range(children):
        child, adult, household = f"C{c:03d}", f"A{c // 2:03d}", f"H{c // 2:03d}"
        n = int(rng.integers(6, 60))
        # Each child's records are mostly of a few kinds, so counts cross thresholds.
        mine = rng.choice(len(TYPES), 3, replace=False)
        if c % 5 == 0:  # some children's appointments are booked then missed, again and again
            mine = np.array(
                [TYPES.index("appointment.booked"), TYPES.index("appointment.missed")] * 2
            )[:3]
        centre = rng.integers(0, DAYS, 3)
        day = np.clip(rng.choice(centre, n) + rng.normal(0, 15, n).astype(int), 0, DAYS - 1)
        for i, d in enumerate(day):
            kind = TYPES[mine[rng.integers(3)] if rng.random() < 0.8 else rng.integers(len(TYPES))]
            by_adult = kind == "hostility.recorded" and rng.random() < 0.5
            rows.append(
                {
                    "event_id": f"e{c}-{i}",
                    "subject_id": adult if by_adult else child,
                    "subject_role": "adult" if by_adult else "child",
                    "household_id": household,
                    "agency": _agency(kind, rng),
                    "service": SERVICES[rng.integers(len(SERVICES))],
                    "event_type": kind,
                    "occurred_at": START
                    + pd.Timedelta(days=int(d), hours=int(rng.integers(8, 18))),
                    "chain_id": f"R{c}-{rng.integers(3)}"
                    if kind.startswith("appointment")
                    else None,
                    "child_seen": bool(rng.random() < 0.6) if kind.startswith("visit") else None,
                    "child_seen_alone": bool(rng.random() < 0.3)
                    if kind == "visit.completed"
                    else None,
                    "hostility_level": int(rng.integers(1, 5))
                    if kind == "hostility.recorded"
                    else None,
                    "source": f"{kind.split('.')[0]}_feed",
                    "source_file": "x.csv",
                    "source_line": i + 2,
                }
            )
        school = range(0, DAYS, 7) if c % 3 else range(0)  # some children are at no school
        for week in school:  # school weeks, absence in bursts
            rate = 0.6 if abs(week - centre[0]) < 30 else 0.05
            absent = int(rng.binomial(10, rate))
            school_row = {
                "subject_id": child,
                "subject_role": "child",
                "household_id": household,
                "agency": "education",
                "service": "school",
                "source": "school",
                "source_file": "s.csv",
            }
            rows.append(
                {
                    **school_row,
                    "event_id": f"w{c}-{week}",
                    "event_type": "school.attendance_summary",
                    "occurred_at": START + pd.Timedelta(days=week),
                    "sessions_possible": 10,
                    "sessions_absent": absent,
                    "source_line": week + 2,
                }
            )
            # Each absent session too, with its DfE code, illness and medical among them.
            for session in range(absent):
                rows.append(
                    {
                        **school_row,
                        "event_id": f"a{c}-{week}-{session}",
                        "event_type": "school.absence",
                        "occurred_at": START + pd.Timedelta(days=week + session // 2),
                        "detail": ABSENCE_CODES[rng.integers(len(ABSENCE_CODES))],
                        "source_line": 1000 + week * 10 + session,
                    }
                )
    events = conform(pd.DataFrame(rows), trace=False)
    people = sorted({(r["subject_id"], r["subject_role"], r["household_id"]) for r in rows})
    subjects = pd.DataFrame(people, columns=["subject_id", "role", "household_id"])
    subjects["date_of_birth"] = pd.Timestamp("2016-05-01").date()
    return events, subjects


PACK = load_rules(ROOT / "rules")
SEEDS = (1, 2)


def patterns_with_episodes():
    for rule in PACK.rules:
        for name, pattern in rule.rule.patterns.items():
            if KINDS[pattern.kind].episodes is not None:
                yield pytest.param(rule.id, name, id=f"{rule.id}.{name}")


@functools.cache
def region(seed: int):
    """The random history, its timeline as of the last day, and as of every day before it."""
    events, subjects = history(seed)
    # Read as a scan reads them: with the records household-wide selections share.
    share = shared_records(events, [s for r in PACK.rules for s in r.rule.selections()])
    days = [
        build_timeline(events, subjects, (START + pd.Timedelta(days=offset)).date(), share=share)
        for offset in range(DAYS)
    ]
    return events, subjects, days


@functools.cache
def days_held_by_single_dates(rule_id, name, seed) -> frozenset[tuple[str, int]]:
    rule = PACK.get(rule_id)
    pattern = rule.rule.patterns[name]
    held = set()
    for tl in region(seed)[2]:
        masks = rule_masks(rule.rule.select, functools.partial(timeline_mask, tl))
        signals = KINDS[pattern.kind].evaluate(pattern.spec, masks, tl)
        held |= {(str(tl.subjects[s]), tl.last_day) for s in signals.frame["subject"]}
    return frozenset(held)


def days_held_by_episodes(rule_id, name, seed):
    rule = PACK.get(rule_id)
    pattern = rule.rule.patterns[name]
    tl = region(seed)[2][-1]
    masks = rule_masks(rule.rule.select, functools.partial(timeline_mask, tl))
    found = KINDS[pattern.kind].episodes(pattern.spec, masks, tl)
    held = {
        (str(tl.subjects[s]), day)
        for s, first, last in zip(found.subject, found.start, found.end, strict=True)
        for day in range(first, last + 1)
    }
    return found, tl, held


@pytest.mark.parametrize(("rule_id", "name"), list(patterns_with_episodes()))
@pytest.mark.parametrize("seed", SEEDS)
def test_episodes_hold_on_the_days_the_pattern_fires(rule_id, name, seed):
    expected = days_held_by_single_dates(rule_id, name, seed)
    _, _, held = days_held_by_episodes(rule_id, name, seed)
    assert held == expected


@pytest.mark.parametrize(("rule_id", "name"), list(patterns_with_episodes()))
def test_the_histories_exercise_every_pattern(rule_id, name):
    assert any(days_held_by_single_dates(rule_id, name, seed) for seed in SEEDS)


@pytest.mark.parametrize(("rule_id", "name"), list(patterns_with_episodes()))
def test_an_episodes_evidence_covers_each_days_window_evidence(rule_id, name):
    """On each day an episode holds, the events the single-date evaluation cites are among the
    episode's evidence. A divergence cites each other value involved by its latest record on the
    last day of its run: on other days, only its `select` events are compared."""
    found, tl, _ = days_held_by_episodes(rule_id, name, 1)
    rule = PACK.get(rule_id)
    pattern = rule.rule.patterns[name]
    divergence = pattern.kind == "divergence"
    for day_tl in region(1)[2][:: 1 if divergence else 3]:
        masks = rule_masks(rule.rule.select, functools.partial(timeline_mask, day_tl))
        signals = KINDS[pattern.kind].evaluate(pattern.spec, masks, day_tl)
        for s, cited in zip(signals.frame["subject"], signals.frame["evidence"], strict=True):
            child = str(day_tl.subjects[s])
            (episode,) = [
                i
                for i in found.holding(day_tl.last_day)
                if str(tl.subjects[found.subject[i]]) == child
            ]
            ids = set(tl.trace(found.evidence_of(episode))["event_id"])
            cited = np.asarray(cited, np.int64)
            if divergence and day_tl.last_day != found.end[episode]:
                cited = cited[masks[pattern.spec.select][cited]]
            assert set(day_tl.trace(cited)["event_id"]) <= ids


def test_a_rate_swept_over_the_rows_near_its_bound_holds_on_the_days_it_fires(monkeypatch):
    """A rate of at least a share sweeps only the rows whose windows meet a day the numerator
    may reach the bound on. Made to do so for every rate, however many rows are near: on every
    day the episodes hold as the single dates fire, with the same evidence as the whole sweep."""
    rates = [
        (rule.id, name)
        for rule in PACK.rules
        for name, pattern in rule.rule.patterns.items()
        if pattern.kind == "rate" and pattern.spec.at_least is not None
    ]
    near_enough, left_out = rate._near_enough, []

    def spied(*args):
        near = near_enough(*args)
        left_out.append(near is not None and not near.all())
        return near

    for rule_id, name in rates:
        for seed in SEEDS:
            whole, _, _ = days_held_by_episodes(rule_id, name, seed)
            with monkeypatch.context() as forced:
                forced.setattr(rate, "_LEAVES_OUT", 0)
                forced.setattr(rate, "_near_enough", spied)
                found, _, held = days_held_by_episodes(rule_id, name, seed)
            assert held == days_held_by_single_dates(rule_id, name, seed), (rule_id, seed)
            assert np.array_equal(found.evidence, whole.evidence), (rule_id, seed)
            assert np.array_equal(found.rows, whole.rows), (rule_id, seed)
    assert len(rates) >= 4 and any(left_out)


def random_rate(seed: int):
    """Random rows of one rate, in timeline order: its numerator sparse or dense, its bound low
    or high, from a few records in each window to dozens."""
    rng = np.random.default_rng(seed)
    rows = int(rng.integers(200, 3000))
    subject, day = rng.integers(0, 30, rows), rng.integers(0, 300, rows)
    order = np.lexsort((day, subject))
    num = rng.choice([0.0, 0.0, 0.0, 0.0, 1.0, 2.0, 6.0], rows)
    den = num + rng.integers(0, 4, rows)
    within = int(rng.integers(3, 60))
    spec = rate.Rate(
        numerator={"select": "n"},
        denominator={"select": "d"},
        at_least=float(rng.choice([0.2, 0.5, 0.9])),
        min_denominator=float(rng.choice([0, 1, 8, 30])),
        within=f"{within}d",
    )
    return spec, within, subject[order], day[order], num, den


RATE_SEEDS = range(16)


@pytest.mark.parametrize("seed", RATE_SEEDS)
def test_rows_left_out_of_a_rate_sweep_change_no_day_it_holds(seed, monkeypatch):
    """The days a rate holds on, swept over the rows near its bound only, are those of the
    whole sweep and of summing each day's window by hand."""
    spec, within, subject, day, num, den = random_rate(seed)
    monkeypatch.setattr(rate, "_LEAVES_OUT", 0)  # rows left out wherever any can be
    near = rate._near_enough(spec, within, subject, day, [num, den])

    def held(rows) -> set[tuple[int, int]]:
        swept = sweep(subject[rows], day[rows], day[rows] + within, [num[rows], den[rows]])
        found = runs(swept, rate._fires(spec, *swept.totals.T), 400)
        spans = zip(found.subject, found.start, found.end, strict=True)
        return {(s, d) for s, a, b in spans for d in range(a, b + 1)}

    by_hand = set()
    for child in range(30):
        mine = subject == child
        for d in range(400):
            inside = mine & (day <= d) & (day > d - within)
            if rate._fires(spec, np.array([num[inside].sum()]), np.array([den[inside].sum()]))[0]:
                by_hand.add((child, d))
    assert held(near) == held(np.ones(len(day), bool)) == by_hand


def test_the_random_rates_leave_rows_out_of_most_sweeps(monkeypatch):
    monkeypatch.setattr(rate, "_LEAVES_OUT", 0)
    left_out = 0
    for seed in RATE_SEEDS:
        spec, within, subject, day, num, den = random_rate(seed)
        left_out += not rate._near_enough(spec, within, subject, day, [num, den]).all()
    assert left_out >= len(RATE_SEEDS) // 2


@pytest.mark.parametrize("length", [1, 3, 30])
def test_the_union_of_windows_covers_exactly_the_days_of_some_window(length):
    rng = np.random.default_rng(length)
    subject, day = rng.integers(0, 5, 400), rng.integers(0, 200, 400)
    found = union_of_windows(subject, day, length)
    covered = {(s, d + i) for s, d in zip(subject, day, strict=True) for i in range(length)}
    runs = {
        (s, d)
        for s, a, b in zip(found.subject, found.start, found.stop, strict=True)
        for d in range(a, b)
    }
    assert runs == covered
    # Disjoint and not touching: each run is as long as it can be.
    same = found.subject[1:] == found.subject[:-1]
    assert (found.start[1:][same] > found.stop[:-1][same]).all()
