// Every table of /work/shared/spec/streams-semantics.md, reproduced through the TopologyTestDriver.
import assert from "node:assert/strict";
import { test } from "node:test";
import { Serdes } from "../../src/serde/index.ts";
import { JoinWindows, StreamsBuilder, TopologyTestDriver } from "../../src/streams/index.ts";

const S = Serdes.String;
const show = (l: string | null, r: string | null) => `[${l}, ${r}]`;

type Side = "L" | "R";
interface Row {
  ts: number;
  side: Side;
  value: string | null;
  inner: (string | null)[];
  left: (string | null)[];
  outer: (string | null)[];
}

// 1.4.1, rows 40+ as the spec's notes give them (Kafka's code: strictly greater than ts + 15 + 5).
const streamStreamRows: Row[] = [
  { ts: 1, side: "L", value: null, inner: [], left: [], outer: [] },
  { ts: 2, side: "R", value: null, inner: [], left: [], outer: [] },
  { ts: 3, side: "L", value: "A", inner: [], left: [], outer: [] },
  { ts: 4, side: "R", value: "a", inner: ["[A, a]"], left: ["[A, a]"], outer: ["[A, a]"] },
  { ts: 5, side: "L", value: "B", inner: ["[B, a]"], left: ["[B, a]"], outer: ["[B, a]"] },
  {
    ts: 6,
    side: "R",
    value: "b",
    inner: ["[A, b]", "[B, b]"],
    left: ["[A, b]", "[B, b]"],
    outer: ["[A, b]", "[B, b]"],
  },
  { ts: 7, side: "L", value: null, inner: [], left: [], outer: [] },
  { ts: 8, side: "R", value: null, inner: [], left: [], outer: [] },
  {
    ts: 9,
    side: "L",
    value: "C",
    inner: ["[C, a]", "[C, b]"],
    left: ["[C, a]", "[C, b]"],
    outer: ["[C, a]", "[C, b]"],
  },
  {
    ts: 10,
    side: "R",
    value: "c",
    inner: ["[A, c]", "[B, c]", "[C, c]"],
    left: ["[A, c]", "[B, c]", "[C, c]"],
    outer: ["[A, c]", "[B, c]", "[C, c]"],
  },
  { ts: 11, side: "R", value: null, inner: [], left: [], outer: [] },
  { ts: 12, side: "L", value: null, inner: [], left: [], outer: [] },
  { ts: 13, side: "R", value: null, inner: [], left: [], outer: [] },
  {
    ts: 14,
    side: "R",
    value: "d",
    inner: ["[A, d]", "[B, d]", "[C, d]"],
    left: ["[A, d]", "[B, d]", "[C, d]"],
    outer: ["[A, d]", "[B, d]", "[C, d]"],
  },
  {
    ts: 15,
    side: "L",
    value: "D",
    inner: ["[D, a]", "[D, b]", "[D, c]", "[D, d]"],
    left: ["[D, a]", "[D, b]", "[D, c]", "[D, d]"],
    outer: ["[D, a]", "[D, b]", "[D, c]", "[D, d]"],
  },
  { ts: 40, side: "L", value: "E", inner: [], left: [], outer: [] },
  { ts: 60, side: "L", value: "F", inner: [], left: [], outer: [] },
  { ts: 80, side: "R", value: "f", inner: [], left: ["[E, null]"], outer: ["[E, null]"] },
  { ts: 100, side: "L", value: "G", inner: [], left: ["[F, null]"], outer: ["[F, null]"] },
];

for (const mode of ["inner", "left", "outer"] as const) {
  test(`1.4.1 KStream-KStream ${mode} join (window 15, grace 5) matches the spec table row by row`, () => {
    const b = new StreamsBuilder();
    const l = b.stream("left", { keySerde: S, valueSerde: S });
    const r = b.stream("right", { keySerde: S, valueSerde: S });
    const w = JoinWindows.ofTimeDifferenceAndGrace(15, 5);
    const joined =
      mode === "inner"
        ? l.join(r, (a, c) => show(a, c), w)
        : mode === "left"
          ? l.leftJoin(r, (a, c) => show(a, c), w)
          : l.outerJoin(r, (a, c) => show(a, c), w);
    joined.to("out", { keySerde: S, valueSerde: S });
    const d = new TopologyTestDriver(b.build());
    const li = d.createInputTopic("left", S, S);
    const ri = d.createInputTopic("right", S, S);
    const out = d.createOutputTopic("out", S, S);
    for (const row of streamStreamRows) {
      (row.side === "L" ? li : ri).pipeInput("k", row.value, row.ts);
      assert.deepEqual(out.readValuesToList(), row[mode], `${mode} join at timestamp ${row.ts}`);
    }
  });
}

test("1.4.1 join results carry max(left, right) timestamps; non-joined results their own", () => {
  const b = new StreamsBuilder();
  b.stream("left", { keySerde: S, valueSerde: S })
    .leftJoin(
      b.stream("right", { keySerde: S, valueSerde: S }),
      show,
      JoinWindows.ofTimeDifferenceAndGrace(15, 5),
    )
    .to("out", { keySerde: S, valueSerde: S });
  const d = new TopologyTestDriver(b.build());
  const li = d.createInputTopic("left", S, S);
  const ri = d.createInputTopic("right", S, S);
  const out = d.createOutputTopic("out", S, S);
  li.pipeInput("k", "A", 3);
  ri.pipeInput("k", "a", 4);
  li.pipeInput("k", "B", 5);
  li.pipeInput("k", "E", 40);
  ri.pipeInput("k", "f", 80);
  assert.deepEqual(
    out.readRecordsToList().map((x) => [x.value, x.timestamp]),
    [
      ["[A, a]", 4],
      ["[B, a]", 5],
      ["[E, null]", 40],
    ],
  );
});

const tableRows: {
  ts: number;
  side: Side;
  value: string | null;
  inner: (string | null)[];
  left: (string | null)[];
  outer: (string | null)[];
}[] = [
  { ts: 1, side: "L", value: null, inner: [], left: [], outer: [] },
  { ts: 2, side: "R", value: null, inner: [], left: [], outer: [] },
  { ts: 3, side: "L", value: "A", inner: [], left: ["[A, null]"], outer: ["[A, null]"] },
  { ts: 4, side: "R", value: "a", inner: ["[A, a]"], left: ["[A, a]"], outer: ["[A, a]"] },
  { ts: 5, side: "L", value: "B", inner: ["[B, a]"], left: ["[B, a]"], outer: ["[B, a]"] },
  { ts: 6, side: "R", value: "b", inner: ["[B, b]"], left: ["[B, b]"], outer: ["[B, b]"] },
  { ts: 7, side: "L", value: null, inner: [null], left: [null], outer: ["[null, b]"] },
  { ts: 8, side: "R", value: null, inner: [], left: [], outer: [null] },
  { ts: 9, side: "L", value: "C", inner: [], left: ["[C, null]"], outer: ["[C, null]"] },
  { ts: 10, side: "R", value: "c", inner: ["[C, c]"], left: ["[C, c]"], outer: ["[C, c]"] },
  { ts: 11, side: "R", value: null, inner: [null], left: ["[C, null]"], outer: ["[C, null]"] },
  { ts: 12, side: "L", value: null, inner: [], left: [null], outer: [null] },
  { ts: 13, side: "R", value: null, inner: [], left: [], outer: [] },
  { ts: 14, side: "R", value: "d", inner: [], left: [], outer: ["[null, d]"] },
  { ts: 15, side: "L", value: "D", inner: ["[D, d]"], left: ["[D, d]"], outer: ["[D, d]"] },
];

for (const mode of ["inner", "left", "outer"] as const) {
  test(`1.4.2 KTable-KTable ${mode} equi-join matches the spec table (null = tombstone)`, () => {
    const b = new StreamsBuilder();
    const l = b.table("left", { keySerde: S, valueSerde: S });
    const r = b.table("right", { keySerde: S, valueSerde: S });
    const joined =
      mode === "inner"
        ? l.join(r, (a, c) => show(a, c))
        : mode === "left"
          ? l.leftJoin(r, (a, c) => show(a, c))
          : l.outerJoin(r, (a, c) => show(a, c));
    joined.toStream().to("out", { keySerde: S, valueSerde: S });
    const d = new TopologyTestDriver(b.build());
    const li = d.createInputTopic("left", S, S);
    const ri = d.createInputTopic("right", S, S);
    const out = d.createOutputTopic("out", S, S);
    for (const row of tableRows) {
      (row.side === "L" ? li : ri).pipeInput("k", row.value, row.ts);
      assert.deepEqual(out.readValuesToList(), row[mode], `${mode} table join at timestamp ${row.ts}`);
    }
  });
}

test("1.4.2 a materialized table-table join is queryable and its result timestamp is max of both sides", () => {
  const b = new StreamsBuilder();
  b.table("left", { keySerde: S, valueSerde: S })
    .join(b.table("right", { keySerde: S, valueSerde: S }), show, { storeName: "joined", valueSerde: S })
    .toStream()
    .to("out", { keySerde: S, valueSerde: S });
  const d = new TopologyTestDriver(b.build());
  d.createInputTopic("left", S, S).pipeInput("k", "A", 10);
  d.createInputTopic("right", S, S).pipeInput("k", "a", 4);
  assert.deepEqual(
    d
      .createOutputTopic("out", S, S)
      .readRecordsToList()
      .map((x) => [x.value, x.timestamp]),
    [["[A, a]", 10]],
  );
  assert.equal(d.getKeyValueStore<string, string>("joined").get("k"), "[A, a]");
});

for (const mode of ["inner", "left"] as const) {
  test(`1.4.3 KTable-KTable foreign-key ${mode} join matches the spec table`, () => {
    const N = Serdes.Json<number>();
    const b = new StreamsBuilder();
    const l = b.table<string, number>("left", { keySerde: S, valueSerde: N });
    const r = b.table<number, string>("right", { keySerde: N, valueSerde: S });
    const joiner = (fk: number, rv: string | null) => `${fk},${rv}`;
    const joined = mode === "inner" ? l.join(r, (v) => v, joiner) : l.leftJoin(r, (v) => v, joiner);
    joined.toStream().to("out", { keySerde: S, valueSerde: S });
    const d = new TopologyTestDriver(b.build());
    const li = d.createInputTopic("left", S, N);
    const ri = d.createInputTopic("right", N, S);
    const out = d.createOutputTopic("out", S, S);
    const read = () =>
      out
        .readKeyValuesToList()
        .map((kv) => (kv.value === null ? `(${kv.key},null)` : `(${kv.key},${kv.value})`));
    const steps: [() => void, string[], string[]][] = [
      [
        () => {
          ri.pipeInput(1, "foo");
          li.pipeInput("k", 1);
        },
        ["(k,1,foo)"],
        ["(k,1,foo)"],
      ],
      [() => li.pipeInput("k", 2), ["(k,null)"], ["(k,2,null)"]],
      [() => li.pipeInput("k", 3), ["(k,null)"], ["(k,3,null)"]],
      [() => ri.pipeInput(3, "bar"), ["(k,3,bar)"], ["(k,3,bar)"]],
      // The docs print the left join's row 5 as (k,null,null): the left row is deleted, so the
      // result for k is deleted too (a tombstone).
      [() => li.pipeInput("k", null), ["(k,null)"], ["(k,null)"]],
      [() => li.pipeInput("k", 1), ["(k,1,foo)"], ["(k,1,foo)"]],
      [() => li.pipeInput("q", 10), [], ["(q,10,null)"]],
      [() => li.pipeInput("r", 10), [], ["(r,10,null)"]],
      [() => ri.pipeInput(10, "baz"), ["(q,10,baz)", "(r,10,baz)"], ["(q,10,baz)", "(r,10,baz)"]],
    ];
    steps.forEach(([act, inner, left], i) => {
      act();
      assert.deepEqual(read(), mode === "inner" ? inner : left, `${mode} FK join at offset ${i + 1}`);
    });
  });
}

const streamTableRows: { ts: number; side: Side; value: string | null; inner: string[]; left: string[] }[] = [
  { ts: 1, side: "L", value: null, inner: [], left: [] },
  { ts: 2, side: "R", value: null, inner: [], left: [] },
  { ts: 3, side: "L", value: "A", inner: [], left: ["[A, null]"] },
  { ts: 4, side: "R", value: "a", inner: [], left: [] },
  { ts: 5, side: "L", value: "B", inner: ["[B, a]"], left: ["[B, a]"] },
  { ts: 6, side: "R", value: "b", inner: [], left: [] },
  { ts: 7, side: "L", value: null, inner: [], left: [] },
  { ts: 8, side: "R", value: null, inner: [], left: [] },
  { ts: 9, side: "L", value: "C", inner: [], left: ["[C, null]"] },
  { ts: 10, side: "R", value: "c", inner: [], left: [] },
  { ts: 11, side: "R", value: null, inner: [], left: [] },
  { ts: 12, side: "L", value: null, inner: [], left: [] },
  { ts: 13, side: "R", value: null, inner: [], left: [] },
  { ts: 14, side: "R", value: "d", inner: [], left: [] },
  { ts: 15, side: "L", value: "D", inner: ["[D, d]"], left: ["[D, d]"] },
];

for (const mode of ["inner", "left"] as const) {
  test(`1.4.4 KStream-KTable ${mode} join matches the spec table`, () => {
    const b = new StreamsBuilder();
    const s = b.stream("left", { keySerde: S, valueSerde: S });
    const t = b.table("right", { keySerde: S, valueSerde: S });
    (mode === "inner" ? s.join(t, (a, c) => show(a, c)) : s.leftJoin(t, (a, c) => show(a, c))).to("out", {
      keySerde: S,
      valueSerde: S,
    });
    const d = new TopologyTestDriver(b.build());
    const li = d.createInputTopic("left", S, S);
    const ri = d.createInputTopic("right", S, S);
    const out = d.createOutputTopic("out", S, S);
    for (const row of streamTableRows) {
      (row.side === "L" ? li : ri).pipeInput("k", row.value, row.ts);
      assert.deepEqual(out.readValuesToList(), row[mode], `${mode} stream-table join at ${row.ts}`);
    }
  });

  test(`1.4.4 KStream-GlobalKTable ${mode} join: same rows through a key mapper`, () => {
    const b = new StreamsBuilder();
    const s = b.stream("left", { keySerde: S, valueSerde: S });
    const g = b.globalTable("right", { keySerde: S, valueSerde: S });
    const mapper = (k: string, _v: string) => k.toUpperCase();
    (mode === "inner"
      ? s.join(g, mapper, (a, c) => show(a, c))
      : s.leftJoin(g, mapper, (a, c) => show(a, c))
    ).to("out", {
      keySerde: S,
      valueSerde: S,
    });
    const d = new TopologyTestDriver(b.build());
    const li = d.createInputTopic("left", S, S);
    const ri = d.createInputTopic("right", S, S);
    const out = d.createOutputTopic("out", S, S);
    for (const row of streamTableRows) {
      if (row.side === "L") li.pipeInput("k", row.value, row.ts);
      else ri.pipeInput("K", row.value, row.ts);
      assert.deepEqual(out.readValuesToList(), row[mode], `${mode} global join at ${row.ts}`);
    }
  });
}

test("1.4.5 KGroupedStream aggregate: state after each record matches the spec table", () => {
  const N = Serdes.Json<number>();
  const b = new StreamsBuilder();
  b.stream("in", { keySerde: S, valueSerde: N })
    .groupByKey()
    .aggregate(
      () => 0,
      (_k, v, agg) => agg + v,
      { storeName: "agg", valueSerde: N },
    )
    .toStream()
    .to("out", { keySerde: S, valueSerde: N });
  const d = new TopologyTestDriver(b.build());
  const input = d.createInputTopic("in", S, N);
  const out = d.createOutputTopic("out", S, N);
  const store = d.getKeyValueStore<string, number>("agg");
  const rows: [string, number, [string, number][]][] = [
    ["hello", 1, [["hello", 1]]],
    [
      "kafka",
      1,
      [
        ["hello", 1],
        ["kafka", 1],
      ],
    ],
    [
      "streams",
      1,
      [
        ["hello", 1],
        ["kafka", 1],
        ["streams", 1],
      ],
    ],
    [
      "kafka",
      1,
      [
        ["hello", 1],
        ["kafka", 2],
        ["streams", 1],
      ],
    ],
    [
      "kafka",
      1,
      [
        ["hello", 1],
        ["kafka", 3],
        ["streams", 1],
      ],
    ],
    [
      "streams",
      1,
      [
        ["hello", 1],
        ["kafka", 3],
        ["streams", 2],
      ],
    ],
  ];
  rows.forEach(([k, v, state], i) => {
    input.pipeInput(k, v, i + 1);
    assert.deepEqual(
      store.all().map((e) => [e.key, e.value]),
      state,
      `state after timestamp ${i + 1}`,
    );
  });
  assert.deepEqual(
    out.readKeyValuesToList().map((kv) => [kv.key, kv.value]),
    [
      ["hello", 1],
      ["kafka", 1],
      ["streams", 1],
      ["kafka", 2],
      ["kafka", 3],
      ["streams", 2],
    ],
  );
});

test("1.4.5 KGroupedTable aggregate with adder and subtractor: state after each record matches the spec table", () => {
  const N = Serdes.Json<number>();
  const b = new StreamsBuilder();
  b.table("regions", { keySerde: S, valueSerde: S })
    .groupBy((user, region) => [region, user.length] as const, { keySerde: S, valueSerde: N })
    .aggregate(
      () => 0,
      (_k, v, agg) => agg + v,
      (_k, v, agg) => agg - v,
      { storeName: "by-region", valueSerde: N },
    )
    .toStream()
    .to("out", { keySerde: S, valueSerde: N });
  const d = new TopologyTestDriver(b.build());
  const input = d.createInputTopic("regions", S, S);
  const out = d.createOutputTopic("out", S, N);
  const store = d.getKeyValueStore<string, number>("by-region");
  const rows: [string | null, string | null, [string, number][], [string, number][]][] = [
    ["alice", "E", [["E", 5]], [["E", 5]]],
    [
      "bob",
      "A",
      [
        ["A", 3],
        ["E", 5],
      ],
      [["A", 3]],
    ],
    [
      "charlie",
      "A",
      [
        ["A", 10],
        ["E", 5],
      ],
      [["A", 10]],
    ],
    [
      "alice",
      "A",
      [
        ["A", 15],
        ["E", 0],
      ],
      [
        ["E", 0],
        ["A", 15],
      ],
    ],
    [
      "charlie",
      null,
      [
        ["A", 8],
        ["E", 0],
      ],
      [["A", 8]],
    ],
    [
      null,
      "E",
      [
        ["A", 8],
        ["E", 0],
      ],
      [],
    ],
    [
      "bob",
      "E",
      [
        ["A", 5],
        ["E", 3],
      ],
      [
        ["A", 5],
        ["E", 3],
      ],
    ],
  ];
  rows.forEach(([k, v, state, emitted], i) => {
    input.pipeInput(k, v, i + 1);
    assert.deepEqual(
      store.all().map((e) => [e.key, e.value]),
      state,
      `state after timestamp ${i + 1}`,
    );
    assert.deepEqual(
      out.readKeyValuesToList().map((kv) => [kv.key, kv.value]),
      emitted,
      `updates emitted at timestamp ${i + 1}`,
    );
  });
  assert.equal(d.droppedRecords()["null-key"], 1, "the (null, E) record is ignored and counted");
});
