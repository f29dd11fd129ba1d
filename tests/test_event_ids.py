"""Event ids: stable, the same for a record however it arrives, and different between records."""

import numpy as np
import pandas as pd
import pyarrow as pa

from noncoop.events import event_id_numbers, event_ids, event_numbers


def fnv1a(data: bytes) -> str:
    h = 0xCBF29CE484222325
    for byte in data:
        h = ((h ^ byte) * 0x100000001B3) % 2**64
    return f"{h:016x}"


def test_ids_are_the_fnv1a_hash_of_source_and_key():
    keys = ["P1", "C801200001009|2026-01-05|AM", "", "naïve √ key"]
    expected = [fnv1a(b"gp\x1f" + k.encode()) for k in keys]
    assert event_ids("gp", keys).tolist() == expected
    # Keys of one length take the matrix path; the answer is the same.
    same = ["A1", "B2", "C3"]
    assert event_ids("gp", same).tolist() == [fnv1a(b"gp\x1f" + k.encode()) for k in same]


def test_same_record_same_id_whatever_the_container():
    keys = ["V1", "V22", "V333"]
    from_list = event_ids("visits", keys)
    from_series = event_ids("visits", pd.Series(keys, dtype="string"))
    chunked = pa.chunked_array([pa.array(keys[:1]), pa.array(keys[1:])])
    from_chunks = event_ids("visits", pd.Series(pd.arrays.ArrowExtensionArray(chunked)))
    sliced = event_ids("visits", pd.Series(["x", *keys], dtype="string").iloc[1:])
    assert from_list.tolist() == from_series.tolist() == from_chunks.tolist() == sliced.tolist()
    assert event_ids("other", keys).tolist() != from_list.tolist()
    assert len(set(from_list.tolist())) == 3
    assert len(event_id_numbers(from_list)) == 3


def test_no_keys_no_ids():
    assert event_ids("gp", []).tolist() == []


def test_event_numbers_order_events_as_their_ids():
    made = event_ids("gp", [f"R{i}" for i in range(50)]).tolist()
    by_hand = ["e2", "e10", "", "ZZZZZZZZZZZZZZZZ", "naïve"]
    ids = made + by_hand
    numbers = event_numbers(ids)
    # An id the ingest makes is the number its hex digits spell, as the store's key sets read it.
    assert numbers[:50].tolist() == event_id_numbers(made).tolist()
    assert [made[i] for i in np.argsort(numbers[:50])] == sorted(made)
    # Ids made by hand get a number too, the same one each time, and different ones differ.
    assert event_numbers(by_hand).tolist() == numbers[50:].tolist()
    assert len(set(numbers.tolist())) == len(ids)
