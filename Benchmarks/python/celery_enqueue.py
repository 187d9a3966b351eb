"""Celery's side of `celeriac-bench enqueue`: timed apply_async loops of a no-op task, on request.

Usage: python celery_enqueue.py BROKER_URL BACKEND_URL

The benchmark drives this script through the broker's Redis so that Celery's runs and Celeriac's
alternate in short pairs: it pushes "default N", "ignore_result N" or "stop" onto the list
`celeriac.bench.control`; each run's rate (tasks per second) is pushed onto
`celeriac.bench.reply`. "default" is apply_async as a typical app calls it (the Redis result
backend subscribes to each task's result channel), "ignore_result" is
apply_async(ignore_result=True) (no subscription).
"""
import sys
import time

import redis
from celery import Celery

broker, backend = sys.argv[1], sys.argv[2]
app = Celery("celeriac_bench", broker=broker, backend=backend)
app.conf.update(task_serializer="json", result_serializer="json", accept_content=["json"])
control = redis.Redis.from_url(broker)


@app.task(name="celeriac.examples.noop")
def noop():
    return None


def rate(count, **options):
    start = time.perf_counter()
    for _ in range(count):
        noop.apply_async(**options)
    return count / (time.perf_counter() - start)


noop.apply_async()  # connect and declare the queue outside the timing
noop.apply_async(ignore_result=True)
while True:
    _, request = control.blpop("celeriac.bench.control")
    kind, _, count = request.decode().partition(" ")
    if kind == "stop":
        break
    options = {"ignore_result": True} if kind == "ignore_result" else {}
    control.rpush("celeriac.bench.reply", str(rate(int(count), **options)))
