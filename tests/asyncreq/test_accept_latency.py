"""The accept latencies the dashboard shows (per tenant, over the last hour) and the histogram
``/metrics`` shows (every accept of the process)."""

from __future__ import annotations

from asyncgate.asyncreq.accept_latency import SAMPLE_SIZE, AcceptLatencies
from tests.asyncreq.support import ASYNC_TRIALS, accept, trial


class Clock:
    def __init__(self) -> None:
        self.now = 1_800_000_000.0

    def __call__(self) -> float:
        return self.now


def test_the_p99_is_the_99th_of_a_hundred():
    latencies = AcceptLatencies(Clock())
    for millisecond in range(1, 101):
        latencies.record("t", millisecond / 1000)
    assert latencies.p99("t") == 0.099


def test_the_histogram_counts_every_accept_at_or_below_each_bound():
    latencies = AcceptLatencies(Clock())
    for seconds, tenant in [(0.0005, "a"), (0.001, "b"), (0.004, "a"), (0.2, "b"), (9.0, "a")]:
        latencies.record(tenant, seconds)

    buckets, total = latencies.histogram()

    counts = dict(buckets)
    assert (counts["0.001"], counts["0.005"], counts["0.25"], counts["2.5"]) == (2, 3, 4, 4)
    assert counts["+Inf"] == 5
    assert list(counts) == sorted(counts, key=lambda bound: float(bound))
    assert total == 0.0005 + 0.001 + 0.004 + 0.2 + 9.0


def test_tenants_are_apart_and_an_unknown_one_has_none():
    latencies = AcceptLatencies(Clock())
    latencies.record("fast", 0.001)
    latencies.record("slow", 0.5)
    assert latencies.p99("fast") == 0.001
    assert latencies.p99("other") is None


def test_minutes_older_than_an_hour_are_forgotten():
    clock = Clock()
    latencies = AcceptLatencies(clock)
    latencies.record("t", 0.9)
    clock.now += 61 * 60
    latencies.record("t", 0.002)
    assert latencies.p99("t") == 0.002


def test_a_busy_minute_is_sampled_and_still_weighs_by_its_accepts():
    clock = Clock()
    latencies = AcceptLatencies(clock)
    for _ in range(20 * SAMPLE_SIZE):  # a busy minute of fast accepts
        latencies.record("t", 0.001)
    clock.now += 60
    for _ in range(10):  # then a quiet one of slow accepts: well under 1% of all
        latencies.record("t", 1.0)
    assert latencies.p99("t") == 0.001


async def test_every_accept_is_recorded_for_its_tenant(app, client, fresh_tenant):
    assert app.state.accept_latencies.p99(fresh_tenant.tenant_id) is None
    await accept(client, fresh_tenant, ASYNC_TRIALS, trial())
    recorded = app.state.accept_latencies.p99(fresh_tenant.tenant_id)
    assert recorded is not None and 0 < recorded < 5
