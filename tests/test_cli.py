import csv
import json
import sys

import pytest
from conftest import REGION, copy_region
from typer.testing import CliRunner

from noncoop.cli import app as cli_app
from noncoop.cli import rules as cli_rules
from noncoop.cli.app import app
from noncoop.store.workspace import Workspace

runner = CliRunner()


def test_ingest_prints_table_and_writes_json(tmp_path):
    out = tmp_path / "ingest.json"
    result = runner.invoke(
        app, ["ingest", str(REGION), "--workspace", str(tmp_path / "ws"), "--json", str(out)]
    )
    assert result.exit_code == 0, result.output
    assert "total" in result.output and "quarantined" in result.output
    payload = json.loads(out.read_text())
    assert payload["rows_read"] == 40
    assert payload["by_source"]["gp"]["rows_quarantined"] == 6

    again = runner.invoke(
        app, ["ingest", str(REGION), "--workspace", str(tmp_path / "ws"), "--json", str(out)]
    )
    assert again.exit_code == 0
    assert json.loads(out.read_text())["new_events"] == 0


def test_quarantine_command_lists_reasons_with_lines(tmp_path):
    ws = str(tmp_path / "ws")
    runner.invoke(app, ["ingest", str(REGION), "--workspace", ws])
    result = runner.invoke(app, ["quarantine", "--workspace", ws])
    assert result.exit_code == 0
    assert "DUPLICATE-RECORD" in result.output
    assert "gp.csv:11" in result.output


def test_broken_profile_exits_1_with_located_message(tmp_path):
    (tmp_path / "people.csv").write_text("subject_id,id_scheme,id_value\n", encoding="utf-8")
    (tmp_path / "p.yaml").write_text("importer: contact-log\nfeilds: {}\n", encoding="utf-8")
    (tmp_path / "sources.yaml").write_text(
        "sources:\n  - {name: gp, importer: contact-log, path: gp.csv, profile: p.yaml}\n",
        encoding="utf-8",
    )
    result = runner.invoke(app, ["ingest", str(tmp_path), "--workspace", str(tmp_path / "ws")])
    assert result.exit_code == 1
    assert "p.yaml:2:1: PROFILE-UNKNOWN-KEY unknown key 'feilds'" in result.output


def test_synth_then_ingest(tmp_path):
    result = runner.invoke(app, ["synth", str(tmp_path / "r"), "--children", "50", "--seed", "2"])
    assert result.exit_code == 0, result.output
    assert (tmp_path / "r" / "truth.csv").exists()
    assert (tmp_path / "r" / "profiles" / "health_outcomes.yaml").exists()
    result = runner.invoke(app, ["ingest", str(tmp_path / "r"), "-w", str(tmp_path / "ws")])
    assert result.exit_code == 0, result.output


def test_demo_runs_end_to_end():
    result = runner.invoke(app, ["demo", "--children", "60"])
    assert result.exit_code == 0, result.output
    assert "Synthesised 60 children" in result.output
    assert "total" in result.output


def test_demo_can_keep_its_region_for_exploring(tmp_path):
    result = runner.invoke(app, ["demo", "--children", "200", "--keep", str(tmp_path)])
    assert result.exit_code == 0, result.output
    assert (tmp_path / "sources" / "sources.yaml").exists()
    assert (tmp_path / "workspace" / "alerts.sqlite").exists()
    listed = runner.invoke(app, ["alerts", "-w", str(tmp_path / "workspace")])
    assert listed.exit_code == 0 and "Alerts by household (first" in listed.output


def test_quarantine_csv_keeps_every_row_and_neutralises_formulas(tmp_path):
    sources, ws = tmp_path / "sources", tmp_path / "ws"
    copy_region(sources)
    with open(sources / "gp.csv", "a", encoding="utf-8") as fh:
        fh.write('=HYPERLINK("http://example.invalid"),1\n')
    runner = CliRunner()
    assert runner.invoke(app, ["ingest", str(sources), "-w", str(ws)]).exit_code == 0
    out = tmp_path / "q.csv"
    result = runner.invoke(app, ["quarantine", "-w", str(ws), "--csv", str(out)])
    assert result.exit_code == 0, result.output
    rows = list(csv.DictReader(out.open(encoding="utf-8")))
    assert len(rows) == len(Workspace(ws).load_quarantine())
    assert {"source_file", "source_line", "reason_code", "raw"} <= set(rows[0])
    assert not any(v.startswith(("=", "+", "-", "@")) for r in rows for v in r.values())
    assert any(r["raw"].startswith("'=HYPERLINK") for r in rows)


def test_an_unexpected_failure_is_one_line_without_a_traceback(monkeypatch, capsys):
    def broken(*args, **kwargs):
        raise KeyError("a value that could be personal")

    monkeypatch.setattr(cli_rules, "describe_rule", broken)
    monkeypatch.setattr(sys, "argv", ["noncoop", "rules", "explain", "NC-NO-ACCESS"])
    monkeypatch.setitem(cli_app.DEBUG, "on", False)
    with pytest.raises(SystemExit) as stop:
        cli_app.run()
    assert stop.value.code == cli_app.INTERNAL_ERROR
    err = capsys.readouterr().err
    assert "unexpected error (KeyError" in err and "--debug" in err
    assert "Traceback" not in err and "personal" not in err


def test_an_empty_workspace_path_is_refused_not_read_as_the_current_folder(tmp_path, monkeypatch):
    """`-w "$WS"` with nothing in WS: a usage error naming the option, and nothing written where
    the command ran (before, a scan wrote a whole workspace there)."""
    monkeypatch.chdir(tmp_path)
    for args in (
        ["scan", str(REGION), "--workspace="],
        ["alerts", "-w", " "],
        ["ingest", str(REGION), "-w", ""],
    ):
        result = runner.invoke(app, args)
        assert result.exit_code == 2, result.output
        assert "an empty path" in result.output
    assert list(tmp_path.iterdir()) == []
