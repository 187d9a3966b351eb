"""The Celery app of `celeriac-bench worker` and `chord`: tasks under Celeriac's example names.

Worker:   python -m celery -A celery_bench_app worker -P solo|prefork|threads ...
Producer: python celery_bench_app.py roundtrip N   (prints {"p50": ms, "p90", "p99", "p999", "max", "count"})
          python celery_bench_app.py chord N ROUNDS   (prints {"seconds": [submit to body result, ...]})
Broker and backend come from CELERIAC_BROKER_URL / CELERIAC_RESULT_BACKEND.
"""
import json
import math
import os
import sys
import time

from celery import Celery

app = Celery("celery_bench_app", broker=os.environ["CELERIAC_BROKER_URL"], backend=os.environ["CELERIAC_RESULT_BACKEND"])
app.conf.update(
    task_serializer="json", result_serializer="json", accept_content=["json"], worker_hijack_root_logger=False,
    broker_connection_retry_on_startup=True,
)


@app.task(name="celeriac.examples.noop")
def noop():
    return None


@app.task(name="celeriac.examples.add")
def add(x, y):
    return x + y


@app.task(name="celeriac.examples.xsum")
def xsum(numbers):
    return sum(numbers)


if __name__ == "__main__" and sys.argv[1] == "chord":
    from celery import chord

    size, rounds = int(sys.argv[2]), int(sys.argv[3])
    expected = sum(range(size))
    chord([add.s(0, 0)], xsum.s()).apply_async().get(timeout=120)  # connections and worker warm
    seconds = []
    for _ in range(rounds):
        start = time.perf_counter()
        total = chord([add.s(i, 0) for i in range(size)], xsum.s()).apply_async().get(timeout=600)
        seconds.append(time.perf_counter() - start)
        assert total == expected, total
    print(json.dumps({"seconds": seconds}))

if __name__ == "__main__" and sys.argv[1] == "roundtrip":
    count = int(sys.argv[2])
    noop.delay().get(timeout=60)  # connect, subscribe machinery, worker warm
    latencies = []
    for _ in range(count):
        start = time.perf_counter()
        noop.delay().get(timeout=60)
        latencies.append((time.perf_counter() - start) * 1000)
    latencies.sort()

    def rank(fraction):  # nearest rank, as LatencySummary.swift
        return latencies[min(len(latencies) - 1, max(0, math.ceil(len(latencies) * fraction) - 1))]

    print(json.dumps({"p50": rank(0.5), "p90": rank(0.9), "p99": rank(0.99), "p999": rank(0.999),
                      "max": latencies[-1], "count": len(latencies)}))
