"""GroupCommit: concurrent callers share a flush, in order, each returning only
once a flush holding its item has finished."""

from __future__ import annotations

import asyncio
import threading
import time

import pytest

from reconciler.groupcommit import GroupCommit, ThreadGroupCommit


def test_callers_that_arrive_during_a_flush_share_the_next_one():
    flushed: list[list[int]] = []
    on_disk: set[int] = set()

    def flush(items: list[int]) -> None:
        assert threading.current_thread() is not threading.main_thread(), "off the event loop"
        time.sleep(0.05)  # a slow fsync: the others arrive meanwhile
        flushed.append(items)
        on_disk.update(items)

    async def main() -> None:
        group: GroupCommit[int] = GroupCommit(flush)

        async def one(i: int) -> None:
            await asyncio.sleep(0.001 * i)
            await group.commit(i)
            assert i in on_disk  # durable before the caller goes on

        await asyncio.gather(*(one(i) for i in range(10)))

    asyncio.run(main())
    assert [i for batch in flushed for i in batch] == list(range(10)), "in the order handed over"
    assert len(flushed) < 10, flushed  # shared
    assert flushed[0] == [0]  # the first caller does not wait for company


def test_a_failed_flush_fails_its_batch_and_the_next_batch_is_tried_afresh():
    calls: list[list[str]] = []

    def flush(items: list[str]) -> None:
        calls.append(items)
        if "bad" in items:
            raise OSError(28, "No space left on device")

    async def main() -> list[object]:
        group: GroupCommit[str] = GroupCommit(flush)
        first = await asyncio.gather(group.commit("bad"), return_exceptions=True)
        second = await asyncio.gather(group.commit("good"), return_exceptions=True)
        return [*first, *second]

    results = asyncio.run(main())
    assert isinstance(results[0], OSError) and results[1] is None
    assert calls == [["bad"], ["good"]]


@pytest.mark.parametrize("cancel_after", [0.0, 0.02])
def test_a_cancelled_caller_does_not_cancel_the_flush_the_others_wait_on(cancel_after):
    flushed: list[list[int]] = []

    def flush(items: list[int]) -> None:
        time.sleep(0.05)
        flushed.append(items)

    async def main() -> None:
        group: GroupCommit[int] = GroupCommit(flush)
        doomed = asyncio.create_task(group.commit(1))
        other = asyncio.create_task(group.commit(2))
        await asyncio.sleep(cancel_after)
        doomed.cancel()
        await other
        await group.wait_idle()

    asyncio.run(main())
    assert sorted(i for batch in flushed for i in batch) == [1, 2]


# --- ThreadGroupCommit: the same for callers in worker threads ---------------------------

def test_threads_that_arrive_during_a_flush_share_the_next_one_and_return_only_once_durable():
    flushes: list[int] = []
    handed: list[int] = []  # what was handed over before each flush began
    lock = threading.Lock()
    started = threading.Event()

    def flush() -> None:
        with lock:
            snapshot = len(handed)
        started.set()
        if not flushes:  # a slow first fsync: the others arrive meanwhile
            deadline = time.monotonic() + 5
            while len(handed) < 8 and time.monotonic() < deadline:
                time.sleep(0.005)
            time.sleep(0.05)
        flushes.append(snapshot)

    group = ThreadGroupCommit(flush)
    returned: list[tuple[int, int]] = []  # (caller, flushes finished when it returned)

    def one(i: int) -> None:
        with lock:
            handed.append(i)
            mine = len(handed)
        group.commit()
        # a flush that began after this caller handed its item over has finished
        assert any(snapshot >= mine for snapshot in flushes), (mine, flushes)
        returned.append((i, len(flushes)))

    first = threading.Thread(target=one, args=(0,))
    first.start()
    started.wait()
    others = [threading.Thread(target=one, args=(i,)) for i in range(1, 8)]
    for t in others:
        t.start()
    for t in [first, *others]:
        t.join()
    assert sorted(i for i, _ in returned) == list(range(8))
    assert flushes[0] == 1, flushes  # the first caller does not wait for company
    assert len(flushes) < 8, flushes  # the seven that came during the first flush shared


def test_a_failed_thread_flush_fails_its_batch_and_the_next_is_tried_afresh():
    calls = []

    def flush() -> None:
        calls.append(len(calls))
        if len(calls) == 1:
            raise OSError(28, "No space left on device")

    group = ThreadGroupCommit(flush)
    with pytest.raises(OSError, match="No space"):
        group.commit()
    group.commit()
    assert calls == [0, 1]
