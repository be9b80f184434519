/**
 * A small strict JSON reader for configuration files: one pass, no backtracking, a nesting
 * limit, and the line of each top-level key and of each repeated one, for messages.
 * @module
 */

import { ConfigError } from "./error.ts";

/** A parsed JSON text with the positions of its top-level keys. */
export interface JsonDoc {
  /** The parsed value. */
  value: unknown;
  /** 1-based line of each top-level key (the last occurrence). */
  lines: Map<string, number>;
  /** Top-level keys that occur more than once, with the line of each repeat. */
  duplicates: { key: string; line: number }[];
}

/** Deepest nesting of arrays and objects accepted (the top-level object is level 1). */
export const MAX_DEPTH = 64;

/**
 * Parses `text` as strict JSON in one pass (no backtracking, nesting at most
 * {@link MAX_DEPTH}), recording the line of each top-level key. Line numbers are tracked while
 * skipping whitespace: raw newlines can only occur there, since strings must escape them.
 */
export function readJson(text: string, source: string): JsonDoc {
  let pos = text.charCodeAt(0) === 0xfeff ? 1 : 0;
  /** 1-based line of `pos`, and the index where that line starts. */
  let line = 1;
  let lineStart = 0;
  const lines = new Map<string, number>();
  const duplicates: { key: string; line: number }[] = [];

  const here = () => `${source}:${line}:${pos - lineStart + 1}`;
  const fail = (what: string): never => {
    const found = pos >= text.length
      ? "the end of the file"
      : JSON.stringify(text.slice(pos, pos + 12).split(/\r?\n/)[0]);
    throw new ConfigError([`${here()}: invalid JSON: expected ${what}, found ${found}`]);
  };
  const nest = (depth: number) => {
    if (depth >= MAX_DEPTH) {
      throw new ConfigError([
        `${here()}: invalid JSON: nesting deeper than ${MAX_DEPTH} levels of arrays and ` +
        `objects; a configuration needs at most 3`,
      ]);
    }
  };
  const ws = () => {
    while (pos < text.length) {
      const c = text.charCodeAt(pos);
      if (c === 10) {
        pos++;
        line++;
        lineStart = pos;
      } else if (c === 32 || c === 9 || c === 13) pos++;
      else break;
    }
  };
  const str = (): string => {
    if (text[pos] !== '"') fail("a string");
    const start = pos++;
    while (pos < text.length) {
      const c = text.charCodeAt(pos);
      if (c === 34) {
        pos++;
        return JSON.parse(text.slice(start, pos));
      }
      if (c < 32) fail("a closing quote (control characters must be escaped)");
      if (c === 92) {
        const e = text[pos + 1];
        if (e === "u") {
          if (!/^[0-9a-fA-F]{4}$/.test(text.slice(pos + 2, pos + 6))) {
            pos++;
            fail("four hex digits after \\u");
          }
          pos += 6;
        } else if (e !== undefined && '"\\/bfnrt'.includes(e)) pos += 2;
        else {
          pos++;
          fail('an escape (\\" \\\\ \\/ \\b \\f \\n \\r \\t \\uXXXX)');
        }
      } else pos++;
    }
    return fail("a closing quote");
  };
  const NUMBER = /-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?/y;
  const value = (depth: number): unknown => {
    ws();
    const c = text[pos];
    if (c === "{") {
      nest(depth);
      pos++;
      const obj: Record<string, unknown> = {};
      ws();
      if (text[pos] === "}") {
        pos++;
        return obj;
      }
      for (;;) {
        ws();
        const keyLine = line;
        const key = str();
        ws();
        if (text[pos] !== ":") fail(`":" after the key ${JSON.stringify(key)}`);
        pos++;
        const v = value(depth + 1);
        if (depth === 0) {
          if (Object.hasOwn(obj, key)) duplicates.push({ key, line: keyLine });
          lines.set(key, keyLine);
        }
        Object.defineProperty(obj, key, {
          value: v,
          enumerable: true,
          writable: true,
          configurable: true,
        });
        ws();
        if (text[pos] === ",") {
          pos++;
          continue;
        }
        if (text[pos] === "}") {
          pos++;
          return obj;
        }
        fail('"," or "}"');
      }
    }
    if (c === "[") {
      nest(depth);
      pos++;
      const arr: unknown[] = [];
      ws();
      if (text[pos] === "]") {
        pos++;
        return arr;
      }
      for (;;) {
        arr.push(value(depth + 1));
        ws();
        if (text[pos] === ",") {
          pos++;
          continue;
        }
        if (text[pos] === "]") {
          pos++;
          return arr;
        }
        fail('"," or "]"');
      }
    }
    if (c === '"') return str();
    for (const [word, v] of [["true", true], ["false", false], ["null", null]] as const) {
      if (text.startsWith(word, pos)) {
        pos += word.length;
        return v;
      }
    }
    NUMBER.lastIndex = pos;
    const m = NUMBER.exec(text);
    if (m) {
      pos += m[0].length;
      return Number(m[0]);
    }
    return fail("a value (object, array, string, number, true, false or null)");
  };

  const v = value(0);
  ws();
  if (pos < text.length) fail("the end of the file");
  return { value: v, lines, duplicates };
}
