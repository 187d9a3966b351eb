"""A Python Celery app for Celeriac's interop tests: the example tasks under Celeriac's names.

Run by the tests as:
    python -m celery -A celeriac_interop worker -P solo -Q celery,interop.q ...
with CELERIAC_BROKER_URL and CELERIAC_RESULT_BACKEND naming the test's private redis-server.
"""
import os
import time

from celery import Celery

app = Celery(
    "celeriac_interop",
    broker=os.environ["CELERIAC_BROKER_URL"],
    backend=os.environ["CELERIAC_RESULT_BACKEND"],
)
app.conf.update(
    task_serializer="json",
    result_serializer="json",
    accept_content=["json"],
    worker_prefetch_multiplier=1,
    broker_connection_retry_on_startup=True,
    worker_hijack_root_logger=False,
    result_extended=True,
)


@app.task(name="celeriac.examples.add")
def add(x, y):
    return x + y


@app.task(name="celeriac.examples.mul")
def mul(x, y):
    return x * y


@app.task(name="celeriac.examples.xsum")
def xsum(numbers):
    return sum(numbers)


@app.task(name="celeriac.examples.sleep")
def sleep(seconds):
    time.sleep(seconds)
    return seconds


@app.task(name="celeriac.examples.fail")
def fail(message):
    raise ValueError(message)


@app.task(name="celeriac.examples.progress", bind=True)
def progress(self, steps):
    for step in range(steps):
        self.update_state(state="PROGRESS", meta={"current": step, "total": steps})
        time.sleep(0.3)
    return steps


@app.task(name="celeriac.examples.noop")
def noop():
    return None
