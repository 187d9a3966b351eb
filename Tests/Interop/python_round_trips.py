"""Issue #31's check: sequential `send_task(...).get()` round trips of Celery 5.7's own client,
counting for each trip how many pub/sub messages Celery's result consumer read
(`ResultConsumer._drain_one` calls) and whether the result came from its first GET of the key.

    python python_round_trips.py TRIPS PAUSE_MS

PAUSE_MS is slept between sending and `get()`, so that the worker has finished before the client
reads the key: Celery's client then finds the result by its GET and leaves its pub/sub replies
unread, unless the worker publishes before it stores. Prints one JSON line."""
import json
import sys
import time

from celery.backends import redis as celery_redis

from celeriac_interop import app

drained = [0]
original = celery_redis.ResultConsumer._drain_one


def counted(self, pubsub, timeout):
    drained[0] += 1
    return original(self, pubsub, timeout)


celery_redis.ResultConsumer._drain_one = counted

trips, pause = int(sys.argv[1]), float(sys.argv[2]) / 1000
assert app.send_task("celeriac.examples.add", args=(1, 2)).get(timeout=30) == 3
times, drains = [], []
for _ in range(trips):
    drained[0] = 0
    start = time.perf_counter()
    result = app.send_task("celeriac.examples.add", args=(1, 2))
    time.sleep(pause)
    assert result.get(timeout=30) == 3
    times.append((time.perf_counter() - start - pause) * 1000)
    drains.append(drained[0])
print(json.dumps({
    "trips": trips,
    "read_by_get": sum(1 for count in drains if count == 0),
    "most_messages_read": max(drains),
    "slowest_ms": round(max(times), 2),
}))
