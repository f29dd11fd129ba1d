"""JSON files the CLI writes: laid out as the standard library lays them out, whatever they hold."""

import json
import os
import threading

import orjson

from noncoop.cli.jsonfile import write_json


def test_written_as_the_standard_library_indents_it(tmp_path):
    note = 'café \u2013 "quoted"\n'
    data = {"as_of": "2026-03-31", "alerts": [{"id": "a1", "note": note}], "x": []}
    write_json(tmp_path / "out.json", data)
    text = (tmp_path / "out.json").read_text(encoding="utf-8")
    assert text == json.dumps(data, indent=2, ensure_ascii=False)


def test_what_the_fast_encoder_refuses_is_still_written(tmp_path):
    data = {1: "integer key", "big": 2**70}
    write_json(tmp_path / "out.json", data)
    assert json.loads((tmp_path / "out.json").read_text(encoding="utf-8")) == {
        "1": "integer key",
        "big": 2**70,
    }


def test_text_laid_out_already_is_written_as_the_records_it_holds(tmp_path):
    """A fragment of JSON text laid out already (a recalled alert's stored evidence) is written
    as is; where the fast encoder refuses the file, the plain data is written instead."""
    records = [{"event_id": "e1", "line": 2}]
    # The evidence list stands three levels in: its lines after the first move in by six.
    laid_out = json.dumps(records, indent=2).replace("\n", "\n" + "  " * 3)
    data = {"alerts": [{"evidence": orjson.Fragment(laid_out)}]}
    write_json(tmp_path / "out.json", data, plain=lambda: {"alerts": [{"evidence": records}]})
    text = (tmp_path / "out.json").read_text(encoding="utf-8")
    assert text == json.dumps({"alerts": [{"evidence": records}]}, indent=2)
    refused = {**data, "big": 2**70}
    plain = {"alerts": [{"evidence": records}], "big": 2**70}
    write_json(tmp_path / "refused.json", refused, plain=lambda: plain)
    assert json.loads((tmp_path / "refused.json").read_text(encoding="utf-8")) == plain


def test_a_file_written_over_holds_only_the_new_text(tmp_path):
    """Written over in place: a longer file that was there is cut to the new text, a shorter
    one grows to it."""
    path = tmp_path / "out.json"
    for old in ("x" * 5000, "{}"):
        path.write_text(old)
        data = {"as_of": "2026-03-31", "alerts": [{"id": "a1"}] * 20}
        write_json(path, data)
        assert path.read_text(encoding="utf-8") == json.dumps(data, indent=2)


def test_what_is_not_a_file_is_written_as_it_is(tmp_path):
    """A pipe (a file name another program reads from) is written, never cut to length."""
    path = tmp_path / "fifo"
    os.mkfifo(path)
    received: list[bytes] = []
    reader = threading.Thread(target=lambda: received.append(path.read_bytes()))
    reader.start()
    write_json(path, {"a": 1})
    reader.join(5)
    assert received == [b'{\n  "a": 1\n}']


def test_a_last_member_is_laid_out_as_the_rest(tmp_path):
    """A member worked out once the rest is encoded (a scan's timings) closes the object as if
    it had been in it all along: with the fast encoder, with the standard library (an integer
    orjson refuses), and alone in an object otherwise empty."""
    timings = {"store": 0.5, "output": 0.25}
    alerts = [{"id": "a1", "evidence": [{"line": 2}]}]
    for data in ({"as_of": "2026-03-31", "alerts": alerts}, {"alerts": alerts, "big": 2**70}, {}):
        path = tmp_path / "out.json"
        write_json(path, data, plain=lambda data=data: data, last=lambda: ("timings_s", timings))
        expected = json.dumps({**data, "timings_s": timings}, indent=2)
        assert path.read_text(encoding="utf-8") == expected
