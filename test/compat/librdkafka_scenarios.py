#!/usr/bin/python3
"""librdkafka (confluent_kafka) scenarios against a Courant broker.

usage: librdkafka_scenarios.py BOOTSTRAP SCENARIO
Prints one JSON line with the scenario's findings; exits 1 with a message on failure.
"""
import json
import sys
import time
import uuid

from confluent_kafka import Consumer, KafkaException, Producer, TopicPartition
from confluent_kafka.admin import AdminClient, NewTopic

BOOT = sys.argv[1]
SCENARIO = sys.argv[2]
BASE = {"bootstrap.servers": BOOT, "broker.address.family": "v4"}


def fail(msg):
    print(json.dumps({"ok": False, "error": msg}))
    sys.exit(1)


def topic(name, partitions):
    t = f"{name}-{uuid.uuid4().hex[:8]}"
    admin = AdminClient(BASE)
    fs = admin.create_topics([NewTopic(t, num_partitions=partitions, replication_factor=1)])
    for f in fs.values():
        f.result(10)
    return t


def consume_all(conf, topics, expected, timeout=30):
    c = Consumer({**BASE, "auto.offset.reset": "earliest", "enable.auto.commit": False, **conf})
    c.subscribe(topics)
    out = []
    deadline = time.time() + timeout
    while len(out) < expected and time.time() < deadline:
        m = c.poll(0.5)
        if m is None:
            continue
        if m.error():
            fail(f"consumer error {m.error()}")
        out.append(m)
    # a little more to catch extras
    end = time.time() + 1.0
    while time.time() < end:
        m = c.poll(0.2)
        if m is not None and not m.error():
            out.append(m)
    c.close()
    return out


def idempotent():
    t = topic("idem", 4)
    p = Producer({**BASE, "enable.idempotence": True, "linger.ms": 5})
    n = 2000
    for i in range(n):
        p.produce(t, key=str(i % 17).encode(), value=f"v{i}".encode())
    if p.flush(30) != 0:
        fail("idempotent flush did not complete")
    msgs = consume_all({"group.id": "g-" + t}, [t], n)
    values = [m.value().decode() for m in msgs]
    if len(values) != n or len(set(values)) != n:
        fail(f"expected {n} distinct records, got {len(values)} ({len(set(values))} distinct)")
    # per key order is kept
    by_key = {}
    for m in msgs:
        by_key.setdefault(m.key(), []).append(int(m.value().decode()[1:]))
    for k, vs in by_key.items():
        if vs != sorted(vs):
            fail(f"key {k} out of order")
    return {"records": n}


def groups():
    t = topic("grp", 4)
    p = Producer(BASE)
    n = 400
    for i in range(n):
        p.produce(t, partition=i % 4, value=f"v{i}".encode())
    p.flush(30)
    gid = "g-" + t
    assigned = {1: set(), 2: set()}
    conf = {**BASE, "group.id": gid, "auto.offset.reset": "earliest", "enable.auto.commit": False,
            "session.timeout.ms": 6000, "heartbeat.interval.ms": 500}
    c1 = Consumer(conf)
    c2 = Consumer(conf)
    c1.subscribe([t], on_assign=lambda c, ps: assigned[1].update(x.partition for x in ps))
    c2.subscribe([t], on_assign=lambda c, ps: assigned[2].update(x.partition for x in ps))
    seen = {}
    deadline = time.time() + 45
    while len(seen) < n and time.time() < deadline:
        for idx, c in ((1, c1), (2, c2)):
            m = c.poll(0.1)
            if m is None or m.error():
                continue
            seen[m.value()] = idx
            c.commit(message=m, asynchronous=False)
    both = len(c1.assignment()) > 0 and len(c2.assignment()) > 0
    a1 = sorted(x.partition for x in c1.assignment())
    a2 = sorted(x.partition for x in c2.assignment())
    committed = c1.committed([TopicPartition(t, i) for i in range(4)], timeout=10)
    c1.close()
    c2.close()
    if len(seen) != n:
        fail(f"group consumed {len(seen)} of {n}")
    if not both or set(a1) & set(a2) or len(a1) + len(a2) != 4:
        fail(f"partitions not split: {a1} / {a2}")
    total = sum(x.offset for x in committed if x.offset >= 0)
    if total != n:
        fail(f"committed offsets sum {total}, expected {n}: {[(x.partition, x.offset) for x in committed]}")
    return {"consumer1": a1, "consumer2": a2, "committed_sum": total}


def transactions():
    t = topic("txn", 2)
    p = Producer({**BASE, "transactional.id": "tx-" + t})
    p.init_transactions(15)
    p.begin_transaction()
    for i in range(10):
        p.produce(t, partition=i % 2, value=f"aborted{i}".encode())
    p.flush(10)
    p.abort_transaction(15)
    p.begin_transaction()
    for i in range(10):
        p.produce(t, partition=i % 2, value=f"committed{i}".encode())
    p.commit_transaction(15)
    rc = consume_all({"group.id": "rc-" + t, "isolation.level": "read_committed"}, [t], 10, timeout=20)
    ru = consume_all({"group.id": "ru-" + t, "isolation.level": "read_uncommitted"}, [t], 20, timeout=20)
    rcv = sorted(m.value().decode() for m in rc)
    if len(rc) != 10 or any(v.startswith("aborted") for v in rcv):
        fail(f"read_committed saw {rcv}")
    if len(ru) != 20:
        fail(f"read_uncommitted saw {len(ru)} records, expected 20")
    return {"read_committed": len(rc), "read_uncommitted": len(ru)}


def consume_transform_produce():
    src = topic("ctp-in", 2)
    dst = topic("ctp-out", 2)
    p = Producer(BASE)
    n = 100
    for i in range(n):
        p.produce(src, partition=i % 2, value=str(i).encode())
    p.flush(10)
    gid = "ctp-" + src
    c = Consumer({**BASE, "group.id": gid, "auto.offset.reset": "earliest", "enable.auto.commit": False,
                  "isolation.level": "read_committed"})
    c.subscribe([src])
    tp = Producer({**BASE, "transactional.id": "ctp-tx-" + src})
    tp.init_transactions(15)
    done = 0
    aborted_once = False
    deadline = time.time() + 60
    while done < n and time.time() < deadline:
        msgs = c.consume(num_messages=20, timeout=1.0)
        msgs = [m for m in msgs if not m.error()]
        if not msgs:
            continue
        tp.begin_transaction()
        for m in msgs:
            tp.produce(dst, partition=m.partition(), value=b"x" + m.value())
        offsets = {}
        for m in msgs:
            offsets[(m.topic(), m.partition())] = m.offset() + 1
        tp.send_offsets_to_transaction([TopicPartition(k[0], k[1], v) for k, v in offsets.items()],
                                       c.consumer_group_metadata(), 15)
        if not aborted_once:
            # abort the first batch: its outputs must vanish and its inputs be re-read
            tp.abort_transaction(15)
            aborted_once = True
            for (tpc, part), _ in offsets.items():
                committed = c.committed([TopicPartition(tpc, part)], timeout=10)[0].offset
                c.seek(TopicPartition(tpc, part, committed if committed >= 0 else 0))
            continue
        tp.commit_transaction(15)
        done += len(msgs)
    c.close()
    out = consume_all({"group.id": "check-" + dst, "isolation.level": "read_committed"}, [dst], n, timeout=20)
    vals = sorted(int(m.value()[1:]) for m in out)
    if vals != list(range(n)):
        fail(f"output has {len(vals)} records, duplicates or gaps: first {vals[:10]}")
    cc = Consumer({**BASE, "group.id": gid})
    committed = cc.committed([TopicPartition(src, 0), TopicPartition(src, 1)], timeout=10)
    cc.close()
    total = sum(x.offset for x in committed)
    if total != n:
        fail(f"committed input offsets sum {total}, expected {n}")
    return {"outputs": len(vals), "committed_sum": total}


def fencing():
    t = topic("fence", 1)
    tid = "fence-" + t
    a = Producer({**BASE, "transactional.id": tid})
    a.init_transactions(15)
    a.begin_transaction()
    a.produce(t, value=b"from-a")
    a.flush(10)
    b = Producer({**BASE, "transactional.id": tid})
    b.init_transactions(15)  # fences a (and aborts its open transaction)
    fenced = False
    try:
        a.produce(t, value=b"from-a-2")
        a.commit_transaction(15)
    except KafkaException as e:
        err = e.args[0]
        fenced = err.fatal() or "fenced" in str(err).lower() or "epoch" in str(err).lower()
    if not fenced:
        fail("the older producer was not fenced")
    b.begin_transaction()
    b.produce(t, value=b"from-b")
    b.commit_transaction(15)
    out = consume_all({"group.id": "f-" + t, "isolation.level": "read_committed"}, [t], 1, timeout=15)
    vals = [m.value() for m in out]
    if vals != [b"from-b"]:
        fail(f"read_committed after fencing saw {vals}")
    return {"fenced": True}


def offsets_for_times():
    t = topic("oft", 1)
    p = Producer(BASE)
    base = int(time.time() * 1000) - 100_000
    for i in range(10):
        p.produce(t, value=str(i).encode(), timestamp=base + i * 1000)
    p.flush(10)
    c = Consumer({**BASE, "group.id": "oft-" + t})
    res = c.offsets_for_times([TopicPartition(t, 0, base + 4500)], timeout=10)
    late = c.offsets_for_times([TopicPartition(t, 0, base + 999_999)], timeout=10)
    c.close()
    if res[0].offset != 5:
        fail(f"offsets_for_times({base + 4500}) = {res[0].offset}, expected 5")
    if late[0].offset != -1:
        fail(f"offsets_for_times after the last record = {late[0].offset}, expected -1 (end)")
    return {"offset": res[0].offset}


SCENARIOS = {
    "idempotent": idempotent,
    "groups": groups,
    "transactions": transactions,
    "consume_transform_produce": consume_transform_produce,
    "fencing": fencing,
    "offsets_for_times": offsets_for_times,
}

if __name__ == "__main__":
    try:
        result = SCENARIOS[SCENARIO]()
    except KafkaException as e:
        fail(f"KafkaException: {e}")
    print(json.dumps({"ok": True, **result}))
