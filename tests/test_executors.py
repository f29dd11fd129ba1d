"""`noncoop scan --executor local|processes|spark`: the same alerts, ids, windows, evidence and
explanations wherever the evaluation runs, recorded in the alert store as any scan records them."""

import json
import shutil
import subprocess

import pytest
from conftest import REGION, UNSEEN_AS_OF, unseen_region
from typer.testing import CliRunner

from noncoop.cli.app import app
from noncoop.scan import executors, scan, scan_json
from noncoop.scan.executors import SparkOptions
from noncoop.scan.run import Where
from noncoop.store.workspace import Workspace

runner = CliRunner()
AS_OF = "2026-03-31"


def _scanned(src, ws_from, tmp_path, name, where, as_of=AS_OF):
    """A scan of a copy of an ingested workspace: its alert JSON without run details."""
    ws = Workspace(tmp_path / name)
    shutil.copytree(ws_from.root, ws.root)
    result = scan(src, ws, as_of=as_of, engine="python", where=where)
    data = scan_json(result)
    return {k: data[k] for k in ("alerts", "resolved", "lifecycle", "insufficient_data", "events")}


@pytest.mark.parametrize("shards", [2, 5])
def test_shards_in_worker_processes_give_the_alerts_of_one_process(
    synthetic_region, tmp_path, shards
):
    src, ws = synthetic_region
    local = _scanned(src, ws, tmp_path, "local", Where())
    processes = _scanned(src, ws, tmp_path, "processes", Where("processes", shards))
    assert len(local["alerts"]) > 100
    assert processes == local


def test_where_workers_cannot_start_the_region_is_judged_in_one_process(
    synthetic_region, tmp_path, monkeypatch
):
    src, ws = synthetic_region

    class NoProcesses:
        def Pipe(self):
            raise OSError("no process semaphores")

    monkeypatch.setattr(executors.multiprocessing, "get_context", lambda method: NoProcesses())
    copy = Workspace(tmp_path / "ws")
    shutil.copytree(ws.root, copy.root)
    result = scan(src, copy, as_of=AS_OF, engine="python", where=Where("processes", 2))
    assert any("one process" in w for w in result.warnings)
    assert result.executor == "local" and scan_json(result)["executor"] == "local"
    assert len(result.evaluation.alerts) > 100


SCAN = ["scan", str(REGION), "--as-of", "2026-02-28", "-q"]


def test_executor_options_on_the_command_line(tmp_path):
    out = tmp_path / "alerts.json"
    done = runner.invoke(
        app,
        [
            *SCAN,
            "-w",
            str(tmp_path / "ws"),
            "--executor",
            "processes",
            "--shards=2",
            f"--json={out}",
        ],
    )
    assert done.exit_code == 0, done.output
    alerts = json.loads(out.read_text())["alerts"]
    local = runner.invoke(
        app,
        [*SCAN, "-w", str(tmp_path / "ws2"), "--json", str(tmp_path / "local.json")],
    )
    assert local.exit_code == 0
    assert alerts == json.loads((tmp_path / "local.json").read_text())["alerts"] != []
    wrong = runner.invoke(app, ["scan", str(REGION), "--executor", "cloud"])
    assert wrong.exit_code == 2 and "local, processes, spark" in wrong.output
    bad = runner.invoke(app, ["scan", str(REGION), "--executor", "spark", "--spark-conf", "x"])
    assert bad.exit_code == 2 and "KEY=VALUE" in bad.output


def _java() -> bool:
    try:
        return subprocess.run(["java", "-version"], capture_output=True).returncode == 0
    except OSError:
        return False


@pytest.mark.skipif(not _java(), reason="Spark needs Java 17 or newer, and none is installed")
def test_spark_local_gives_the_alerts_of_one_process(synthetic_region, tmp_path):
    # pyspark is in the test install (README: '.[dev,spark]'); without it this fails, not skips.
    src, ws = synthetic_region
    local = _scanned(src, ws, tmp_path, "local", Where())
    spark = _scanned(src, ws, tmp_path, "spark", Where("spark", 3, SparkOptions("local[1]")))
    assert spark == local
    # Other shards, and a session time zone far from UTC passed through: the same alerts.
    zone = {"spark.sql.session.timeZone": "Pacific/Auckland"}
    again = _scanned(src, ws, tmp_path, "spark2", Where("spark", 7, SparkOptions("local[1]", zone)))
    assert again == local


@pytest.mark.skipif(not _java(), reason="Spark needs Java 17 or newer, and none is installed")
def test_spark_on_the_fixture_region_from_the_command_line(tmp_path):
    runs = {}
    for executor in ("local", "spark"):
        out = tmp_path / f"{executor}.json"
        # Nine shards for six households: some hold people and no records.
        spark = ["--executor", executor, "--spark-master", "local[1]", "--shards", "9"]
        done = runner.invoke(app, [*SCAN, "-w", str(tmp_path / executor), *spark, f"--json={out}"])
        assert done.exit_code == 0, done.output
        runs[executor] = json.loads(out.read_text())["alerts"]
    assert runs["spark"] == runs["local"] != []


@pytest.mark.skipif(not _java(), reason="Spark needs Java 17 or newer, and none is installed")
def test_a_spark_job_that_fails_stops_the_scan_in_one_line(tmp_path):
    spark = ["--executor", "spark", "--spark-master", "local[1]", "--spark-parts", "/no/such/parts"]
    done = runner.invoke(app, [*SCAN, "-w", str(tmp_path / "ws"), *spark])
    assert done.exit_code == 1
    assert "the Spark job failed" in done.output and "Traceback" not in done.output


@pytest.mark.parametrize("shards", [2, 6])
def test_a_child_never_seen_is_judged_in_worker_processes(tmp_path, shards):
    # Six households in six shards (some alone in theirs), in worker processes: the children
    # never seen (C1) or seen only long ago by a feed gone quiet in their shard (C2) are judged
    # with the region's facts, as one process judges them.
    ws = unseen_region(tmp_path / "src")
    runs = {}
    for where in (Where(), Where("processes", shards)):
        copy = Workspace(tmp_path / f"{where.executor}-{shards}")
        shutil.copytree(ws.root, copy.root)
        result = scan(tmp_path / "src", copy, as_of=UNSEEN_AS_OF, engine="python", where=where)
        runs[where.executor] = scan_json(result)["alerts"]
    unseen = {
        a["subject_id"] for a in runs["processes"] if a["rule_id"] == "NC-CHILD-NOT-SEEN-ANY-AGENCY"
    }
    assert unseen == {"C1", "C2"}
    assert runs["processes"] == runs["local"]


@pytest.mark.parametrize("executor", ["processes", "spark"])
def test_a_store_with_no_records_gives_no_alerts_on_any_executor(tmp_path, executor):
    if executor == "spark" and not _java():
        pytest.skip("Spark needs Java 17 or newer, and none is installed")
    src = tmp_path / "src"
    src.mkdir()
    (src / "people.csv").write_text(
        "subject_id,id_scheme,id_value,household_id,date_of_birth,role\n"
        "C1,la,LA-1,H1,2018-01-01,child\n"
    )
    (src / "sc.csv").write_text("record_id,person_id,event_type,occurred_at,child_seen,detail\n")
    (src / "sources.yaml").write_text(
        "people: people.csv\nsources:\n"
        "  - {name: sc, importer: contact-log, path: sc.csv, agency: social_care, id_scheme: la}\n"
    )
    where = Where(executor, 3, SparkOptions("local[1]"))
    result = scan(src, Workspace(tmp_path / "ws"), as_of=AS_OF, engine="python", where=where)
    assert result.evaluation.alerts == [] and result.executor == executor
    # Every record after the as-of date: none to judge either.
    later = scan(REGION, Workspace(tmp_path / "ws2"), as_of="2020-01-01", where=where)
    assert later.evaluation.alerts == [] and later.executor == executor
