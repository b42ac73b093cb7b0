"""Object and request IDs: Zuora's shape, ordered by creation time."""

from __future__ import annotations

import os
import re
import time
import uuid

import pytest

from asyncgate.db.base import new_id, new_uuid


def test_object_ids_are_32_lowercase_hex_characters_as_zuoras_are():
    assert re.fullmatch(r"[0-9a-f]{32}", new_id())


def test_ids_made_later_sort_after_earlier_ones():
    # What keeps new rows on the last page of every index (see ``new_id``).
    made = []
    for _ in range(5):
        made.append(new_id())
        time.sleep(0.002)
    assert made == sorted(made)


def test_ids_are_rfc_9562_version_7_uuids_that_start_with_the_time():
    before = time.time_ns() // 1_000_000
    made = uuid.UUID(new_uuid())
    after = time.time_ns() // 1_000_000
    assert made.version == 7
    assert made.variant == uuid.RFC_4122
    assert before <= made.int >> 80 <= after


def test_ids_made_in_the_same_millisecond_still_differ():
    assert len({new_id() for _ in range(10_000)}) == 10_000


def test_request_ids_are_uuids_in_their_canonical_form():
    made = new_uuid()
    assert str(uuid.UUID(made)) == made
    assert uuid.UUID(made).version == 7


@pytest.mark.skipif(not hasattr(os, "fork"), reason="no fork here")
def test_a_forked_process_makes_ids_of_its_own():
    # Random bits are read in blocks: a child must not hand out the rest of its parent's.
    new_id()
    reading, writing = os.pipe()
    child = os.fork()
    if child == 0:
        os.write(writing, new_id().encode())
        os._exit(0)
    os.waitpid(child, 0)
    childs = os.read(reading, 64).decode()
    ours = new_id()
    assert childs[12:] != ours[12:]  # past the timestamp
