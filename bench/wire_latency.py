#!/usr/bin/python3
"""Produce->consume latency over the Kafka protocol with librdkafka (confluent_kafka).

usage: wire_latency.py BOOTSTRAP TOPIC RATE SECONDS
Produces RATE records/s of 100 bytes for SECONDS (each carries its send time) while a consumer
reads them; prints one JSON line with latency percentiles in ms.
"""
import json
import struct
import sys
import threading
import time

from confluent_kafka import Consumer, Producer, TopicPartition

boot, topic, rate, seconds = sys.argv[1], sys.argv[2], int(sys.argv[3]), float(sys.argv[4])
total = int(rate * seconds)
# Nagle off on the client side too (librdkafka 2.0 keeps it on by default), as latency tests do.
base = {"bootstrap.servers": boot, "broker.address.family": "v4", "socket.nagle.disable": True}

c = Consumer({**base, "group.id": "lat-" + topic, "enable.auto.commit": False, "fetch.wait.max.ms": 100,
              "fetch.min.bytes": 1, "isolation.level": "read_uncommitted"})
c.assign([TopicPartition(topic, 0, 0)])
p = Producer({**base, "linger.ms": 0, "acks": 1, "enable.idempotence": False})
pad = b"x" * 92

# Warm up: connections, metadata and the fetch loop are set up before measuring, so the first
# paced records do not wait for them. Warm-up records carry a negative send time and are skipped.
warm_deadline = time.time() + 30
warmed = False
while not warmed and time.time() < warm_deadline:
    p.produce(topic, partition=0, value=struct.pack(">d", -1.0) + pad)
    p.flush(5)
    m = c.poll(0.5)
    warmed = m is not None and not m.error()
while c.poll(0.2) is not None:
    pass


def produce():
    start = time.perf_counter()
    for i in range(total):
        target = start + i / rate
        while True:
            now = time.perf_counter()
            if now >= target:
                break
            if target - now > 0.0005:
                time.sleep(target - now - 0.0003)
        p.produce(topic, partition=0, value=struct.pack(">d", time.perf_counter()) + pad)
        p.poll(0)
    p.flush(30)


t = threading.Thread(target=produce)
t.start()
lat = []
deadline = time.time() + seconds + 30
while len(lat) < total and time.time() < deadline:
    m = c.poll(0.05)  # returns as soon as one record is there (consume() would wait for a full batch)
    if m is None or m.error():
        continue
    now = time.perf_counter()
    sent = struct.unpack(">d", m.value()[:8])[0]
    if sent >= 0:
        lat.append((now - sent) * 1000.0)
t.join()
c.close()
lat.sort()
if not lat:
    print(json.dumps({"error": "no records consumed"}))
    sys.exit(1)


def pct(q):
    return lat[min(len(lat) - 1, int(q * len(lat)))]


print(json.dumps({"records": len(lat), "rate": rate, "p50_ms": round(pct(0.50), 3), "p99_ms": round(pct(0.99), 3),
                  "p999_ms": round(pct(0.999), 3), "max_ms": round(lat[-1], 3)}))
