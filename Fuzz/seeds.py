#!/usr/bin/env python3
"""Writes the fuzzing seeds into Fuzz/Corpus/: every captured Celery message of the fixtures (as
captured, and with its body un-base64ed so that mutations reach the body's JSON), the poison
messages of issue 25, and hand-written RESP replies. The fuzzer adds what it finds beside them
(scripts/fuzz.sh); seeds are named seed-*, so running this again replaces only them."""
import base64
import glob
import json
import os

root = os.path.dirname(os.path.abspath(__file__))
fixtures = os.path.join(root, "..", "Tests", "CeleriacTests", "Fixtures", "celery")


def write(kind, name, data):
    with open(os.path.join(root, "Corpus", kind, "seed-" + name), "wb") as out:
        out.write(data)


def messages():
    for path in sorted(glob.glob(os.path.join(fixtures, "*", "*.raw"))):
        raw = open(path, "rb").read()
        try:
            envelope = json.loads(raw)
        except ValueError:
            continue
        if not isinstance(envelope, dict) or "headers" not in envelope:
            continue
        name = os.path.basename(os.path.dirname(path)) + "-" + os.path.basename(path)
        yield name, envelope, raw


def main():
    for name, envelope, raw in messages():
        write("message", name, raw)
        properties = envelope.get("properties") or {}
        if properties.get("body_encoding") == "base64":
            plain = dict(envelope)
            plain["properties"] = {k: v for k, v in properties.items() if k != "body_encoding"}
            plain["body"] = base64.b64decode(envelope["body"]).decode("utf-8")
            write("message", "plain-" + name, json.dumps(plain).encode())

    def poison(name, headers=None, body=None):
        envelope = {
            "body": json.dumps(body if body is not None else [[1, 2], {}, {"callbacks": None, "errbacks": None, "chain": None, "chord": None}]),
            "content-encoding": "utf-8", "content-type": "application/json",
            "headers": {"lang": "py", "task": "celeriac.examples.add", "id": "7c1a5d6e-0000-4000-8000-000000000001",
                        "retries": 0, "timelimit": [None, None], **(headers or {})},
            "properties": {"delivery_info": {"exchange": "", "routing_key": "celery"}, "priority": 0,
                           "delivery_tag": "0b9f8e3c-0000-4000-8000-000000000002"},
        }
        write("message", "poison-" + name, json.dumps(envelope).encode())

    poison("timelimit", {"timelimit": [1e17, None]})
    poison("retries", {"retries": 2**63 - 1})
    poison("eta", {"eta": "99999-01-01T00:00:00+00:00", "expires": "0001-01-01T00:00:00"})
    poison("group-index", {"group": "g", "group_index": -1})
    step = {"task": "celeriac.examples.add", "args": [1], "kwargs": {}, "subtask_type": None, "immutable": False,
            "options": {"countdown": 1e300, "expires": 1e300, "time_limit": 1e300, "soft_time_limit": -1}}
    poison("chain-countdown", body=[[1, 2], {}, {"callbacks": [step], "errbacks": [step], "chain": [step], "chord": step}])
    protocol1 = {"task": "celeriac.examples.add", "id": "7c1a5d6e-0000-4000-8000-000000000003", "args": [1, 2],
                 "kwargs": {}, "retries": 0, "eta": None, "expires": None, "utc": True, "callbacks": [step],
                 "errbacks": None, "chord": None, "timelimit": [None, None]}
    envelope = {"body": base64.b64encode(json.dumps(protocol1).encode()).decode(), "content-type": "application/json",
                "content-encoding": "utf-8", "headers": {},
                "properties": {"body_encoding": "base64", "delivery_tag": "t", "delivery_info": {"routing_key": "celery"}}}
    write("message", "protocol1", json.dumps(envelope).encode())

    replies = {
        "simple": b"+OK\r\n", "error": b"-ERR unknown command 'x'\r\n", "integer": b":-9223372036854775808\r\n",
        "bulk": b"$5\r\nhello\r\n", "null-bulk": b"$-1\r\n", "null-array": b"*-1\r\n", "empty-array": b"*0\r\n",
        "nested": b"*3\r\n$3\r\nfoo\r\n*2\r\n:1\r\n*1\r\n+x\r\n$-1\r\n",
        "pipeline": b"+OK\r\n:1\r\n$1\r\na\r\n*1\r\n$4\r\nbody\r\n",
        "pubsub": b"*3\r\n$7\r\nmessage\r\n$13\r\nceleryev.test\r\n$2\r\n{}\r\n",
        "huge-bulk": b"$999999999999\r\n", "huge-array": b"*2147483647\r\n", "deep": b"*1\r\n" * 40 + b":1\r\n",
        "bad-length": b"$abc\r\n", "truncated": b"*2\r\n$3\r\nfo",
    }
    for name, data in replies.items():
        write("resp", name, data)


if __name__ == "__main__":
    main()
