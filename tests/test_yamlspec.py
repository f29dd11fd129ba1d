"""Configuration files read by libyaml's parser give what the pure-Python parser gives: the same
values at the same lines and columns. Files it cannot read are told by the pure parser."""

from pathlib import Path

import pytest
import yaml
from conftest import ROOT

from noncoop import yamlspec
from noncoop.yamlspec import ConfigInvalid, load_located

SHIPPED = sorted(
    [
        *(ROOT / "rules").glob("*.yaml"),
        *(ROOT / "src" / "noncoop" / "profiles").glob("*.yaml"),
        *(ROOT / "fixtures").rglob("*.yaml"),
    ]
)
TRICKY = [
    'title: "Café \u2013 Ärzte 😀"\nlist: [a, {b: 1, c: [2, 3]}]\n',
    "base: &b {agency: health}\nfirst: *b\nsecond: *b\nwhen: 2026-01-05\nyes: no\n",
    "text: >\n  folded\n  lines\nkept: |\n  one\n  two\n",
]


def pure(text: str):
    """The file as the pure-Python parser reads it."""
    kept = yamlspec._LIBYAML
    yamlspec._LIBYAML = None
    try:
        return load_located(text, "f.yaml")
    finally:
        yamlspec._LIBYAML = kept


@pytest.mark.skipif(not yaml.__with_libyaml__, reason="PyYAML built without libyaml")
@pytest.mark.parametrize("text", [*(p.read_text(encoding="utf-8") for p in SHIPPED), *TRICKY])
def test_libyaml_reads_every_file_as_the_pure_parser_does(text):
    fast, slow = load_located(text, "f.yaml"), pure(text)
    assert (fast.data, fast.keys, fast.values) == (slow.data, slow.keys, slow.values)


@pytest.mark.parametrize(
    "text",
    [
        "a: [1, 2\nb: 3\n",  # an unclosed list
        "a: 1\na: 2\n",  # a key twice
        "a: !!python/object:os.system x\n",  # not plain data
        "a: \x07\n",  # a character YAML does not allow
    ],
)
def test_a_file_libyaml_cannot_read_is_told_as_before(text):
    with pytest.raises(ConfigInvalid) as fast:
        load_located(text, "f.yaml")
    with pytest.raises(ConfigInvalid) as slow:
        pure(text)
    assert fast.value.errors == slow.value.errors


def test_the_files_compared_are_the_shipped_ones():
    assert len(SHIPPED) > 20 and all(isinstance(p, Path) for p in SHIPPED)


@pytest.mark.parametrize("depth", [60, 5000])
def test_values_nested_too_deep_are_refused_by_either_parser(depth):
    """A file built to nest lists within lists is refused with a located error, never a
    crash of the reader's recursion."""
    text = "rule:\n  a: " + "[" * depth + "]" * depth + "\n"
    for read in (lambda t: load_located(t, "f.yaml"), pure):
        with pytest.raises(ConfigInvalid) as refused:
            read(text)
        (error,) = refused.value.errors
        assert error.code == "YAML-REFUSED"
        assert "nested more than 50 levels deep" in error.message
