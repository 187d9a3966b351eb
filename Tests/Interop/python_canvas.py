"""Canvases built by Python Celery, run by a Celeriac worker (queue `celery`) together with a
Python worker (queue `interop.py`). Prints one line per check; exits 1 at the first failure.

Run by the tests with CELERIAC_BROKER_URL / CELERIAC_RESULT_BACKEND set, SWIFT_WORKER and
PYTHON_WORKER naming the two workers' hostnames.
"""
import os
import sys
import time

from celery import chain, chord, group

from celeriac_interop import add, app, fail, mul, xsum

TIMEOUT = 60
SWIFT = os.environ["SWIFT_WORKER"]
PYTHON = os.environ["PYTHON_WORKER"]


def check(name, condition, detail=""):
    if not condition:
        print(f"FAIL {name} {detail}", flush=True)
        sys.exit(1)
    print(f"ok {name}", flush=True)


def worker_of(result):
    return app.backend.get_task_meta(result.id).get("worker")


# Header tasks on the Celeriac worker; the Celeriac worker that completes the chord publishes the
# body to the Python worker's queue.
header = [add.s(i, i) for i in range(10)]
result = chord(header, xsum.s().set(queue="interop.py")).apply_async()
check("chord swift header, python body", result.get(timeout=TIMEOUT) == 90, repr(result.state))
check("body ran on python", worker_of(result) == PYTHON, worker_of(result))
check("header ran on swift", worker_of(result.parent.results[3]) == SWIFT, worker_of(result.parent.results[3]))

# The other way round: Python header tasks complete the chord, the body runs on Celeriac.
header = [add.s(i, 1).set(queue="interop.py") for i in range(5)]
result = chord(header, xsum.s()).apply_async()
check("chord python header, swift body", result.get(timeout=TIMEOUT) == 15, repr(result.state))
check("body ran on swift", worker_of(result) == SWIFT, worker_of(result))

# A chord whose header tasks run on both kinds of worker.
header = [add.s(i, i).set(queue="interop.py" if i % 2 else "celery") for i in range(20)]
result = chord(header, xsum.s()).apply_async()
check("mixed chord", result.get(timeout=TIMEOUT) == 380, repr(result.state))

# A failing header task on Celeriac fails the chord body, which Python reads as an error.
result = chord([add.s(1, 1), fail.s("header boom"), add.s(2, 2)], xsum.s()).apply_async()
try:
    result.get(timeout=TIMEOUT)
    check("failing chord raises", False, "no exception")
except Exception as error:  # Celery re-raises the header's error or a ChordError
    check("failing chord raises", "header boom" in str(error), repr(error))
# get() raised the header's error from the parent group; the body's FAILURE comes when the last
# header task has returned its part.
deadline = time.time() + TIMEOUT
while time.time() < deadline and result.state != "FAILURE":
    time.sleep(0.05)
check("failing chord body state", result.state == "FAILURE", result.state)
check("failing chord body ChordError", type(result.result).__name__ == "ChordError", repr(result.result))

# Python chain and group, continued by Celeriac.
check("chain", chain(add.s(1, 2), add.s(3), mul.s(10)).apply_async().get(timeout=TIMEOUT) == 60)
check("group", group(add.s(i, i) for i in range(10)).apply_async().get(timeout=TIMEOUT) == [2 * i for i in range(10)])
check(
    "chain with group",
    chain(add.s(1, 1), group(add.s(10), add.s(20)), xsum.s()).apply_async().get(timeout=TIMEOUT) == 34,
)
print("done", flush=True)
