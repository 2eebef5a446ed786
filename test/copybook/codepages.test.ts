// Every byte of every supported EBCDIC code page decodes exactly as glibc iconv does.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { describe, it } from "node:test";
import { PAGES } from "../../scripts/gen-codepages.ts";
import { codePageNames, compileCopybook, decodeText, getCodePage } from "../../src/copybook/index.ts";

const haveIconv = spawnSync("iconv", ["--version"]).status === 0;
const iconvList = haveIconv ? spawnSync("iconv", ["-l"]).stdout.toString() : "";

function iconvDecodeEach(name: string): Array<number | null> {
  // One call per byte: a byte iconv cannot decode must not shift the others.
  const all = Buffer.alloc(256);
  for (let i = 0; i < 256; i++) all[i] = i;
  const r = spawnSync("iconv", ["-f", name, "-t", "UTF-16BE"], { input: all });
  if (r.status === 0 && r.stdout.length === 512)
    return Array.from({ length: 256 }, (_, i) => r.stdout.readUInt16BE(i * 2));
  return Array.from({ length: 256 }, (_, i) => {
    const one = spawnSync("iconv", ["-f", name, "-t", "UTF-16BE"], { input: Buffer.from([i]) });
    return one.status === 0 && one.stdout.length === 2 ? one.stdout.readUInt16BE(0) : null;
  });
}

describe("code pages", () => {
  for (const [page, iconvName] of PAGES) {
    it(`${page}: all 256 bytes match iconv ${iconvName}`, (t) => {
      if (!haveIconv || !new RegExp(`\\b${iconvName}\\b`).test(iconvList)) {
        t.skip(`iconv on this machine has no ${iconvName}`);
        return;
      }
      const ours = getCodePage(page).decodeTable;
      const theirs = iconvDecodeEach(iconvName);
      const diffs: string[] = [];
      for (let b = 0; b < 256; b++) {
        const want = theirs[b] ?? 0xfffd;
        if (ours[b] !== want)
          diffs.push(`0x${b.toString(16)}: ours U+${ours[b]!.toString(16)}, iconv U+${want.toString(16)}`);
      }
      assert.deepEqual(diffs, []);
      // Encoding is the inverse on every defined byte.
      const enc = getCodePage(page).encodeTable();
      for (let b = 0; b < 256; b++)
        if (ours[b] !== 0xfffd) assert.equal(enc[ours[b]!]! - 1, b, `byte 0x${b.toString(16)}`);
    });
  }

  it("knows the required pages and aliases", () => {
    for (const p of [
      "cp037",
      "cp273",
      "cp277",
      "cp278",
      "cp280",
      "cp284",
      "cp285",
      "cp297",
      "cp500",
      "cp871",
      "cp875",
      "cp1047",
    ]) {
      assert.ok(codePageNames().includes(p), p);
    }
    for (let n = 1140; n <= 1149; n++) assert.ok(codePageNames().includes(`cp${n}`));
    assert.equal(getCodePage("IBM-1147").name, "cp1147");
    assert.equal(getCodePage("1147").name, "cp1147");
    assert.equal(getCodePage("IBM037").name, "cp037");
    assert.equal(getCodePage("latin1").name, "latin1");
    assert.throws(() => getCodePage("cp9999"), /unknown code page cp9999/);
  });

  it("cp1147: euro at 0x9F, é at 0xC0, è at 0xD0 (French)", () => {
    const p = getCodePage("cp1147");
    assert.equal(decodeText(p, Uint8Array.of(0x9f, 0xc0, 0xd0, 0x7c, 0xe0), 0, 5, 0), "€éèàç");
    assert.equal(decodeText(getCodePage("cp297"), Uint8Array.of(0x9f), 0, 1, 0), "¤");
  });

  it("long text with a non-Latin-1 character falls back correctly", () => {
    const p = getCodePage("cp1147");
    const bytes = new Uint8Array(40).fill(0xc1);
    bytes[20] = 0x9f;
    assert.equal(decodeText(p, bytes, 0, 40, 0), `${"A".repeat(20)}€${"A".repeat(19)}`);
  });

  it("per-field code page override", () => {
    const c = compileCopybook(
      `       01 R.
           05 A PIC X(3).
           05 B PIC X(3).
`,
      { codePage: "cp037", fieldCodePages: { B: "cp1147" } },
    );
    const bytes = Uint8Array.of(0x9f, 0xc0, 0x4a, 0x9f, 0xc0, 0x4a);
    assert.deepEqual(c.decode(bytes), { A: "¤{¢", B: "€é°" });
    assert.deepEqual(c.encode({ A: "¤{¢", B: "€é°" }), bytes);
  });

  it("zoned signs are read from nibbles, never through the code page (cp1147 0xC0 is é)", () => {
    const c = compileCopybook(
      `       01 R.
           05 N PIC S9(3).
`,
      { codePage: "cp1147" },
    );
    assert.deepEqual(c.decode(Uint8Array.of(0xf1, 0xf2, 0xc0)), { N: 120 });
    assert.deepEqual(c.decode(Uint8Array.of(0xf1, 0xf2, 0xd0)), { N: -120 });
  });
});
