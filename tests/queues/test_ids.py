"""Ids: time-sortable, with random digits from the OS's generator that no two threads or
forked processes share."""

from __future__ import annotations

import os
import re
import threading
import time

from queues import new_id


def test_ids_sort_by_time_and_never_repeat_across_threads() -> None:
    made: list[list[str]] = [[], []]

    def make(into: list[str]) -> None:
        into.extend(new_id() for _ in range(20_000))

    threads = [threading.Thread(target=make, args=(out,)) for out in made]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    every = made[0] + made[1]
    assert len(set(every)) == len(every)
    assert all(re.fullmatch(r"[0-9a-f]{20}", i) for i in every)
    before = new_id()
    time.sleep(0.002)
    assert new_id()[:12] > before[:12]


def test_a_forked_child_draws_digits_of_its_own() -> None:
    new_id()  # the parent holds digits not yet used
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # pragma: no cover - the child
        os.write(write, "".join(new_id()[12:] for _ in range(4)).encode())
        os._exit(0)
    os.waitpid(pid, 0)
    child = os.read(read, 64).decode()
    os.close(read)
    os.close(write)
    parent = "".join(new_id()[12:] for _ in range(4))
    assert len(child) == 32 and child != parent
