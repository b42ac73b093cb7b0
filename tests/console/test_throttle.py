"""The sign-in throttle on its own, on a clock the test moves."""

from __future__ import annotations

import pytest

from asyncgate.console.throttle import SignInThrottle, TooManySignIns, address_key, user_key


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


def test_a_user_is_locked_out_after_the_limit_until_the_window_moves_on(clock):
    throttle = SignInThrottle(3, 60, clock)
    keys = [user_key("default", "A@example.com")]
    for _ in range(3):
        throttle.check(keys)
        throttle.failed(keys)
        clock.now += 1
    with pytest.raises(TooManySignIns) as refused:
        throttle.check([user_key(" default", "a@example.com ")])
    assert refused.value.headers["Retry-After"] == "57"
    clock.now += 57
    throttle.check(keys)


def test_one_address_may_fail_five_times_as_often_across_users(clock):
    throttle = SignInThrottle(2, 60, clock)
    address = address_key("198.51.100.7")
    for number in range(10):
        throttle.check([user_key("default", f"u{number}@example.com"), address])
        throttle.failed([user_key("default", f"u{number}@example.com"), address])
    with pytest.raises(TooManySignIns):
        throttle.check([user_key("default", "new@example.com"), address])
    throttle.check([user_key("default", "new@example.com"), address_key("198.51.100.8")])


def test_a_success_clears_the_users_failures(clock):
    throttle = SignInThrottle(2, 60, clock)
    keys = [user_key("default", "a@example.com")]
    throttle.failed(keys)
    throttle.succeeded(keys[0])
    throttle.failed(keys)
    throttle.check(keys)  # one failure since the success: still allowed
    throttle.failed(keys)
    # Two failures since the success reach the limit: the earlier one no longer counts, and
    # without the success there would have been three.
    with pytest.raises(TooManySignIns) as refused:
        throttle.check(keys)
    assert refused.value.status == 429
