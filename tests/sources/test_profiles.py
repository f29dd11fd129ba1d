"""Profiles and sources.yaml are validated strictly; every error names file, line and column."""

import pytest
from conftest import PROFILES

from noncoop.sources.load import load_profile, load_sources
from noncoop.yamlspec import ConfigInvalid


@pytest.mark.parametrize("path", sorted(PROFILES.glob("*.yaml")), ids=lambda p: p.name)
def test_shipped_profiles_are_valid(path):
    assert load_profile(path).importer in {"contact-log", "attendance", "people"}


def _errors(tmp_path, text, name="p.yaml"):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ConfigInvalid) as info:
        load_profile(path)
    return path, info.value.errors


def test_unknown_key_names_file_line_column_and_expected_keys(tmp_path):
    path, errors = _errors(
        tmp_path,
        ("importer: contact-log\nfields:\n  record_id: Ref\n  occurred_at:\n    colum: Date\n"),
    )
    assert len(errors) == 1
    text = str(errors[0])
    assert text.startswith(f"{path}:5:5: PROFILE-UNKNOWN-KEY unknown key 'colum'")
    assert "expected one of: column, columns, value, default, map, unmapped, format" in text


def test_several_errors_are_reported_together(tmp_path):
    _, errors = _errors(
        tmp_path,
        (
            "importer: contact-log\n"
            "delimeter: ';'\n"
            "fields:\n"
            "  event_type:\n"
            "    column: Outcome\n"
            "    map: {3: appointment.mised}\n"
            "    unmapped: sometimes\n"
        ),
    )
    codes = [(e.line, e.code) for e in errors]
    assert (2, "PROFILE-UNKNOWN-KEY") in codes
    assert (7, "PROFILE-INVALID") in codes
    assert any("'keep', 'blank' or 'reject'" in e.message for e in errors)


def test_map_to_unknown_event_type_is_an_error(tmp_path):
    _, errors = _errors(
        tmp_path,
        (
            "importer: contact-log\n"
            "fields:\n"
            "  event_type:\n"
            "    column: Outcome\n"
            "    map: {3: appointment.mised}\n"
        ),
    )
    assert "unknown event type(s) ['appointment.mised']" in errors[0].message


def test_field_must_have_a_column_or_a_value(tmp_path):
    _, errors = _errors(tmp_path, ("importer: attendance\nfields:\n  upn: {default: X}\n"))
    assert errors[0].line == 3
    assert "exactly one of 'column'" in errors[0].message


def test_unknown_canonical_field_is_an_error(tmp_path):
    _, errors = _errors(tmp_path, "importer: attendance\nfields:\n  pupil: UPN\n")
    assert "unknown canonical field(s) ['pupil']" in errors[0].message
    assert "expected some of: upn, date, session, code" in errors[0].message


def test_yaml_syntax_error_is_located(tmp_path):
    _, errors = _errors(tmp_path, "importer: contact-log\nfields: [\n")
    assert errors[0].code == "YAML-SYNTAX"
    assert errors[0].line == 3


def test_sources_file_errors(tmp_path):
    (tmp_path / "sources.yaml").write_text(
        "people: people.csv\n"
        "sources:\n"
        "  - name: gp\n"
        "    importer: contact-logs\n"
        "    path: gp.csv\n"
        "    agencyy: health\n",
        encoding="utf-8",
    )
    with pytest.raises(ConfigInvalid) as info:
        load_sources(tmp_path)
    found = {(e.line, e.code) for e in info.value.errors}
    assert (4, "SOURCES-INVALID") in found
    assert (6, "SOURCES-UNKNOWN-KEY") in found


def _load_errors(tmp_path, text: str):
    """Errors loading a sources folder whose sources.yaml is `text`."""
    (tmp_path / "people.csv").write_text("subject_id,id_scheme,id_value\n", encoding="utf-8")
    (tmp_path / "sources.yaml").write_text(text, encoding="utf-8")
    with pytest.raises(ConfigInvalid) as info:
        load_sources(tmp_path)
    return info.value.errors


def _sources(tmp_path, body: str):
    return _load_errors(tmp_path, "sources:\n" + body)


def test_profile_for_another_importer_is_refused(tmp_path):
    errors = _sources(
        tmp_path,
        "  - name: school\n"
        "    importer: attendance\n"
        "    path: a.csv\n"
        f"    profile: {PROFILES / 'health_outcomes.yaml'}\n",
    )
    assert errors[0].code == "PROFILE-IMPORTER"


def test_people_files_are_checked_like_sources(tmp_path):
    errors = _load_errors(
        tmp_path,
        "people:\n"
        "  - people.csv\n"
        "  - {path: ssd_linked_identifiers.csv}\n"
        f"  - {{path: people.csv, profile: '{PROFILES / 'ssd_cp_visits.yaml'}'}}\n"
        "sources: []\n",
    )
    assert [e.code for e in errors] == ["SOURCES-PEOPLE", "PROFILE-IMPORTER"]
    assert "people file ssd_linked_identifiers.csv not found" in str(errors[0])
    assert "but people file people.csv uses 'people'" in str(errors[1])


def test_row_filters_fit_their_importer(tmp_path):
    _, errors = _errors(
        tmp_path,
        "importer: people\nwithdraw: {column: Status, values: [Deleted]}\n",
    )
    assert "'withdraw' applies to the contact-log importer only" in str(errors[0])
    _, errors = _errors(
        tmp_path, "importer: attendance\nwhere: {column: Kind, values: [Pupil]}\n", "q.yaml"
    )
    assert "'skip' and 'where' apply to contact logs and people files only" in str(errors[0])


def test_a_file_read_by_two_sources_is_refused(tmp_path):
    (tmp_path / "hv.csv").write_text("record_id\n", encoding="utf-8")
    errors = _sources(
        tmp_path,
        "  - {name: a, importer: contact-log, path: hv.csv}\n"
        "  - {name: b, importer: contact-log, path: '*.csv'}\n",
    )
    assert [e.code for e in errors] == ["SOURCES-SHARED-FILE"]
    assert "hv.csv is read by sources a, b" in str(errors[0])


def test_exports_outside_the_sources_folder_are_refused_unless_allowed(tmp_path):
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    (outside / "x.csv").write_text("record_id\n", encoding="utf-8")
    src = tmp_path / "src"
    src.mkdir()
    (src / "link.csv").symlink_to(outside / "x.csv")
    errors = _sources(
        src,
        f"  - {{name: a, importer: contact-log, path: '{outside / 'x.csv'}'}}\n"
        "  - {name: b, importer: contact-log, path: '../elsewhere/x.csv'}\n"
        "  - {name: c, importer: contact-log, path: link.csv}\n",
    )
    assert [e.code for e in errors] == ["SOURCES-OUTSIDE"] * 3
    assert "link.csv leads outside the sources folder" in str(errors[2])
    (src / "sources.yaml").write_text(
        "sources:\n"
        f"  - {{name: a, importer: contact-log, path: '{outside / 'x.csv'}',"
        " allow_outside: true}\n"
    )
    assert load_sources(src).sources[0].files == [outside / "x.csv"]


BOMB = "".join(
    f"{name}: &{name} [" + ", ".join([f"*{prev}"] * 9 if prev else ['"lol"'] * 9) + "]\n"
    for prev, name in zip([None, *"abcdefgh"], "abcdefghi", strict=True)
)


@pytest.mark.parametrize(
    ("text", "where", "says"),
    [
        (BOMB + "sources: []\n", (1, 4), "more than 20 uses of anchors"),
        ("sources: !!python/object/apply:os.system ['echo hi']\n", (1, 10), "python/object"),
        ("sources:\n  - !!python/object:x {name: a}\n", (2, 5), "is not allowed"),
        ("sources:\n  - name: !!binary aGk=\n", (2, 11), "is not allowed"),
    ],
)
def test_yaml_that_is_not_plain_data_or_expands_without_bound_is_refused(
    tmp_path, text, where, says
):
    """A 1 KB alias bomb is refused in well under a second; no tag makes an object."""
    (error,) = _load_errors(tmp_path, text)
    assert (error.line, error.column, error.code) == (*where, "YAML-REFUSED")
    assert says in error.message


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("importer: contact-log\nencoding: klingon\n", "'klingon' is not a text encoding"),
        (
            "importer: contact-log\nfields:\n  occurred_at: {column: D, format: '%Q-%d'}\n",
            "'%Q-%d' is not a date format: 'Q' is a bad directive",
        ),
        (
            "importer: contact-log\nfields:\n  occurred_at: {column: D, format: 'dd/mm/yyyy'}\n",
            "has no % directive",
        ),
    ],
)
def test_an_encoding_or_date_format_python_cannot_use_is_refused_at_load(tmp_path, text, says):
    _, errors = _errors(tmp_path, text)
    assert says in errors[0].message


def test_a_crosswalk_of_no_files_is_refused_at_load(tmp_path):
    (error,) = _load_errors(tmp_path, "people: []\nsources: []\n")
    assert (error.line, error.code) == (1, "SOURCES-INVALID")
    assert "at least 1 item" in error.message
