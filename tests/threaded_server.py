"""waitress in a thread of the test process, stopped by that thread itself.

``server.close()`` from the test's thread closes sockets that the server's thread may be
waiting on in ``select()``: it then fails with EBADF (an exception in a thread, and a
connection left unclosed), now and then, more often on a loaded machine. Here the
server's own loop closes everything, woken by its trigger.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager

from waitress import wasyncore


@contextmanager
def running(server) -> Iterator[None]:
    """Run ``server`` (waitress.create_server's) in a thread until the block ends."""
    thread = threading.Thread(target=server.run, name="waitress", daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop(server, thread)


def stop(server, thread: threading.Thread) -> None:
    """Let the requests under way finish, then close every socket from the server's loop."""
    server.task_dispatcher.shutdown(cancel_pending=False)
    # Emptying the map ends the loop: server.run() returns.
    server.trigger.pull_trigger(lambda: wasyncore.close_all(server._map))
    thread.join(timeout=10)
