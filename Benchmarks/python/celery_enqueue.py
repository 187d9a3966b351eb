"""Celery's side of `celeriac-bench enqueue`: N apply_async calls of a no-op task, timed in-process.

Usage: python celery_enqueue.py BROKER_URL BACKEND_URL N
Prints one JSON line: {"default": rate, "ignore_result": rate} in tasks per second, where
"default" is apply_async as a typical app calls it (the Redis result backend subscribes to each
task's result channel) and "ignore_result" is apply_async(ignore_result=True) (no subscription).
"""
import json
import sys
import time

from celery import Celery

broker, backend, count = sys.argv[1], sys.argv[2], int(sys.argv[3])
app = Celery("celeriac_bench", broker=broker, backend=backend)
app.conf.update(task_serializer="json", result_serializer="json", accept_content=["json"])


@app.task(name="celeriac.examples.noop")
def noop():
    return None


def rate(**options):
    noop.apply_async(**options)  # connect and declare the queue outside the timing
    start = time.perf_counter()
    for _ in range(count):
        noop.apply_async(**options)
    return count / (time.perf_counter() - start)


print(json.dumps({"default": rate(), "ignore_result": rate(ignore_result=True)}))
