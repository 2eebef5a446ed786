#!/usr/bin/python3
"""Produce->consume latency over the Kafka protocol with librdkafka (confluent_kafka).

usage: wire_latency.py BOOTSTRAP TOPIC RATE SECONDS
Produces RATE records/s of 100 bytes for SECONDS (each carries its send time) from one process
while another consumes them; prints one JSON line with latency percentiles in ms.
The producer runs in its own (spawned) process so the two never share Python's GIL;
time.monotonic is CLOCK_MONOTONIC, comparable across processes of one machine.
"""
import json
import multiprocessing
import struct
import sys
import time

from confluent_kafka import OFFSET_END, Consumer, Producer, TopicPartition

PAD = b"x" * 92


def conf(boot):
    # Nagle off on the client side too (librdkafka 2.0 keeps it on by default), as latency tests do.
    return {"bootstrap.servers": boot, "broker.address.family": "v4", "socket.nagle.disable": True}


def produce(boot, topic, rate, total):
    p = Producer({**conf(boot), "linger.ms": 0, "acks": 1, "enable.idempotence": False})
    # connect and learn the partition leader before the clock starts
    p.produce(topic, partition=0, value=struct.pack(">d", -1.0) + PAD)
    p.flush(30)
    start = time.monotonic()
    sent = 0
    while sent < total:
        due = min(total, int((time.monotonic() - start) * rate) + 1)
        while sent < due:
            p.produce(topic, partition=0, value=struct.pack(">d", time.monotonic()) + PAD)
            sent += 1
        p.poll(0)
        time.sleep(0.001)
    p.flush(30)


def main():
    boot, topic, rate, seconds = sys.argv[1], sys.argv[2], int(sys.argv[3]), float(sys.argv[4])
    total = int(rate * seconds)
    c = Consumer({**conf(boot), "group.id": "lat-" + topic, "enable.auto.commit": False, "fetch.wait.max.ms": 100,
                  "fetch.min.bytes": 1, "isolation.level": "read_uncommitted"})
    # from the end: records of earlier runs are not part of this measurement
    c.assign([TopicPartition(topic, 0, OFFSET_END)])

    # Warm up: connections, metadata and the fetch loop exist before measuring. Warm-up records
    # carry a negative send time and are skipped.
    warm = Producer({**conf(boot), "linger.ms": 0})
    deadline = time.time() + 30
    warmed = False
    while not warmed and time.time() < deadline:
        warm.produce(topic, partition=0, value=struct.pack(">d", -1.0) + PAD)
        warm.flush(5)
        m = c.poll(0.5)
        warmed = m is not None and not m.error()
    while c.poll(0.2) is not None:
        pass

    proc = multiprocessing.get_context("spawn").Process(target=produce, args=(boot, topic, rate, total))
    proc.start()
    lat = []
    deadline = time.time() + seconds + 60
    while len(lat) < total and time.time() < deadline:
        m = c.poll(0.05)  # returns as soon as one record is there (consume() waits for a full batch)
        if m is None or m.error():
            continue
        now = time.monotonic()
        sent = struct.unpack(">d", m.value()[:8])[0]
        if sent >= 0:
            lat.append((now - sent) * 1000.0)
    proc.join()
    c.close()
    if not lat:
        print(json.dumps({"error": "no records consumed"}))
        sys.exit(1)
    lat.sort()

    def pct(q):
        return lat[min(len(lat) - 1, int(q * len(lat)))]

    print(json.dumps({"records": len(lat), "rate": rate, "p50_ms": round(pct(0.50), 3), "p99_ms": round(pct(0.99), 3),
                      "p999_ms": round(pct(0.999), 3), "max_ms": round(lat[-1], 3)}))


if __name__ == "__main__":
    main()
