from noncoop.events import EVENT_COLUMNS, EVENT_TYPES
from noncoop.vocab import EVENT_TYPES as WORDS
from noncoop.vocab import LEVELS, MOST_SEVERE_FIRST, Level, level_rank, pattern_tag


def test_levels_are_ordered_by_severity():
    assert Level.INFO < Level.LOW < Level.MEDIUM < Level.HIGH < Level.CRITICAL
    assert max(LEVELS) == Level.CRITICAL
    assert [str(v) for v in MOST_SEVERE_FIRST] == ["critical", "high", "medium", "low", "info"]
    assert sorted(["low", "critical", "medium"], key=level_rank) == ["critical", "medium", "low"]


def test_every_event_type_has_words_and_the_store_knows_it():
    assert list(EVENT_COLUMNS["event_type"].categories) == list(EVENT_TYPES)
    for name, event_type in WORDS.items():
        assert event_type.words and "_" not in event_type.words, name


def test_pattern_tag_is_found_among_other_tags():
    assert pattern_tag(["agency:health", "pattern:isolation"]) == "pattern:isolation"
    assert pattern_tag(["agency:health"]) is None
