/**
 * Reader for tar archives (ustar and GNU, as `17flowers.tgz` is) that trusts no size it
 * reads: every header's checksum is checked and every entry's data must lie inside the
 * archive, which must end with the end-of-archive (zero) block. Only regular files are returned; directories and links are skipped.
 * @module
 */

/** A regular file of a tar archive. */
export interface TarEntry {
  /** Path inside the archive. */
  name: string;
  /** The file's contents (a view of the archive). */
  data: Uint8Array;
}

function text(b: Uint8Array): string {
  const end = b.indexOf(0);
  return new TextDecoder().decode(end < 0 ? b : b.subarray(0, end));
}

function octal(b: Uint8Array, name: string, what: string): number {
  const s = text(b).trim();
  if (!/^[0-7]*$/.test(s)) {
    throw new Error(`${name}: corrupt tar header: ${what} ${JSON.stringify(s)}`);
  }
  return s ? parseInt(s, 8) : 0;
}

/**
 * Lists the regular files of a tar archive.
 * @param bytes the archive (uncompressed).
 * @param name file name used in error messages.
 * @throws Error naming the file: a header whose checksum fails, an entry running past the end.
 */
export function readTar(bytes: Uint8Array, name: string): TarEntry[] {
  const out: TarEntry[] = [];
  let longName: string | undefined;
  for (let p = 0;;) {
    if (p + 512 > bytes.length) {
      throw new Error(
        `${name}: truncated tar archive: it ends at offset ${bytes.length} without the ` +
          "end-of-archive blocks",
      );
    }
    const h = bytes.subarray(p, p + 512);
    if (h.every((b) => b === 0)) break;
    const want = octal(h.subarray(148, 156), name, "checksum");
    let sum = 0;
    for (let i = 0; i < 512; i++) sum += i >= 148 && i < 156 ? 32 : h[i];
    if (sum !== want) {
      throw new Error(`${name}: corrupt tar archive: bad header checksum at offset ${p}`);
    }
    const size = octal(h.subarray(124, 136), name, "size");
    const type = String.fromCharCode(h[156] || 0x30);
    const prefix = text(h.subarray(257, 263)) === "ustar" ? text(h.subarray(345, 500)) : "";
    let entry = longName ?? (prefix ? `${prefix}/` : "") + text(h.subarray(0, 100));
    longName = undefined;
    const start = p + 512;
    if (start + size > bytes.length) {
      throw new Error(
        `${name}: truncated tar archive: entry \`${entry}\` needs ${size} bytes at offset ` +
          `${start}, the archive ends at ${bytes.length}`,
      );
    }
    const data = bytes.subarray(start, start + size);
    if (type === "L") longName = text(data);
    else if (type === "0" || type === "7") {
      entry = entry.replace(/^\.\//, "");
      out.push({ name: entry, data });
    }
    p = start + Math.ceil(size / 512) * 512;
  }
  return out;
}
