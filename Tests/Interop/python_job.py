"""A Celeriac job built by Python Celery in the documented shape (README, "Jobs from Python
Celery"): a chord of `celeriac.jobs.map` tasks, one per byte range of a JSON Lines file, with
`celeriac.jobs.reduce` as the body, run by Celeriac workers. Prints the reduced result as JSON.

Run by the tests with CELERIAC_BROKER_URL / CELERIAC_RESULT_BACKEND, DATASET (the file), JOB_ID
and PARTITIONS set.
"""
import json
import os

from celery import chord

from celeriac_interop import app

path = os.environ["DATASET"]
job_id = os.environ["JOB_ID"]
partitions = int(os.environ["PARTITIONS"])
size = os.path.getsize(path)
params = {"fields": ["score", "amount"]}

# Any byte split works: each map task reads the lines that begin in its range.
header = [
    app.signature(
        "celeriac.jobs.map",
        kwargs={
            "job_id": job_id,
            "partition": index,
            "partitions": partitions,
            "dataset": {"format": "jsonl", "path": path, "start": size * index // partitions,
                        "end": size * (index + 1) // partitions},
            "function": "analysis",
            "params": params,
        },
    )
    for index in range(partitions)
]
body = app.signature("celeriac.jobs.reduce", kwargs={"job_id": job_id, "function": "analysis", "params": params})
result = chord(header, body).apply_async()
print(json.dumps(result.get(timeout=120)), flush=True)
