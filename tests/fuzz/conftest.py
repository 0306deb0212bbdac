from __future__ import annotations

import time
from collections.abc import Iterator

import pytest

from tests.fuzz.support import MAX_GROWTH_MB, LiveRig, live_rig


@pytest.fixture(scope="module")
def live() -> Iterator[LiveRig]:
    """One app per module, shared by its fuzz targets; at the end, the process has not grown
    past ``MAX_GROWTH_MB`` and the tasks what the fuzz sent started have ended (delivery
    reports of unknown messages are looked at again for 10.5 s, then dropped)."""
    with live_rig() as running:
        idle_tasks = running.server_tasks()
        yield running
        assert running.grew_mb() < MAX_GROWTH_MB, f"grew {running.grew_mb():.0f} MiB"
        deadline = time.monotonic() + 30
        while running.server_tasks() > idle_tasks + 5 and time.monotonic() < deadline:
            time.sleep(0.2)
        assert running.server_tasks() <= idle_tasks + 5
