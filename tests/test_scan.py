"""`noncoop scan` end to end: the alert JSON contract, both engines, recall on the synthetic
region, and the as-of date."""

import contextlib
import json
import sys

import numpy as np
import pandas as pd
import pytest
from conftest import REGION, ROOT
from typer.testing import CliRunner

from noncoop.cli.app import app
from noncoop.engine.decide import durable as decisions
from noncoop.engine.decide.conjunctions import SignalTable
from noncoop.engine.decide.durable import durable_available
from noncoop.engine.evaluate import evaluate
from noncoop.engine.rules.load import load_rules
from noncoop.scan import run as run_module
from noncoop.scan import scan, scan_json
from noncoop.store.workspace import Workspace
from noncoop.synth.region import SynthOptions, synthesise
from noncoop.synth.scoring import load_traps, load_truth, score, score_traps

runner = CliRunner()
needs_durable = pytest.mark.skipif(not durable_available(), reason="durable_rules not installed")


@pytest.fixture(scope="module")
def region(tmp_path_factory):
    root = tmp_path_factory.mktemp("scan")
    synthesise(root / "src", SynthOptions(children=2000, seed=11))
    ws = Workspace(root / "ws")
    result = scan(root / "src", ws, [ROOT / "rules"], "2026-03-31", "python")
    return root, ws, result


def test_json_contract(tmp_path):
    out = tmp_path / "alerts.json"
    result = runner.invoke(
        app,
        [
            "scan",
            str(REGION),
            "-w",
            str(tmp_path / "ws"),
            "--as-of",
            "2026-02-28",
            "--json",
            str(out),
            "--engine",
            "python",
        ],
    )
    assert result.exit_code == 0, result.output
    data = json.loads(out.read_text())
    assert data["as_of"] == "2026-02-28"
    assert data["rules"] == 19 and data["events"] > 0
    ingest = data["ingest"]
    assert ingest["rows_read"] == ingest["rows_accepted"] + ingest["rows_quarantined"] == 40
    assert set(ingest["by_source"]["gp"]) >= {"rows_read", "rows_accepted", "rows_quarantined"}
    alert = next(a for a in data["alerts"] if a["rule_id"] == "NC-PARTIAL-HOSTILITY")
    assert set(alert) >= {
        "alert_id",
        "rule_id",
        "title",
        "level",
        "tags",
        "subject_id",
        "household_id",
        "window",
        "explanation",
        "evidence",
        "guidance",
        "actions",
        "status",
    }
    assert alert["level"] in ("info", "low", "medium", "high", "critical")
    assert sum(t.startswith("pattern:") for t in alert["tags"]) == 1
    assert alert["status"] == "new"
    assert alert["subject_id"] == "C0001" and alert["household_id"] == "H01"
    # The episode's window: from the first hostility record to the last record cited; each other
    # agency involved is cited by its latest record (the GP's missed appointment of 24 Jan), not
    # by every booking and school week since the episode began.
    assert alert["window"] == {"start": "2026-01-09", "end": "2026-01-24"}
    assert len(alert["evidence"]) == 5
    assert alert["held"] == {"start": "2026-01-15", "end": "2026-02-28"}
    lines = {(e["source_file"], e["source_line"]) for e in alert["evidence"]}
    assert ("casenotes.csv", 2) in lines and ("police.csv", 2) in lines
    assert all(
        set(e)
        >= {
            "event_id",
            "agency",
            "service",
            "event_type",
            "occurred_at",
            "source",
            "source_file",
            "source_line",
        }
        for e in alert["evidence"]
    )
    where = "on 2 separate notes and 1 police incident"
    assert (
        f"Hostility on 3 days, recorded by police and social care {where}" in (alert["explanation"])
    )
    assert alert["explanation"].endswith("some records against an adult in the household, A0001")
    assert alert["guidance"][0].startswith("Pan Lancashire SCB procedure 5.43")
    # The adult's hostility counts for both children of household H01.
    hostile = {a["subject_id"] for a in data["alerts"] if a["rule_id"] == "NC-PARTIAL-HOSTILITY"}
    assert hostile == {"C0001", "C0002"}


@pytest.mark.parametrize("stops", [False, True])
def test_a_scans_threads_switch_every_millisecond_and_the_host_keeps_its_interval(
    tmp_path, monkeypatch, stops
):
    """While a scan runs, its threads hand the interpreter on every millisecond; the process
    running it (noncoop used as a library) has its own interval back after, even where the
    scan stopped."""
    seen = []
    real = run_module._evaluate

    def evaluate_noting(*args, **kwargs):
        seen.append(sys.getswitchinterval())
        if stops:
            raise RuntimeError("stopped")
        return real(*args, **kwargs)

    monkeypatch.setattr(run_module, "_evaluate", evaluate_noting)
    host = sys.getswitchinterval()
    sys.setswitchinterval(0.02)
    try:
        with pytest.raises(RuntimeError) if stops else contextlib.nullcontext():
            scan(REGION, Workspace(tmp_path / "ws"), None, "2026-02-28", "python")
        assert seen == [pytest.approx(0.001)]
        assert sys.getswitchinterval() == pytest.approx(0.02)
    finally:
        sys.setswitchinterval(host)


def test_as_of_uses_only_events_up_to_that_day(tmp_path):
    ws = Workspace(tmp_path / "ws")
    before = scan(REGION, ws, None, "2026-01-14", "python")
    after = scan(REGION, ws, None, "2026-02-28", "python")
    rules = lambda r: {a.rule_id for a in r.evaluation.alerts}  # noqa: E731
    assert "NC-THREATS-TO-WORKERS" not in rules(before)
    assert "NC-THREATS-TO-WORKERS" in rules(after)
    assert before.evaluation.events < after.evaluation.events


def test_planted_patterns_are_found_and_background_stays_quiet(region):
    root, _, result = region
    truth = load_truth(root / "src" / "truth.csv")
    # A scan as of a date finds the patterns planted in the weeks before it.
    alerted = ((a.subject_id, a.pattern) for a in result.store.alerts)
    table = score(alerted, truth, 2000, since="2026-03-01").set_index("pattern")
    assert (table["recall"] >= 0.9).all(), table
    assert (table["background_rate"] <= 0.01).all(), table


def test_ordinary_families_stay_quiet_at_medium_and_above(region):
    """Chronic illness with appointments kept, cancellations by the service, a hospital stay, a
    family holiday, a school move and a single incident with the police raise nothing at medium
    or above, as of the date or over the history."""
    root, _, result = region
    traps = load_traps(root / "src" / "truth.csv")
    every = (*result.store.alerts, *result.store.history)
    raised = ((a.subject_id, a.rule_id, a.level, a.window.start, a.window.end) for a in every)
    table = score_traps(raised, traps)
    assert len(table) == 6 and (table["children"] > 0).all(), table
    assert (table["alerted"] == 0).all(), table


def test_patterns_that_ended_months_before_are_found_by_one_scan(region):
    root, _, result = region
    truth = load_truth(root / "src" / "truth.csv")
    earlier = truth[truth["window_end"] < "2026-01-31"]
    assert len(earlier) > 50  # the region plants patterns that ended 60-200 days before
    # The first scan records them, resolved the day after they last held, with their evidence.
    resolved = result.store.history
    assert all(a.status == "resolved" and a.evidence for a in resolved)
    assert all(a.held.end < a.changed_as_of <= "2026-03-31" for a in resolved)
    alerted = ((a.subject_id, a.pattern) for a in (*result.store.alerts, *resolved))
    table = score(alerted, truth, 2000).set_index("pattern")
    assert (table["recall"] >= 0.9).all(), table
    # Two years give background children more chances to meet a rule than one day does.
    assert (table["background_rate"] <= 0.02).all(), table


@needs_durable
def test_both_engines_give_identical_alerts(region, monkeypatch):
    # Small chunks, so the durable decisions run in worker processes as they do at scale.
    monkeypatch.setattr(decisions, "CHUNK", 150)
    _, ws, result = region
    pack = load_rules(ROOT / "rules")
    events, subjects = ws.load_events(as_of="2026-03-31"), ws.load_subjects()
    durable = evaluate(events, subjects, pack, "2026-03-31", "durable", history=True)
    assert durable.alerts == result.evaluation.alerts
    assert len(durable.alerts) > 50


@needs_durable
def test_both_engines_identical_on_fixture_corpus(tmp_path):
    ws = Workspace(tmp_path / "ws")
    python = scan(REGION, ws, None, "2026-02-28", "python")
    durable = scan(REGION, ws, None, "2026-02-28", "durable")
    assert python.evaluation.alerts == durable.evaluation.alerts != []


def test_scan_is_a_pure_function_of_its_inputs(region):
    _root, ws, result = region
    again = evaluate(
        ws.load_events(as_of="2026-03-31"),
        ws.load_subjects(),
        load_rules(ROOT / "rules"),
        "2026-03-31",
        "python",
        history=True,
    )
    assert result.evaluation.alerts == again.alerts
    # The JSON carries the episodes as the alert store now holds them: on a first run, those
    # still holding are new, the earlier ones resolved the day after they last held.
    stored = scan_json(result)["alerts"]
    episodes = {(a.rule_id, a.subject_id, a.held.end): a for a in again.alerts}
    for a in stored:
        episode = episodes[(a["rule_id"], a["subject_id"], a["held"]["end"])]
        assert a["evidence"] == [e.to_json() for e in episode.evidence]
    live = [a for a in stored if a["status"] == "new"]
    assert len(live) == sum(a.held.end == "2026-03-31" for a in again.alerts)
    resolved = [a for a in stored if a["status"] == "resolved"]
    assert resolved and all(a["resolved_on"] > a["held"]["end"] for a in resolved)
    assert {a["status"] for a in stored} == {"new", "resolved"}


def test_broken_rules_stop_the_scan_with_exit_1(tmp_path):
    bad = tmp_path / "rules"
    bad.mkdir()
    (bad / "NC-BAD.yaml").write_text("id: NC-BAD\ntitle: x\n", encoding="utf-8")
    result = runner.invoke(
        app, ["scan", str(REGION), "-w", str(tmp_path / "ws"), "--rules", str(bad)]
    )
    assert result.exit_code == 1
    assert (
        "NC-BAD.yaml:1:1: RULE-MISSING-KEY [NC-BAD] missing required key 'status'" in result.output
    )


def test_rules_commands():
    validate = runner.invoke(app, ["rules", "validate"])
    assert validate.exit_code == 0 and "19 rules valid" in validate.output
    tested = runner.invoke(app, ["rules", "test", "--engine", "python", "--rule", "NC-REBOOK-MISS"])
    assert tested.exit_code == 0
    assert "6 passed, 0 failed" in tested.output
    listed = runner.invoke(app, ["rules", "list"])
    assert "NC-ISOLATION" in listed.output
    explained = runner.invoke(app, ["rules", "explain", "NC-ISOLATION"])
    assert explained.exit_code == 0
    assert "at least 10%" in explained.output and "Isolation of a Child" in explained.output
    missing = runner.invoke(app, ["rules", "explain", "NC-NOPE"])
    assert missing.exit_code == 1
    # Every shipped rule explains itself, those with alternative filters and household scope too.
    for rule_id in ("NC-CHILD-NOT-SEEN-ANY-AGENCY", "NC-THREATS-TO-WORKERS"):
        explained = runner.invoke(app, ["rules", "explain", rule_id])
        assert explained.exit_code == 0, explained.output
    assert "on any child's record in the household" in explained.output


def test_rules_validate_json_lists_errors(tmp_path):
    (tmp_path / "NC-BAD.yaml").write_text("id: NC-BAD\n", encoding="utf-8")
    result = runner.invoke(app, ["rules", "validate", str(tmp_path), "--format", "json"])
    assert result.exit_code == 1
    errors = json.loads(result.output)
    assert {e["code"] for e in errors} == {"RULE-MISSING-KEY"}
    assert all(e["file"].endswith("NC-BAD.yaml") and e["line"] == 1 for e in errors)


def test_failing_rule_test_exits_1(tmp_path):
    text = (ROOT / "rules" / "NC-NO-ACCESS.yaml").read_text(encoding="utf-8")
    (tmp_path / "NC-NO-ACCESS.yaml").write_text(
        text.replace("min: 3, within: 60d", "min: 4, within: 60d")
    )
    result = runner.invoke(app, ["rules", "test", str(tmp_path), "--engine", "python"])
    assert result.exit_code == 1
    # The two alert cases (today and an episode months before) fail; the three near misses pass.
    assert "FAIL" in result.output and "3 passed, 2 failed" in result.output


def test_evaluation_with_no_events_gives_no_alerts():
    pack = load_rules(ROOT / "rules")
    empty = pd.DataFrame(columns=["event_id"])
    from noncoop.events import conform

    subjects = pd.DataFrame(columns=["subject_id", "role", "household_id", "date_of_birth"])
    result = evaluate(conform(empty), subjects, pack, "2026-03-31", "python")
    assert result.alerts == []


def _two_feed_region(root, covers: str = "") -> None:
    """Visits that record the child seen stop in January; case notes show the case open since."""
    root.mkdir()
    (root / "people.csv").write_text(
        "subject_id,id_scheme,id_value,household_id,date_of_birth,role\n"
        "C1,la,LA1,H1,2018-01-01,child\n"
    )
    (root / "visits.csv").write_text(
        "record_id,person_id,event_type,occurred_at,child_seen,detail\n"
        "V1,LA1,visit.completed,2025-12-01,yes,\nV2,LA1,visit.completed,2026-01-10,yes,\n"
    )
    (root / "notes.csv").write_text(
        "record_id,person_id,event_type,occurred_at,child_seen,detail\n"
        + "".join(
            f"N{i},LA1,meeting.attended,2026-{m},no,\n" for i, m in enumerate(["02-20", "03-20"])
        )
    )
    (root / "sources.yaml").write_text(
        "sources:\n"
        "  - {name: visits, importer: contact-log, path: visits.csv, agency: social_care,"
        f" service: cp_visits, id_scheme: la{covers}}}\n"
        "  - {name: notes, importer: contact-log, path: notes.csv, agency: social_care,"
        " service: casenotes, id_scheme: la}\n"
    )


def test_declared_coverage_lets_a_gap_be_judged(tmp_path):
    # Inferred, the visits feed ends in January, so the gap cannot be judged: reported only.
    _two_feed_region(tmp_path / "inferred")
    inferred = scan(tmp_path / "inferred", Workspace(tmp_path / "w1"), None, "2026-03-31", "python")
    rules = {a.rule_id for a in inferred.evaluation.alerts}
    assert "NC-CHILD-NOT-SEEN-SW" not in rules
    assert inferred.evaluation.insufficient["NC-CHILD-NOT-SEEN-SW"] == 1
    # Declared to run on, the silence is real: the child has not been seen for 80 days.
    _two_feed_region(tmp_path / "declared", ", covers: {from: 2025-06-01}")
    declared = scan(tmp_path / "declared", Workspace(tmp_path / "w2"), None, "2026-03-31", "python")
    alerts = [a for a in declared.evaluation.alerts if a.rule_id == "NC-CHILD-NOT-SEEN-SW"]
    assert len(alerts) == 1 and "80 days" in alerts[0].explanation
    assert "NC-CHILD-NOT-SEEN-SW" not in declared.evaluation.insufficient


def test_declared_coverage_must_be_in_order(tmp_path):
    _two_feed_region(tmp_path / "src", ", covers: {from: 2026-02-01, to: 2026-01-01}")
    result = CliRunner().invoke(app, ["ingest", str(tmp_path / "src"), "-w", str(tmp_path / "w")])
    assert result.exit_code == 1
    assert "sources.yaml:2:" in result.output and "before 'from'" in result.output


@needs_durable
def test_durable_sessions_only_for_children_who_can_meet_a_rule():
    # durable_rules holds few sessions per ruleset: children who have only a blocking (`not`)
    # signal must not get one, or a region with many of them exhausts the engine.
    rule = next(r for r in load_rules(ROOT / "rules").rules if r.id == "NC-NOT-SEEN-ALONE")
    n = 3 * decisions.BATCH
    table = SignalTable(n, {}, {}, {})
    everyone = np.arange(n)
    table.add(rule.signal("alone"), everyone, everyone * 0, everyone * 0 + 10)
    some = np.array([5, 700, 1400])
    table.add(rule.signal("visits"), some, some * 0, some * 0 + 10)
    job = decisions._DurableJob([rule], table)
    assert set(job.facts[0].tolist()) == {5, 700, 1400}
    table.add(rule.signal("alone"), np.array([5]), np.array([0]), np.array([10]))
    assert [c for _, c, _ in decisions.decide_durable([rule], table)] == [700, 1400]


def test_every_phase_of_a_scan_is_named_and_start_up_is_counted_once(tmp_path):
    ws = Workspace(tmp_path / "ws")
    first = scan(REGION, ws, as_of="2026-03-31", engine="python")
    second = scan(REGION, ws, as_of="2026-04-01", engine="python")
    phases = ["start", "rules", "ingest", "load", "timeline", "episodes", "explanations", "store"]
    assert list(second.timings) == phases  # the timeline kept by the first, nothing to keep
    assert list(first.timings) == [*phases, "timeline kept"]  # kept while the alerts are stored
    assert second.timings["start"] == 0  # the process started once, before the first scan


def test_start_up_counts_from_the_start_of_the_process():
    """What the process did before it imported noncoop (here, waiting half a second) is in its
    start-up too, so the phases of a command's run add up to the command's own time."""
    import subprocess
    import sys

    code = (
        "import time; time.sleep(0.5); import noncoop; print(noncoop.start_up(time.perf_counter()))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert float(done.stdout) >= 0.5


def test_the_timeline_is_kept_after_the_explaining_so_it_may_share_its_work(tmp_path, monkeypatch):
    """A copy of the process explains half the alerts only where no other thread runs: the
    thread keeping the timeline starts once the evaluation is done, and is done before the
    scan returns (and its lock goes)."""
    import threading

    from noncoop.engine import evaluate as evaluation

    monkeypatch.setenv("NONCOOP_WORKERS", "2")
    monkeypatch.setattr(evaluation, "FORK_FROM", 0)  # share even the fixture's few alerts
    keeping_while_explaining = []
    real = evaluation.both

    def watched(mine, theirs):
        names = [t.name for t in threading.enumerate()]
        keeping_while_explaining.append("noncoop-keep" in names)
        return real(mine, theirs)

    monkeypatch.setattr(evaluation, "both", watched)
    ws = Workspace(tmp_path / "ws")
    result = scan(REGION, ws, as_of="2026-03-31", engine="python")
    assert keeping_while_explaining == [False]
    assert "noncoop-keep" not in [t.name for t in threading.enumerate()]
    assert result.timings["timeline kept"] >= 0
    again = scan(REGION, ws, as_of="2026-04-01", engine="python")
    assert [a.alert_id for a in again.store.alerts]  # the next night reads the kept timeline
    assert "timeline kept" not in again.timings


def test_the_alert_json_a_scan_writes_is_timed_as_its_output_phase(tmp_path):
    from typer.testing import CliRunner

    from noncoop.cli.app import app

    out = tmp_path / "alerts.json"
    args = ["scan", str(REGION), "-w", str(tmp_path / "ws"), "--as-of", "2026-03-31"]
    done = CliRunner().invoke(app, [*args, "--json", str(out)])
    assert done.exit_code == 0, done.output
    phases = json.loads(out.read_text())["timings_s"]
    assert list(phases)[-3:] == ["store", "timeline kept", "output"] and phases["output"] >= 0
    assert "store" in done.output and "output" in done.output.split("events evaluated")[-1]


def test_the_ids_evidence_cites_are_the_stored_ids_of_its_records(tmp_path):
    """Ids are spelled from the stored event numbers where a part's ids all are those numbers'
    digits (as the ingest makes them); a part with an id made by hand is read for its ids."""
    from noncoop.events import SPELLED, numbered

    ws = Workspace(tmp_path / "ws")
    result = scan(REGION, ws, as_of="2026-04-30", engine="python")
    stored = ws.load_events(with_trace=True).set_index("event_id")
    cited = [e for a in result.evaluation.alerts for e in a.evidence]
    assert cited
    for evidence in cited:
        record = stored.loc[evidence.event_id]
        assert (record["source_file"], record["source_line"]) == (
            evidence.source_file,
            evidence.source_line,
        )
    hand_made = numbered(pd.DataFrame({"event_id": ["0123456789abcdef", "made-by-hand"]}))
    assert hand_made.attrs[SPELLED] is False


def test_scans_in_one_process_leave_only_the_last_result_for_its_end_to_free(tmp_path):
    from noncoop.cli import scan as command

    args = ["scan", str(REGION), "-w", str(tmp_path / "ws"), "-q", "--as-of"]
    for day in ("2026-03-31", "2026-04-01"):
        done = CliRunner().invoke(app, [*args, day])
        assert done.exit_code == 0, done.output
    assert [f"{r.as_of:%Y-%m-%d}" for r in command._LEFT] == ["2026-04-01"]
