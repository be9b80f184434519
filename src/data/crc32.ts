/**
 * CRC-32 (IEEE 802.3, reflected polynomial `0xEDB88320`), the checksum gzip trailers and
 * zip headers carry.
 * @module
 */

const TABLE = (() => {
  const t = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    t[n] = c;
  }
  return t;
})();

/**
 * CRC-32 of `bytes`, continuing from `crc` (the CRC of the bytes before them; 0 to start).
 * @returns an unsigned 32-bit value, e.g. `crc32("123456789")` is `0xCBF43926`.
 */
export function crc32(bytes: Uint8Array, crc = 0): number {
  let c = ~crc;
  for (let i = 0; i < bytes.length; i++) c = TABLE[(c ^ bytes[i]) & 0xff] ^ (c >>> 8);
  return ~c >>> 0;
}

/** `n` as `0x` and eight hex digits, the way checksums are shown in error messages. */
export function hex32(n: number): string {
  return "0x" + (n >>> 0).toString(16).padStart(8, "0");
}
