import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";
import {
  CsvParser,
  detectFileFormat,
  type FileRow,
  readCsvFile,
  readFileRows,
} from "../../src/connect/index.ts";

const dir = mkdtempSync(join(tmpdir(), "courant-connect-"));
after(() => rmSync(dir, { recursive: true, force: true }));

async function collect(gen: AsyncGenerator<FileRow[]>): Promise<FileRow[]> {
  const out: FileRow[] = [];
  for await (const b of gen) out.push(...b);
  return out;
}

test("CSV parser: quotes, doubled quotes, CRLF, newlines in quotes, chunk boundaries", () => {
  const text = 'a,b,c\r\n1,"x, y","he said ""hi"""\r\n2,"multi\nline",\n\n3,z,w';
  // Feed one character at a time: state must survive any chunk boundary.
  const p = new CsvParser();
  const recs = [...text].flatMap((ch) => p.push(ch)).concat(p.end());
  assert.deepEqual(
    recs.map((r) => r.values),
    [
      ["a", "b", "c"],
      ["1", "x, y", 'he said "hi"'],
      ["2", "multi\nline", ""],
      ["3", "z", "w"],
    ],
  );
  assert.deepEqual(
    recs.map((r) => r.line),
    [1, 2, 3, 6],
  );
});

test("CSV parser: an unterminated quote is a clear error", () => {
  const p = new CsvParser();
  p.push('a,b\n1,"oops\n');
  assert.throws(
    () => p.end(),
    (e: Error & { code?: string }) => e.code === "CSV_UNTERMINATED_QUOTE" && /line 2/.test(e.message),
  );
});

test("readCsvFile: header names lower-cased (BOM stripped), batches, progress to 100%", async () => {
  const path = join(dir, "coupons.csv");
  const lines = ["\uFEFFCampaign_ID,Code"];
  for (let i = 0; i < 2500; i++) lines.push(`C${i % 3},CODE-${i}`);
  writeFileSync(path, `${lines.join("\n")}\n`);
  const seen: number[] = [];
  const batches: number[] = [];
  for await (const b of readCsvFile(path, {
    batchSize: 1000,
    onProgress: (p) => seen.push(p.done / p.total),
  })) {
    batches.push(b.length);
  }
  assert.deepEqual(batches, [1000, 1000, 500]);
  assert.equal(seen.at(-1), 1);
  const rows = await collect(readCsvFile(path));
  assert.deepEqual(rows[0], { line: 2, fields: { campaign_id: "C0", code: "CODE-0" } });
  assert.equal(rows.length, 2500);
});

test("readFileRows: missing file and unknown extension give clear errors", async () => {
  await assert.rejects(
    collect(readFileRows(join(dir, "nope.csv"))),
    (e: Error & { code?: string }) => e.code === "FILE_NOT_FOUND" && /nope\.csv/.test(e.message),
  );
  assert.throws(() => detectFileFormat("coupons.xlsx"), /\.csv or \.parquet/);
});

test("readFileRows: Parquet through DuckDB", async () => {
  const path = join(dir, "coupons.parquet");
  const { DuckDBInstance } = await import("@duckdb/node-api");
  const db = await DuckDBInstance.create(":memory:");
  const c = await db.connect();
  await c.run(
    `COPY (SELECT 'C' || (i % 2) AS campaign_id, 'P-' || i AS code FROM range(3000) t(i) ORDER BY i) TO '${path}' (FORMAT parquet)`,
  );
  c.closeSync();
  db.closeSync();
  const progress: number[] = [];
  const rows = await collect(readFileRows(path, { onProgress: (p) => progress.push(p.done / p.total) }));
  assert.equal(rows.length, 3000);
  assert.deepEqual(rows[0]?.fields, { campaign_id: "C0", code: "P-0" });
  assert.deepEqual(rows[2999]?.fields, { campaign_id: "C1", code: "P-2999" });
  assert.equal(progress.at(-1), 1);
  writeFileSync(join(dir, "bad.parquet"), "not parquet");
  await assert.rejects(
    collect(readFileRows(join(dir, "bad.parquet"))),
    (e: Error & { code?: string }) => e.code === "PARQUET_READ",
  );
});
