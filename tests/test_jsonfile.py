"""JSON files the CLI writes: laid out as the standard library lays them out, whatever they hold."""

import json

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
