"""The one-second memo of rendered feed answers: hits within the TTL, misses after, bounded in size."""

from __future__ import annotations

from shop_app.web.page_memo import PageMemo


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_an_answer_is_served_until_its_second_is_over() -> None:
    clock = Clock()
    memo = PageMemo(ttl_s=1.0, clock=clock)
    memo.put(("shop", 0, "key-a"), b"page")
    assert memo.get(("shop", 0, "key-a")) == b"page"
    assert memo.get(("shop", 0, "key-b")) is None  # another credential never gets it
    clock.now += 0.99
    assert memo.get(("shop", 0, "key-a")) == b"page"
    clock.now += 0.02
    assert memo.get(("shop", 0, "key-a")) is None


def test_clear_forgets_everything_and_size_stays_bounded() -> None:
    clock = Clock()
    memo = PageMemo(ttl_s=5.0, max_entries=10, clock=clock)
    for n in range(25):
        clock.now += 0.01
        memo.put(n, str(n).encode())
    assert memo.get(24) == b"24"  # the newest survive
    assert sum(memo.get(n) is not None for n in range(25)) <= 10
    memo.clear()
    assert memo.get(24) is None
