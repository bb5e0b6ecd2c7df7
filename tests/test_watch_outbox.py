"""A watch socket's Outbox: frames go out at once while the socket takes them, in order; a
socket that cannot is buffered (10, as Coder) by its own task, so the fan-out never waits on
it; the delay and drop faults apply per frame."""

from __future__ import annotations

import asyncio

import pytest

from mock_server.outbox import BUFFER, Outbox

pytestmark = pytest.mark.anyio
WAIT = 10.0  # seconds: a hang guard, never a speed requirement


class FakeSocket:
    """An accepted socket whose client reads when `reading` is set (and is writable then)."""

    def __init__(self, *, reading: bool = True) -> None:
        self.reading = asyncio.Event()
        if reading:
            self.reading.set()
        self.sent: list[str] = []
        self.messages = 0
        self.dropped = False
        self.gone = False

    def writable_now(self) -> bool:
        return self.reading.is_set()

    async def send_text(self, text: str, *, notification_id: str | None = None) -> bool:
        await self.reading.wait()
        if self.gone:
            return False
        self.sent.append(text)
        self.messages += 1
        return True

    def drop(self) -> None:
        self.dropped = True


def outbox_for(socket: FakeSocket, **faults: float | int | None) -> Outbox:
    return Outbox(socket, **faults)  # type: ignore[arg-type]


async def test_a_socket_that_takes_frames_gets_each_at_once_in_order() -> None:
    socket = FakeSocket()
    outbox = outbox_for(socket)
    outbox.open()
    for n in range(3):
        await outbox.put(f"frame {n}", str(n))
        assert socket.sent == [f"frame {i}" for i in range(n + 1)], "written before put returns"
    await outbox.stop()


async def test_a_socket_that_cannot_take_them_buffers_ten_and_drops_the_rest() -> None:
    socket = FakeSocket(reading=False)
    outbox = outbox_for(socket)
    outbox.open()
    frames = [f"frame {n}" for n in range(BUFFER + 4)]
    for n, text in enumerate(frames):
        await asyncio.wait_for(outbox.put(text, str(n)), WAIT)  # never waits on the client
        await asyncio.sleep(0)  # the socket's task takes the first and waits in its send
    assert (socket.sent, outbox.dropped) == ([], 3)  # one in the send, ten buffered
    socket.reading.set()
    for _ in range(int(WAIT / 0.01)):
        if len(socket.sent) == BUFFER + 1:
            break
        await asyncio.sleep(0.01)
    assert socket.sent == frames[:BUFFER + 1]
    await outbox.stop()


async def test_frames_before_the_upgrade_wait_for_it() -> None:
    socket = FakeSocket()
    outbox = outbox_for(socket)
    await outbox.put("early", "1")
    assert socket.sent == []
    outbox.open()
    await asyncio.wait_for(_until(lambda: socket.sent == ["early"]), WAIT)
    await outbox.put("later", "2")
    assert socket.sent == ["early", "later"]
    await outbox.stop()


@pytest.mark.parametrize("after", [0, 1, 3])
async def test_the_drop_fault_cuts_the_socket_after_n_messages(after: int) -> None:
    socket = FakeSocket()
    outbox = outbox_for(socket, drop_after=after)
    outbox.open()
    for n in range(after + 2):
        await outbox.put(f"frame {n}", str(n))
    assert (len(socket.sent), socket.dropped, outbox.done.done()) == (after, True, True)
    await outbox.stop()


async def test_the_delay_fault_waits_before_every_frame() -> None:
    slept: list[float] = []

    async def sleep(seconds: float) -> None:
        slept.append(seconds)

    socket = FakeSocket()
    outbox = Outbox(socket, delay_ms=250, sleep=sleep)  # type: ignore[arg-type]
    outbox.open()
    await outbox.put("a", "1")
    await outbox.put("b", "2")
    await asyncio.wait_for(_until(lambda: len(socket.sent) == 2), WAIT)
    assert (socket.sent, slept) == (["a", "b"], [0.25, 0.25])
    await outbox.stop()


async def test_a_client_gone_ends_the_socket_and_a_failed_send_is_kept() -> None:
    socket = FakeSocket()
    socket.gone = True
    outbox = outbox_for(socket)
    outbox.open()
    await outbox.put("a", "1")
    assert (outbox.done.done(), outbox.failure) == (True, None)

    class Broken(FakeSocket):
        async def send_text(self, text: str, *, notification_id: str | None = None) -> bool:
            raise RuntimeError("encoder trouble")

    broken = outbox_for(Broken())
    broken.open()
    await broken.put("a", "1")
    assert broken.done.done()
    assert isinstance(broken.failure, RuntimeError)


async def _until(condition: object) -> None:
    while not condition():  # type: ignore[operator]
        await asyncio.sleep(0.01)
