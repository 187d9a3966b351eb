"""A minimal fast worker in Python (redis-py only, for issue #31's probe): BRPOP from `celery`,
then SET + PUBLISH a SUCCESS result as Celery's redis backend does. With it, Celery's client
shows the same latency tail as with Celeriac's worker: the tail comes from the client.

    URL=redis://127.0.0.1:6379/0 .venv/bin/python Benchmarks/python/fast_python_worker.py SECONDS
    LAG_MS=3 ... : publish at once, SET the key 3 ms later (the remedy probe: the client's first
    GET misses, so it drains its pub/sub socket on every trip and no backlog builds)."""
import datetime
import json
import os
import sys
import threading
import time

import redis
r = redis.Redis.from_url(os.environ["URL"])
end = time.time() + float(sys.argv[1])
while time.time() < end:
    item = r.brpop(["celery"], timeout=1)
    if not item:
        continue
    envelope = json.loads(item[1])
    task_id = envelope["headers"]["id"]
    key = "celery-task-meta-" + task_id
    meta = json.dumps({"status": "SUCCESS", "result": 3, "traceback": None, "children": [],
                       "date_done": datetime.datetime.utcnow().isoformat(), "task_id": task_id})
    if os.environ.get("LAG_MS"):
        # Remedy probe: publish now, make the key visible a moment later, so that the
        # client's first GET misses and it drains its pub/sub socket on every trip.
        r.publish(key, meta)
        threading.Timer(float(os.environ["LAG_MS"]) / 1000, r.set, (key, meta), {"ex": 86400}).start()
    else:
        with r.pipeline(transaction=False) as p:
            p.set(key, meta, ex=86400).publish(key, meta).execute()
