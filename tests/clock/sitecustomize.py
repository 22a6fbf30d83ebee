"""A worker's clock, for tests of local-time sending: a process started with this directory on
PYTHONPATH and ENGAGE_TEST_CLOCK set (an ISO moment) starts its clock there and runs on from it,
so a real worker process lives through a wave hours away without waiting for it. Monotonic clocks
(Celery's timers) are left alone. Never on a production path: only tests put it on PYTHONPATH."""

import os

if os.environ.get("ENGAGE_TEST_CLOCK"):
    import time_machine

    time_machine.travel(os.environ["ENGAGE_TEST_CLOCK"], tick=True).start()
