"""The Python side of `celeriac-bench job --python`: the same validation and analysis jobs written
for Celery two ways, over the same JSON Lines file.

- "seed": the pattern of the users' design notes (shared/seeds): map tasks return every item's
  result, report PROGRESS every 100 items, and the chord callback joins all of them;
- "summary": map tasks return per-partition summaries (counts, sums, a log-bucket histogram for
  percentiles), the callback merges them.

Worker:   python -m celery -A celery_job_bench worker -P prefork -c 2 ...
Producer: python celery_job_bench.py PATTERN FUNCTION PATH PARTITIONS
          (prints {"seconds": submit to result, "items": n})
Broker and backend come from CELERIAC_BROKER_URL / CELERIAC_RESULT_BACKEND.
"""
import json
import math
import os
import sys
import time

from celery import Celery, chord

app = Celery("celery_job_bench", broker=os.environ["CELERIAC_BROKER_URL"], backend=os.environ["CELERIAC_RESULT_BACKEND"])
app.conf.update(
    task_serializer="json", result_serializer="json", accept_content=["json"], worker_hijack_root_logger=False,
    broker_connection_retry_on_startup=True, worker_prefetch_multiplier=1, result_expires=3600,
)

CATEGORIES = {"books", "electronics", "garden", "grocery", "toys", "travel"}
FIELDS = ["age", "score", "amount"]


def lines(path, start, end):
    """The lines that begin in [start, end), as Celeriac's map tasks read them."""
    with open(path, "rb") as handle:
        if start > 0:
            handle.seek(start - 1)
            handle.readline()
        while handle.tell() < end:
            line = handle.readline()
            if not line:
                return
            yield line


def is_email(text):
    if not isinstance(text, str) or " " in text or text.count("@") != 1:
        return False
    local, domain = text.split("@")
    return bool(local) and "." in domain[1:-1]


def validate(item):
    """The failed rules of one item (the same rules as the Celeriac benchmark's)."""
    failed = []
    email = item.get("email")
    if email is None:
        failed.append("email.required")
    elif not is_email(email):
        failed.append("email.format")
    age = item.get("age")
    if age is not None and (not isinstance(age, int) or isinstance(age, bool)):
        failed.append("age.type")
    elif age is not None and not 18 <= age <= 120:
        failed.append("age.min" if age < 18 else "age.max")
    name = item.get("name")
    if name is None:
        failed.append("name.required")
    elif not 1 <= len(name) <= 80:
        failed.append("name.length")
    category = item.get("category")
    if category is not None and category not in CATEGORIES:
        failed.append("category.one_of")
    return failed


def numbers(item):
    return {field: item[field] for field in FIELDS
            if isinstance(item.get(field), (int, float)) and not isinstance(item.get(field), bool)}


@app.task(bind=True, name="bench.seed.map")
def seed_map(self, path, start, end, function):
    results = []
    for index, line in enumerate(lines(path, start, end)):
        try:
            item = json.loads(line)
        except ValueError:
            results.append({"error": "not valid JSON"})
            continue
        if function == "validation":
            results.append({"id": item.get("id"), "errors": validate(item)})
        else:
            results.append({"id": item.get("id"), "values": numbers(item)})
        if index % 100 == 0:
            self.update_state(state="PROGRESS", meta={"processed": index})
    return results


@app.task(name="bench.seed.reduce")
def seed_reduce(partials, function):
    everything = [result for partial in partials for result in partial]
    if function == "validation":
        invalid = sum(1 for result in everything if result.get("errors"))
        return {"items": len(everything), "invalid": invalid}
    out = {}
    for field in FIELDS:
        values = sorted(result["values"][field] for result in everything if field in result.get("values", {}))
        n = len(values)
        mean = sum(values) / n
        out[field] = {"count": n, "mean": mean, "stddev": math.sqrt(sum((v - mean) ** 2 for v in values) / n),
                      "p50": values[int(0.5 * (n - 1))], "p90": values[int(0.9 * (n - 1))], "p99": values[int(0.99 * (n - 1))]}
    return {"items": len(everything), "fields": out}


GAMMA = 1.01 / 0.99


def bucket(value):
    return int(math.ceil(math.log(value) / math.log(GAMMA))) if value > 1e-9 else None


@app.task(bind=True, name="bench.summary.map")
def summary_map(self, path, start, end, function):
    items = failed = invalid = 0
    stats = {field: {"n": 0, "sum": 0.0, "sq": 0.0, "min": None, "max": None, "buckets": {}} for field in FIELDS}
    for line in lines(path, start, end):
        items += 1
        try:
            item = json.loads(line)
        except ValueError:
            failed += 1
            continue
        if function == "validation":
            invalid += bool(validate(item))
            continue
        for field, value in numbers(item).items():
            entry = stats[field]
            entry["n"] += 1
            entry["sum"] += value
            entry["sq"] += value * value
            entry["min"] = value if entry["min"] is None else min(entry["min"], value)
            entry["max"] = value if entry["max"] is None else max(entry["max"], value)
            key = str(bucket(value))
            entry["buckets"][key] = entry["buckets"].get(key, 0) + 1
        if items % 10000 == 0:
            self.update_state(state="PROGRESS", meta={"processed": items})
    return {"items": items, "failed": failed, "invalid": invalid, "stats": stats}


@app.task(name="bench.summary.reduce")
def summary_reduce(partials, function):
    items = sum(p["items"] for p in partials)
    if function == "validation":
        return {"items": items, "invalid": sum(p["invalid"] for p in partials)}
    out = {}
    for field in FIELDS:
        n = sum(p["stats"][field]["n"] for p in partials)
        total = sum(p["stats"][field]["sum"] for p in partials)
        squares = sum(p["stats"][field]["sq"] for p in partials)
        buckets = {}
        for p in partials:
            for key, count in p["stats"][field]["buckets"].items():
                buckets[key] = buckets.get(key, 0) + count
        mean = total / n
        out[field] = {"count": n, "mean": mean, "stddev": math.sqrt(max(squares / n - mean * mean, 0))}
        ordered = sorted(((int(k) if k != "None" else -10 ** 9), c) for k, c in buckets.items())
        for name, q in (("p50", 0.5), ("p90", 0.9), ("p99", 0.99)):
            rank, seen = q * (n - 1), 0
            for key, count in ordered:
                seen += count
                if seen > rank:
                    out[field][name] = 0.0 if key == -10 ** 9 else 2 * GAMMA ** key / (GAMMA + 1)
                    break
    return {"items": items, "fields": out}


if __name__ == "__main__":
    pattern, function, path, partitions = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
    size = os.path.getsize(path)
    mapper, reducer = (seed_map, seed_reduce) if pattern == "seed" else (summary_map, summary_reduce)
    start = time.perf_counter()
    header = [mapper.s(path, size * i // partitions, size * (i + 1) // partitions, function) for i in range(partitions)]
    result = chord(header, reducer.s(function)).apply_async().get(timeout=7200)
    print(json.dumps({"seconds": time.perf_counter() - start, "items": result["items"]}), flush=True)
