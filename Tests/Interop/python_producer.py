"""Python Celery as the producer for a Celeriac worker: send_task for each example task, then
AsyncResult.get(), as a Python team would. Prints one line per check; exits 1 at the first failure.

Run by the tests with CELERIAC_BROKER_URL / CELERIAC_RESULT_BACKEND set and a Celeriac worker
serving queue `celery`.
"""
import sys
import time
from datetime import datetime, timezone

from celeriac_interop import app

TIMEOUT = 30


def check(name, condition, detail=""):
    if not condition:
        print(f"FAIL {name} {detail}", flush=True)
        sys.exit(1)
    print(f"ok {name}", flush=True)


def send(name, args=None, kwargs=None, **options):
    return app.send_task(f"celeriac.examples.{name}", args=args, kwargs=kwargs, **options)


check("add args", send("add", [2, 3]).get(timeout=TIMEOUT) == 5)
check("add kwargs", send("add", kwargs={"x": 2, "y": 3}).get(timeout=TIMEOUT) == 5)
check("mul", send("mul", [6, 7]).get(timeout=TIMEOUT) == 42)
check("xsum", send("xsum", [[1, 2, 3.5]]).get(timeout=TIMEOUT) == 6.5)
check("xsum kwargs", send("xsum", kwargs={"numbers": [4, 5]}).get(timeout=TIMEOUT) == 9)
check("sleep", send("sleep", [0.1]).get(timeout=TIMEOUT) == 0.1)
check("noop", send("noop").get(timeout=TIMEOUT) is None)
check("priority", send("mul", [3, 3], priority=9).get(timeout=TIMEOUT) == 9)

failing = send("fail", ["boom from swift"])
try:
    failing.get(timeout=TIMEOUT)
    check("fail raises", False, "no exception")
except ValueError as error:
    check("fail raises ValueError", str(error) == "boom from swift", repr(error))
check("fail state", failing.state == "FAILURE")

progress = send("progress", [4])
seen = None
deadline = time.time() + TIMEOUT
while time.time() < deadline and seen is None:
    if progress.state == "PROGRESS":
        seen = progress.info
    else:
        time.sleep(0.02)
check("progress observed", seen is not None and seen.get("total") == 4 and 0 <= seen.get("current") < 4, repr(seen))
check("progress result", progress.get(timeout=TIMEOUT) == 4)

sent_at = datetime.now(timezone.utc)
delayed = send("add", [1, 1], countdown=2)
check("countdown result", delayed.get(timeout=TIMEOUT) == 2)
check("countdown honoured", (delayed.date_done - sent_at).total_seconds() >= 1.9, repr(delayed.date_done))

expired = send("add", [1, 1], expires=-1)
try:
    expired.get(timeout=TIMEOUT)
    check("expired revoked", False, "no exception")
except Exception as error:
    check("expired revoked", expired.state == "REVOKED", repr(error))

many = [send("add", [i, i]) for i in range(200)]
check("200 at once", [r.get(timeout=TIMEOUT) for r in many] == [2 * i for i in range(200)])
print("done", flush=True)
