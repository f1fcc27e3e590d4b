"""Group commit: concurrent callers share one blocking flush (a write and an
fsync), run in a worker thread so the event loop keeps serving requests.

An apply runs several actions at once; each must be durable (its journal
line fsynced, its copied file's folder entry synced) before it goes on.
One fsync per caller on the event loop thread serialised them all behind
the disk: with 4 uploads in flight, every completion waited for the fsyncs
of the others. Here a caller hands its item over and waits; the first
caller starts a flush of everything pending, and callers that arrive while
it runs are flushed together by the next one. A caller returns only once
a flush that *started after* it handed its item over has finished, so the
guarantee per caller is exactly that of its own fsync.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable
from typing import Generic, TypeVar

T = TypeVar("T")


class GroupCommit(Generic[T]):
    """`await commit(item)` returns once `flush(items)` ran, in a thread, on a
    batch holding `item`; batches are flushed one at a time, in the order the
    items were handed over. A flush that raises fails every caller of its
    batch (with the same exception); the next batch is tried afresh."""

    def __init__(self, flush: Callable[[list[T]], None]) -> None:
        self._flush = flush
        self._pending: list[tuple[T, asyncio.Future[None]]] = []
        self._worker: asyncio.Task[None] | None = None

    async def commit(self, item: T) -> None:
        done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._pending.append((item, done))
        if self._worker is None or self._worker.done():
            self._worker = asyncio.create_task(self._drain())
        # a cancelled caller cancels only its own future: the flush others wait
        # on is the worker task's, and it skips futures already done
        await done

    async def _drain(self) -> None:
        while self._pending:
            batch, self._pending = self._pending, []
            try:
                await asyncio.to_thread(self._flush, [item for item, _ in batch])
            except Exception as exc:  # noqa: BLE001 - handed to every caller of the batch
                for _, done in batch:
                    if not done.done():
                        done.set_exception(exc)
            else:
                for _, done in batch:
                    if not done.done():
                        done.set_result(None)

    async def wait_idle(self) -> None:
        """Until nothing is pending or being flushed."""
        while self._worker is not None and not self._worker.done():
            await asyncio.shield(self._worker)


class _Batch:
    __slots__ = ("done", "error")

    def __init__(self) -> None:
        self.done = False
        self.error: BaseException | None = None


class ThreadGroupCommit:
    """Group commit for callers in worker threads (a copy that has just renamed
    its file into a folder): `commit()` blocks until a `flush()` that started
    after the call has finished. The caller that finds no flush running runs it
    itself, in its own thread — no hop to the event loop and back per file —
    and the callers that arrive meanwhile wait and share the next flush. A
    flush that raises fails every caller of its batch; the next is tried afresh."""

    def __init__(self, flush: Callable[[], None]) -> None:
        self._flush = flush
        self._cond = threading.Condition()
        self._open: _Batch | None = None  # the callers waiting for the next flush
        self._running = False

    def commit(self) -> None:
        with self._cond:
            batch = self._open
            if batch is None:
                batch = self._open = _Batch()
            while not batch.done:
                if self._running:
                    self._cond.wait()
                    continue
                # no flush running, so this batch is still open: lead it
                self._running, self._open = True, None
                self._cond.release()
                try:
                    self._flush()
                except BaseException as exc:  # noqa: BLE001 - handed to every caller of the batch
                    batch.error = exc
                finally:
                    self._cond.acquire()
                    batch.done, self._running = True, False
                    self._cond.notify_all()
            if batch.error is not None:
                raise batch.error

