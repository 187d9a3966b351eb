"""Issue #31's probe: N sequential `send_task(...).get()` round trips of Celery 5.7's own client
against whatever worker serves the `celery` queue, counting for each trip how many pub/sub
messages Celery's result consumer read (`ResultConsumer._drain_one` calls). A trip whose result
the first GET found reads none; a slow trip reads the backlog of every such trip before it.

    URL=redis://127.0.0.1:6379/0 .venv/bin/python Benchmarks/python/celery_backlog_probe.py 4000

Prints one JSON line: p50/p99/max in ms, trips over 10 ms, trips read by the GET, and the first
slow trips as [ms, messages read]."""
import json, os, sys, time
from celery import Celery
from celery.backends import redis as celery_redis

url = os.environ["URL"]
app = Celery("rt", broker=url, backend=url)
app.conf.update(task_serializer="json", result_serializer="json", accept_content=["json"])
count = [0]
original = celery_redis.ResultConsumer._drain_one
def counted(self, pubsub, timeout):
    count[0] += 1
    return original(self, pubsub, timeout)
celery_redis.ResultConsumer._drain_one = counted

n = int(sys.argv[1])
app.send_task("celeriac.examples.add", args=(1, 2)).get(timeout=10)
trips, drains = [], []
for i in range(n):
    count[0] = 0
    t0 = time.perf_counter()
    app.send_task("celeriac.examples.add", args=(1, 2)).get(timeout=10)
    trips.append((time.perf_counter() - t0) * 1000)
    drains.append(count[0])
hits = sum(1 for d in drains if d == 0)
slow = [(round(t, 1), d) for t, d in zip(trips, drains) if t > 10]
s = sorted(trips)
print(json.dumps({"p50": round(s[n // 2], 3), "p99": round(s[int(n * 0.99)], 3), "max": round(s[-1], 1),
                  "over10": len(slow), "trips_read_by_get": hits, "slow_trips_ms_and_messages_read": slow[:25]}))
