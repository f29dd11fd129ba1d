"""Strategy-meeting reports: chronology, explained alert report, timeline figure, pseudonymising."""

import csv
import io
import json

import pandas as pd
import pytest
from conftest import REGION
from pypdf import PdfReader
from typer.testing import CliRunner

from noncoop.cli.app import app
from noncoop.reports.casefile import load_case
from noncoop.reports.chronology import chronology
from noncoop.reports.pseudonymise import Pseudonymiser
from noncoop.reports.render.html import render_html
from noncoop.reports.render.markdown import render_markdown
from noncoop.reports.render.pdf import render_pdf
from noncoop.reports.report import build_report
from noncoop.scan import scan
from noncoop.store.workspace import Workspace

KEY = "a-test-key-for-pseudonyms-only"
PEOPLE = (
    "subject_id,id_scheme,id_value,household_id,date_of_birth,role\n"
    "C1,upn,W801200001009,H1,2016-05-01,child\n"
    "C1,la,LA1,H1,2016-05-01,child\n"
    "M1,la,LAM,H1,1990-01-01,adult\n"
)


def school_days(start: str, weeks: int, absent: dict[str, str]) -> list[str]:
    """Register rows (UPN, date, session, code) for whole weeks, present unless listed."""
    rows = []
    for day in pd.bdate_range(start, periods=weeks * 5):
        for session in ("AM", "PM"):
            key = f"{day:%Y-%m-%d} {session}"
            rows.append(f"W801200001009,{day:%Y-%m-%d},{session},{absent.get(key, '/')}")
    return rows


@pytest.fixture(scope="module")
def case_ws(tmp_path_factory):
    """A child with six good school weeks, a run of bookings, missed appointments, and a parent
    whose hostility leads to alerts."""
    root = tmp_path_factory.mktemp("reports")
    src = root / "src"
    src.mkdir()
    (src / "people.csv").write_text(PEOPLE)
    (src / "school.csv").write_text(
        "upn,date,session,code\n"
        + "\n".join(school_days("2026-01-05", 6, {"2026-01-07 AM": "O"}))
        + "\n"
        + "\n".join(
            school_days(
                "2026-02-16",
                1,
                dict.fromkeys(
                    [f"2026-02-{d} {s}" for d in (16, 17, 18) for s in ("AM", "PM")], "N"
                ),
            )
        )
        + "\n"
    )
    log = [
        "record_id,person_id,agency,service,event_type,occurred_at,child_seen,hostility_level,detail",
        "B1,LA1,health,gp,appointment.booked,2026-01-02,,,",
        "B2,LA1,health,gp,appointment.booked,2026-01-09,,,",
        "B3,LA1,health,gp,appointment.booked,2026-01-16,,,",
        "B4,LA1,health,gp,appointment.booked,2026-01-23,,,",
        "M1,LA1,health,gp,appointment.missed,2026-01-30,no,,",
        "M2,LA1,health,gp,appointment.missed,2026-02-06,no,,",
        'H1,LAM,social_care,cp,hostility.recorded,2026-02-10,,3,=HYPERLINK("x")',
        "H2,LAM,police,incident,hostility.recorded,2026-02-20,,3,",
        "V1,LA1,social_care,cp_visit,visit.no_access,2026-02-12,no,,",
        "V2,LA1,social_care,cp_visit,visit.completed,2026-02-26,yes,,",
    ]
    (src / "log.csv").write_text("\n".join(log) + "\n")
    (src / "sources.yaml").write_text(
        "sources:\n"
        "  - {name: school, importer: attendance, path: school.csv, agency: education,"
        " service: school}\n"
        "  - {name: log, importer: contact-log, path: log.csv, id_scheme: la}\n"
    )
    ws = Workspace(root / "ws")
    result = scan(src, ws, None, "2026-03-01", "python", actor="tester")
    assert result.store.alerts, "the fixture should raise alerts"
    return ws


def test_chronology_is_in_date_order_with_routine_runs_folded(case_ws):
    rows = chronology(load_case(case_ws, "C1"))
    assert list(rows["date"]) == sorted(rows["date"])
    folded = rows[rows["count"] > 1]
    assert "4 appointments booked" in folded["what"].tolist()
    school = folded[folded["what"].str.contains("school weeks")]
    assert school["what"].tolist() == [
        "6 school weeks: 59 of 60 sessions attended (98%); 1 absent, 1 unauthorised"
    ]
    assert school["until"].iloc[0] == "2026-02-09"
    # The poor week and its absences stay visible, line by line, with source file and line.
    assert (rows["what"] == "School attendance: 4 of 10 sessions").sum() == 1
    assert (rows["what"] == "Absent from school (N: no reason yet given, unauthorised)").sum() == 6
    missed = rows[rows["what"].str.startswith("Appointment missed")]
    assert missed["source_file"].tolist() == ["log.csv", "log.csv"]
    assert missed["source_line"].tolist() == [6, 7]
    # Household events are in, named as the parent's.
    parent = rows[rows["subject_id"] == "M1"]
    assert parent["what"].str.contains("level 3: intimidation or threats").all()
    unfolded = chronology(load_case(case_ws, "C1"), fold=False)
    assert len(unfolded) > len(rows) and (unfolded["count"] == 1).all()


def test_alerts_are_marked_where_they_begin(case_ws):
    case = load_case(case_ws, "C1")
    rows = chronology(case)
    marks = rows[rows["kind"] == "alert"]
    assert len(marks) == len(case.alerts) > 0
    for alert in case.alerts:
        mark = marks[marks["what"].str.contains(alert.alert_id)]
        assert mark["date"].tolist() == [alert.window.start]
        first_on_day = rows[rows["date"] == alert.window.start].iloc[0]
        assert first_on_day["kind"] == "alert"


def test_chronology_cli_formats(case_ws, tmp_path):
    runner = CliRunner()
    out = tmp_path / "c.csv"
    result = runner.invoke(
        app, ["chronology", "C1", "-w", str(case_ws.root), "--format", "csv", "--out", str(out)]
    )
    assert result.exit_code == 0, result.output
    rows = list(csv.DictReader(out.open(encoding="utf-8")))
    assert next(iter(rows[0])) == "date" and [r["date"] for r in rows] == sorted(
        r["date"] for r in rows
    )
    to_stdout = runner.invoke(app, ["chronology", "C1", "-w", str(case_ws.root), "--format", "csv"])
    assert to_stdout.output.splitlines()[0].startswith("date,until,")
    assert len(to_stdout.output.splitlines()) == len(rows) + 1
    as_json = runner.invoke(app, ["chronology", "C1", "-w", str(case_ws.root), "--format", "json"])
    assert json.loads(as_json.output)[0]["date"] == rows[0]["date"]
    md = runner.invoke(
        app, ["chronology", "C1", "-w", str(case_ws.root), "--format", "md", "--from", "2026-02-01"]
    )
    assert md.output.startswith("| date |")
    # Records before --from are left out; an alert whose window runs into the period stays.
    lines = [line for line in md.output.splitlines()[2:] if line.startswith("| ")]
    early = [line for line in lines if line.split(" | ")[0] < "| 2026-02-01"]
    assert early and all("| alert |" in line for line in early)
    table = runner.invoke(app, ["chronology", "C1", "-w", str(case_ws.root)])
    assert table.exit_code == 0 and "4 appointments booked" in table.output
    missing = runner.invoke(app, ["chronology", "NOBODY", "-w", str(case_ws.root)])
    assert missing.exit_code == 1 and "no subject NOBODY" in missing.output


def test_report_contains_every_open_alert_and_its_evidence(case_ws):
    case = load_case(case_ws, "C1")
    report = build_report(case)
    html_text = render_html(report)
    md_text = render_markdown(report, "fig.png")
    for alert in case.alerts:
        for text in (html_text, md_text):
            assert alert.title in text and alert.alert_id in text
            assert alert.explanation.split(" between")[0] in text
            for evidence in alert.evidence:
                assert evidence.event_id in text
                assert f"{evidence.source_file}:{evidence.source_line}" in text
            for action in alert.actions:
                assert action.replace("'", "&#x27;") in text or action in text


def test_engagement_by_agency(case_ws):
    report = build_report(load_case(case_ws, "C1"))
    rows = report.engagement.set_index("agency")
    assert rows.loc["health", "appointments kept / missed"] == "0 / 2"
    assert rows.loc["social care", "visits completed / no access"] == "1 / 1"
    assert rows.loc["police", "hostility recorded"] == "1 (highest level 3)"
    assert rows.loc["education", "school attendance"] == "90% of 70 sessions"


def test_html_report_is_self_contained_with_the_figure_inlined(case_ws, tmp_path):
    out = tmp_path / "r.html"
    result = CliRunner().invoke(
        app, ["report", "C1", "-w", str(case_ws.root), "--format", "html", "--out", str(out)]
    )
    assert result.exit_code == 0, result.output
    text = out.read_text(encoding="utf-8")
    assert '<img alt="Timeline of events by agency" src="data:image/png;base64,' in text
    for external in ('src="http', "href=", "@import", "url("):
        assert external not in text
    assert "@media print" in text


def test_pdf_report_is_valid_and_its_text_extractable(case_ws, tmp_path):
    case = load_case(case_ws, "C1")
    data = render_pdf(build_report(case))
    assert data.startswith(b"%PDF")
    text = "".join(page.extract_text() for page in PdfReader(io.BytesIO(data)).pages)
    assert "Strategy meeting report: Child C1" in text
    assert case.alerts[0].title in text.replace("\n", " ")
    out = tmp_path / "r.pdf"
    result = CliRunner().invoke(
        app, ["report", "C1", "-w", str(case_ws.root), "--format", "pdf", "--out", str(out)]
    )
    assert result.exit_code == 0 and out.read_bytes().startswith(b"%PDF")


def test_markdown_report_writes_its_figure_beside_it(case_ws, tmp_path):
    out = tmp_path / "r.md"
    result = CliRunner().invoke(
        app,
        [
            "report",
            "--household",
            "H1",
            "-w",
            str(case_ws.root),
            "--format",
            "md",
            "--out",
            str(out),
        ],
    )
    assert result.exit_code == 0, result.output
    figure = tmp_path / "r-timeline.png"
    assert figure.read_bytes().startswith(b"\x89PNG")
    assert "](r-timeline.png)" in out.read_text(encoding="utf-8")
    assert "Household H1" in out.read_text(encoding="utf-8")


def test_timeline_figure_png_and_svg(case_ws, tmp_path):
    runner = CliRunner()
    for name, magic in (("t.png", b"\x89PNG"), ("t.svg", b"<?xml")):
        result = runner.invoke(
            app, ["timeline", "C1", "-w", str(case_ws.root), "--out", str(tmp_path / name)]
        )
        assert result.exit_code == 0, result.output
        assert (tmp_path / name).read_bytes().startswith(magic)
    svg = (tmp_path / "t.svg").read_text()
    for lane in ("health", "education", "social care", "police"):
        assert lane in svg
    bad = runner.invoke(
        app, ["timeline", "C1", "-w", str(case_ws.root), "--out", str(tmp_path / "t.jpg")]
    )
    assert bad.exit_code == 2


def test_pseudonymised_report_contains_no_original_id(case_ws, tmp_path, monkeypatch):
    case = load_case(case_ws, "C1")
    originals = {"C1", "M1", "H1", "LA1", "LAM", "W801200001009"}
    originals |= set(case.events["event_id"].astype(str))
    originals |= {a.alert_id for a in case.alerts}
    monkeypatch.setenv("NONCOOP_PSEUDONYM_KEY", KEY)
    runner = CliRunner()
    texts = []
    for fmt in ("md", "html"):
        out = tmp_path / f"p.{fmt}"
        result = runner.invoke(
            app,
            [
                "report",
                "C1",
                "-w",
                str(case_ws.root),
                "--format",
                fmt,
                "--out",
                str(out),
                "--pseudonymise",
                "--shift-dates",
            ],
        )
        assert result.exit_code == 0, result.output
        texts.append(out.read_text(encoding="utf-8"))
    pdf = tmp_path / "p.pdf"
    runner.invoke(
        app,
        [
            "report",
            "C1",
            "-w",
            str(case_ws.root),
            "--format",
            "pdf",
            "--out",
            str(pdf),
            "--pseudonymise",
        ],
    )
    texts.append("".join(p.extract_text() for p in PdfReader(pdf).pages))
    for text in texts:
        tokens = set(text.replace("|", " ").replace("<", " ").replace(">", " ").split())
        leaked = {t.strip(".,;:()") for t in tokens} & originals
        assert not leaked, leaked
        assert KEY not in text and "HYPERLINK" not in text
    # Dates moved by one offset for the whole case: the first event no longer on 2 Jan 2026.
    assert "2026-01-02" not in texts[0]
    # Stable: the same key gives the same pseudonyms.
    again = Pseudonymiser(KEY.encode()).apply(case)
    assert again.subject in texts[0]


def test_pseudonymising_without_a_key_is_refused(case_ws, tmp_path, monkeypatch):
    monkeypatch.delenv("NONCOOP_PSEUDONYM_KEY", raising=False)
    result = CliRunner().invoke(
        app,
        [
            "report",
            "C1",
            "-w",
            str(case_ws.root),
            "--out",
            str(tmp_path / "x.html"),
            "--pseudonymise",
        ],
    )
    assert result.exit_code == 1 and "NONCOOP_PSEUDONYM_KEY" in result.output
    assert not (tmp_path / "x.html").exists()


def test_report_on_the_fixture_region(tmp_path):
    ws = Workspace(tmp_path / "ws")
    scan(REGION, ws, None, "2026-02-28", "python", actor="tester")
    case = load_case(ws, "C0001")
    assert {a.rule_id for a in case.alerts} >= {"NC-PARTIAL-HOSTILITY"}
    assert render_pdf(build_report(case)).startswith(b"%PDF")


@pytest.fixture(scope="module")
def months_later(tmp_path_factory):
    """The fixture region scanned once on 30 April: the threats toward workers recorded in
    January stopped holding on 20 April, so the first scan stores them as resolved."""
    ws = Workspace(tmp_path_factory.mktemp("later") / "ws")
    scan(REGION, ws, None, "2026-04-30", "python")
    return ws


def test_reports_list_the_earlier_alerts_since_resolved(months_later):
    case = load_case(months_later, "C0001")
    assert [a.rule_id for a in case.earlier] == ["NC-THREATS-TO-WORKERS"]
    assert "NC-THREATS-TO-WORKERS" not in {a.rule_id for a in case.alerts}
    report = build_report(case)
    markdown = render_markdown(report, "t.png")
    section = markdown.split("## Earlier alerts, since resolved (1)")[1].split("## Timeline")[0]
    assert "NC-THREATS-TO-WORKERS (high) | 2026-01-15 to 2026-01-21 | 2026-04-21 |" in section
    assert "Earlier alerts, since resolved (1)" in render_html(report)
    pdf = PdfReader(io.BytesIO(render_pdf(report)))
    assert "Earlier alerts, since resolved" in "".join(p.extract_text() for p in pdf.pages)
    marks = chronology(case)
    resolved = marks[marks["what"].str.contains("resolved on 2026-04-21", regex=False)]
    assert len(resolved) == 1 and resolved["kind"].iloc[0] == "alert"


def test_pseudonymised_reports_hide_the_earlier_alerts_ids_too(months_later):
    case = Pseudonymiser(KEY.encode()).apply(load_case(months_later, "C0001"))
    earlier = case.earlier[0]
    assert earlier.subject_id != "C0001" and earlier.alert_id != "a64a94e0dde5d3c0"
    assert "C0001" not in render_markdown(build_report(case), "t.png")
