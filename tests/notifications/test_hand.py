"""The sender's hand on its own: sends at once, per origin, deliveries set aside for a busy
origin, the definitions a busy origin keeps out of claims, and those it refuses when handed
over."""

from __future__ import annotations

from dataclasses import dataclass

from asyncgate.notifications.hand import Hand

A = ("https", "a.example", 443)
B = ("https", "b.example", 443)


@dataclass(frozen=True)
class Delivery:
    name: str
    origin: tuple[str, str, int] | None
    definition_id: str = "definition"


def a(name: str) -> Delivery:
    return Delivery(name, A, "definition-a")


def b(name: str) -> Delivery:
    return Delivery(name, B, "definition-b")


def sendable(hand: Hand) -> list[str]:
    taken = []
    while (delivery := hand.next_to_send()) is not None:
        taken.append(delivery)
    return taken


class TestSlots:
    def test_no_more_than_the_concurrency_go_at_once(self):
        hand = Hand(concurrency=2, per_origin=2)
        hand.add([a("1"), b("2"), b("3")])

        assert [d.name for d in sendable(hand)] == ["1", "2"]
        assert (hand.sending, len(hand)) == (2, 1)

    def test_a_busy_origins_deliveries_wait_aside_without_holding_a_slot(self):
        hand = Hand(concurrency=4, per_origin=1)
        hand.add([a("1"), a("2"), a("3"), b("4")])

        assert [d.name for d in sendable(hand)] == ["1", "4"]
        assert hand.sending == 2  # two slots free, yet a.example has its one

    def test_an_ended_send_brings_its_origins_next_delivery_back_first(self):
        hand = Hand(concurrency=4, per_origin=1)
        first, *_ = sendable_after(hand, [a("1"), a("2"), b("3")])
        hand.add([b("4")])

        hand.sent(first)

        assert [d.name for d in sendable(hand)] == ["2"]  # b.example still has its one

    def test_deliveries_with_nothing_to_send_have_no_origin_bound(self):
        hand = Hand(concurrency=3, per_origin=1)
        hand.add([Delivery("1", None), Delivery("2", None)])

        assert [d.name for d in sendable(hand)] == ["1", "2"]


class TestRoom:
    def test_room_is_twice_the_concurrency_less_what_waits_and_what_is_sent(self):
        hand = Hand(concurrency=2, per_origin=2)
        hand.add([a("1"), a("2"), a("3")])
        sendable(hand)

        assert hand.room() == 4 - 1 - 2

    def test_deliveries_set_aside_take_no_room(self):
        hand = Hand(concurrency=2, per_origin=1)
        hand.add([a("1"), a("2"), a("3")])
        sendable(hand)

        assert hand.room() == 4 - 0 - 1


class TestBusyOrigins:
    def test_an_origin_with_every_send_under_way_keeps_its_definitions_out_of_claims(self):
        hand = Hand(concurrency=4, per_origin=1)
        sendable_after(hand, [a("1"), b("2")])

        assert sorted(hand.busy_definitions()) == ["definition-a", "definition-b"]

    def test_once_a_send_ends_its_origin_is_no_longer_busy(self):
        hand = Hand(concurrency=4, per_origin=2)
        first, _ = sendable_after(hand, [a("1"), a("2")])

        hand.sent(first)

        assert hand.busy_definitions() == []
        assert hand.accepts("definition-a")


def sendable_after(hand: Hand, deliveries: list[Delivery]) -> list[Delivery]:
    hand.add(deliveries)
    return sendable(hand)


class TestAsideKeepsBusy:
    def test_an_origin_with_deliveries_aside_is_busy_even_with_a_slot_free(self):
        hand = Hand(concurrency=4, per_origin=2)
        hand.add([a("1"), a("2"), a("3")])
        first, _ = sendable(hand)  # "3" waits aside
        hand.sent(first)  # "3" is back in line, not yet sent
        hand.add([a("4")])
        assert [d.name for d in sendable(hand)] == ["3"]

        assert hand.busy_definitions() == ["definition-a"]  # "4" waits aside again

    def test_the_send_that_ends_the_busy_spell_says_so(self):
        hand = Hand(concurrency=4, per_origin=1)
        (first,) = sendable_after(hand, [a("1")])

        assert hand.sent(first)
        assert hand.accepts("definition-a")


class TestHandOvers:
    def test_a_busy_origins_deliveries_are_taken_until_as_many_wait_aside_as_go_at_once(self):
        hand = Hand(concurrency=3, per_origin=1)
        sendable_after(hand, [a("1"), a("2"), a("3")])  # one under way, two aside
        assert hand.accepts("definition-a")
        assert hand.refused_definitions() == []

        sendable_after(hand, [a("4")])  # three aside

        assert not hand.accepts("definition-a")
        assert hand.refused_definitions() == ["definition-a"]
        assert hand.accepts("definition-b")

    def test_a_refused_origin_is_taken_again_once_its_line_shortens(self):
        hand = Hand(concurrency=2, per_origin=1)
        (first,) = sendable_after(hand, [a("1"), a("2"), a("3")])
        assert not hand.accepts("definition-a")

        hand.sent(first)  # "2" goes back in line: one waits aside

        assert hand.accepts("definition-a")
