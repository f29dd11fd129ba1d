import numpy as np

from noncoop.store.keyset import KeySet


def test_membership_matches_a_python_set_over_many_blocks():
    keys, reference = KeySet(), set()
    rng = np.random.default_rng(0)
    for _ in range(40):
        block = rng.integers(0, 50_000, 3_000).astype(np.uint64)
        expected = np.array([k in reference for k in block.tolist()])
        assert (keys.contains(block) == expected).all()
        keys.add(block)
        reference.update(block.tolist())
    # Runs merge like a binary counter, so few remain however many blocks were added.
    assert len(keys._runs) <= 8


def test_largest_keys_are_exact():
    keys = KeySet()
    top = np.array([2**64 - 1, 2**63 + 1], dtype=np.uint64)
    keys.add(top)
    assert keys.contains(np.array([2**64 - 1, 2**63, 2**63 + 1], dtype=np.uint64)).tolist() == [
        True,
        False,
        True,
    ]


def test_initial_keys_are_read_only_when_the_set_is_used():
    reads = []

    def initial():
        reads.append(1)
        return np.array([5, 7], dtype=np.uint64)

    keys = KeySet(initial)
    assert reads == []
    assert keys.contains(np.array([7, 8], dtype=np.uint64)).tolist() == [True, False]
    keys.add(np.array([8], dtype=np.uint64))
    assert reads == [1]


def test_keys_in_order_and_at_the_edges_of_earlier_blocks_are_found():
    # A register read pupil by pupil: each block's keys follow the last block's, sharing its
    # edge; the set must still find a key repeated at the edge, and one in an earlier block.
    keys, reference = KeySet(), set()
    rng = np.random.default_rng(1)
    start = 0
    for _ in range(30):
        block = np.sort(rng.integers(start, start + 5_000, 2_000)).astype(np.uint64)
        block = np.append(block, rng.integers(0, start + 1, 3).astype(np.uint64))
        expected = np.array([k in reference for k in block.tolist()])
        assert (keys.contains(block) == expected).all()
        keys.add(block)
        reference.update(block.tolist())
        start += 4_000
    assert keys.contains(np.array(sorted(reference), dtype=np.uint64)).all()


def test_a_large_set_of_hashed_ids_finds_every_key_through_its_bitmap(monkeypatch):
    # A bitmap of few flags, so that most keys not in the set share a flag with one that is.
    from noncoop.store import keyset

    monkeypatch.setattr(keyset, "BITMAP_FROM", 2_000)
    monkeypatch.setattr(keyset, "BITMAP_ASKED", 500)
    monkeypatch.setattr(keyset, "BITMAP_BITS", 10)
    keys, reference = KeySet(), set()
    rng = np.random.default_rng(2)
    for _ in range(30):
        block = rng.integers(0, 2**64 - 1, 1_000, dtype=np.uint64)
        block = np.append(block, rng.choice(np.array(sorted(reference) or [0], np.uint64), 50))
        expected = np.array([k in reference for k in block.tolist()])
        assert (keys.contains(block) == expected).all()
        fresh = block[~expected]
        keys.add(fresh, new=True)
        reference.update(fresh.tolist())
    assert keys._flags is not None  # the bitmap was made, and is kept as keys are added
    assert keys.contains(np.array(sorted(reference), dtype=np.uint64)).all()


def test_a_few_keys_asked_of_a_large_set_are_searched_without_making_a_bitmap(monkeypatch):
    from noncoop.store import keyset

    monkeypatch.setattr(keyset, "BITMAP_FROM", 2_000)
    keys = KeySet()
    keys.add(np.random.default_rng(3).integers(0, 2**64 - 1, 5_000, dtype=np.uint64))
    assert not keys.contains(np.array([1, 2, 3], dtype=np.uint64)).any()
    assert keys._flags is None  # a night with one small changed file pays for no bitmap
