"""Flower watching a Celeriac worker: waits until Flower (at 127.0.0.1:PORT, unauthenticated API)
shows WORKER online from its heartbeats, sends add(2, 3) and fail("flower boom") with Python
Celery, and waits until Flower's task list has them with the right states and fields. Prints one
line per check; exits 1 at the first failure.

Usage: python flower_check.py PORT WORKER   (CELERIAC_BROKER_URL / CELERIAC_RESULT_BACKEND set)
"""
import json
import sys
import time
import urllib.request

from celeriac_interop import app

PORT, WORKER = int(sys.argv[1]), sys.argv[2]
DEADLINE = time.time() + 90


def check(name, condition, detail=""):
    if not condition:
        print(f"FAIL {name} {detail}", flush=True)
        sys.exit(1)
    print(f"ok {name}", flush=True)


def api(path):
    with urllib.request.urlopen(f"http://127.0.0.1:{PORT}{path}", timeout=5) as response:
        return json.loads(response.read())


def wait_for(name, probe):
    last = None
    while time.time() < DEADLINE:
        try:
            last = probe()
            if last:
                return last
        except Exception as error:  # Flower still starting
            last = repr(error)
        time.sleep(0.25)
    check(name, False, repr(last)[:1500])


wait_for("flower sees the worker online", lambda: api("/api/workers?status=true").get(WORKER) is True)
added = app.send_task("celeriac.examples.add", args=[2, 3])
failed = app.send_task("celeriac.examples.fail", args=["flower boom"])
check("add result", added.get(timeout=30) == 5)


def tasks_done():
    tasks = api("/api/tasks")
    a, f = tasks.get(added.id), tasks.get(failed.id)
    if a and f and a.get("state") == "SUCCESS" and f.get("state") == "FAILURE":
        return tasks
    return None


tasks = wait_for("flower lists both tasks", tasks_done)
a, f = tasks[added.id], tasks[failed.id]
check("task name", a.get("name") == "celeriac.examples.add", a)
check("task result", a.get("result") == "5", a)
check("task worker", a.get("worker") == WORKER, a)
check("task times", a.get("received") and a.get("started") and a.get("succeeded"), a)
check("failure exception", f.get("exception") == "ValueError('flower boom')", f)
info = api(f"/api/task/info/{added.id}")
check("task info", info.get("state") == "SUCCESS" and info.get("args") == "[2, 3]", info)
print("done", flush=True)
