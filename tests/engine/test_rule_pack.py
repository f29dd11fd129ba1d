"""The shipped rule pack: valid, grounded in the guidance, every inline test passing."""

import re
from pathlib import Path

import pytest
from conftest import ROOT

from noncoop.engine.decide.durable import durable_available
from noncoop.engine.rules.load import load_rules
from noncoop.engine.ruletest import run_rule_tests
from noncoop.vocab import PATTERN_TAGS

RULES = ROOT / "rules"
GUIDANCE = ROOT.parent / "shared" / "guidance"
ENGINES = ["python", "durable"] if durable_available() else ["python"]


@pytest.fixture(scope="module")
def pack():
    return load_rules(RULES)


def test_pack_covers_every_pattern_tag(pack):
    assert len(pack.rules) >= 14
    tags = {r.rule.pattern_tag for r in pack.rules}
    assert tags == set(PATTERN_TAGS) - {"pattern:other"}
    assert all(r.rule.status in ("stable", "test") for r in pack.rules)


@pytest.mark.parametrize("engine", ENGINES)
def test_every_inline_test_passes(pack, engine):
    results = run_rule_tests(pack, engine)
    failures = [f"{r.rule_id}: {r.name}" for r in results if not r.passed]
    assert failures == []
    assert sum(r.expect == "alert" for r in results) >= len(pack.rules)
    assert sum(r.expect == "none" for r in results) >= len(pack.rules)


def _normal(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", " ", text.lower()).strip()


@pytest.mark.skipif(not GUIDANCE.exists(), reason="shared guidance texts not beside the repo")
def test_every_cited_passage_is_in_the_guidance(pack):
    corpus = _normal(" ".join(p.read_text(encoding="utf-8") for p in GUIDANCE.glob("*.txt")))
    for rule in pack.rules:
        for g in rule.rule.guidance:
            for fragment in g.passage.split("[...]"):
                assert _normal(fragment) in corpus, f"{rule.id} cites text not in the guidance"


def test_messages_describe_behaviour_not_families(pack):
    labels = ("disguised compliance", "hostile family", "uncooperative family", "neglectful")
    for rule in pack.rules:
        text = (rule.rule.message + rule.rule.title).lower()
        assert not any(label in text for label in labels), rule.id


def test_durable_ruleset_form(pack):
    from noncoop.engine.decide.durable import compile_durable

    compiled = compile_durable([pack.get("NC-THREATS-AND-CHILD-NOT-SEEN")])
    ((name, rule),) = compiled.items()
    assert name == "NC-THREATS-AND-CHILD-NOT-SEEN#0"
    first, second = rule["all"]
    assert first == {"m0": {"pattern": "threats_to_workers"}}
    terms = second["m1"]["$and"]
    assert terms[0] == {"pattern": "NC-THREATS-AND-CHILD-NOT-SEEN.unseen"}
    assert {"$lte": {"start": {"$add": {"$l": {"m0": "end"}, "$r": 90 * 86400}}}} in terms


def test_not_becomes_a_negated_match(pack):
    from noncoop.engine.decide.durable import compile_durable

    rule = compile_durable([pack.get("NC-NOT-SEEN-ALONE")])["NC-NOT-SEEN-ALONE#0"]
    assert rule["all"][1] == {"n0$not": {"pattern": "NC-NOT-SEEN-ALONE.alone"}}


def test_rule_files_are_one_per_rule_named_by_id(pack):
    assert sorted(p.stem for p in Path(RULES).glob("*.yaml")) == sorted(r.id for r in pack.rules)
    assert all(r.path.stem == r.id for r in pack.rules)
