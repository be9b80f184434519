/**
 * A small proportional bitmap font for figure text: printable ASCII (32–126) plus the few
 * symbols the figures use (→ ← τ ρ ± … × ε α λ – − ·), drawn at an integer scale on RGB rasters.
 *
 * Every glyph sits in a cell {@linkcode GLYPH_HEIGHT} rows high: rows 0–6 above the baseline
 * (capitals and digits fill them, lowercase letters start at row 2), rows 7–8 for descenders.
 * Most glyphs are 5 pixels wide (digits all are); each is followed by one blank column.
 * @module
 */

/** Rows of a glyph cell: 7 above the baseline and 2 of descent. */
export const GLYPH_HEIGHT = 9;

/** Rows above the baseline (the height of capitals and digits). */
export const GLYPH_ASCENT = 7;

// Each glyph: its rows from the top, space-separated, "#" = ink; blank rows at the bottom are
// omitted. All rows of a glyph have its width.
const TABLE: Record<string, string> = {
  " ": "...",
  "!": "# # # # # . #",
  '"': "#.# #.#",
  "#": ".#.#. .#.#. ##### .#.#. ##### .#.#. .#.#.",
  "$": "..#.. .#### #.#.. .###. ..#.# ####. ..#..",
  "%": "##... ##..# ...#. ..#.. .#... #..## ...##",
  "&": ".##.. #..#. #.#.. .#... #.#.# #..#. .##.#",
  "'": "# #",
  "(": "..# .#. #.. #.. #.. .#. ..#",
  ")": "#.. .#. ..# ..# ..# .#. #..",
  "*": "..... ..#.. #.#.# .###. #.#.# ..#..",
  "+": "..... ..#.. ..#.. ##### ..#.. ..#..",
  ",": ".. .. .. .. .. .# .# #.",
  "-": ".... .... .... ####",
  ".": ". . . . . . #",
  "/": "....# ....# ...#. ..#.. .#... #.... #....",
  "0": ".###. #...# #...# #...# #...# #...# .###.",
  "1": "..#.. .##.. ..#.. ..#.. ..#.. ..#.. .###.",
  "2": ".###. #...# ....# ...#. ..#.. .#... #####",
  "3": ".###. #...# ....# ..##. ....# #...# .###.",
  "4": "...#. ..##. .#.#. #..#. ##### ...#. ...#.",
  "5": "##### #.... ####. ....# ....# #...# .###.",
  "6": "..##. .#... #.... ####. #...# #...# .###.",
  "7": "##### ....# ...#. ..#.. .#... .#... .#...",
  "8": ".###. #...# #...# .###. #...# #...# .###.",
  "9": ".###. #...# #...# .#### ....# ...#. .##..",
  ":": ". . # . . . #",
  ";": ".. .. .# .. .. .# .# #.",
  "<": "...# ..#. .#.. #... .#.. ..#. ...#",
  "=": "..... ..... ##### ..... #####",
  ">": "#... .#.. ..#. ...# ..#. .#.. #...",
  "?": ".###. #...# ....# ...#. ..#.. ..... ..#..",
  "@": ".###. #...# #.### #.#.# #.### #.... .###.",
  "A": ".###. #...# #...# ##### #...# #...# #...#",
  "B": "####. #...# #...# ####. #...# #...# ####.",
  "C": ".###. #...# #.... #.... #.... #...# .###.",
  "D": "####. #...# #...# #...# #...# #...# ####.",
  "E": "##### #.... #.... ####. #.... #.... #####",
  "F": "##### #.... #.... ####. #.... #.... #....",
  "G": ".###. #...# #.... #.### #...# #...# .####",
  "H": "#...# #...# #...# ##### #...# #...# #...#",
  "I": "### .#. .#. .#. .#. .#. ###",
  "J": "..### ...#. ...#. ...#. ...#. #..#. .##..",
  "K": "#...# #..#. #.#.. ##... #.#.. #..#. #...#",
  "L": "#.... #.... #.... #.... #.... #.... #####",
  "M": "#...# ##.## #.#.# #.#.# #...# #...# #...#",
  "N": "#...# #...# ##..# #.#.# #..## #...# #...#",
  "O": ".###. #...# #...# #...# #...# #...# .###.",
  "P": "####. #...# #...# ####. #.... #.... #....",
  "Q": ".###. #...# #...# #...# #.#.# #..#. .##.#",
  "R": "####. #...# #...# ####. #.#.. #..#. #...#",
  "S": ".#### #.... #.... .###. ....# ....# ####.",
  "T": "##### ..#.. ..#.. ..#.. ..#.. ..#.. ..#..",
  "U": "#...# #...# #...# #...# #...# #...# .###.",
  "V": "#...# #...# #...# #...# #...# .#.#. ..#..",
  "W": "#...# #...# #...# #.#.# #.#.# #.#.# .#.#.",
  "X": "#...# #...# .#.#. ..#.. .#.#. #...# #...#",
  "Y": "#...# #...# .#.#. ..#.. ..#.. ..#.. ..#..",
  "Z": "##### ....# ...#. ..#.. .#... #.... #####",
  "[": "### #.. #.. #.. #.. #.. ###",
  "\\": "#.... #.... .#... ..#.. ...#. ....# ....#",
  "]": "### ..# ..# ..# ..# ..# ###",
  "^": "..#.. .#.#. #...#",
  "_": "..... ..... ..... ..... ..... ..... ..... #####",
  "`": "#. .#",
  "a": "..... ..... .###. ....# .#### #...# .####",
  "b": "#.... #.... ####. #...# #...# #...# ####.",
  "c": "..... ..... .###. #.... #.... #...# .###.",
  "d": "....# ....# .#### #...# #...# #...# .####",
  "e": "..... ..... .###. #...# ##### #.... .###.",
  "f": "..## .#.. #### .#.. .#.. .#.. .#..",
  "g": "..... ..... .#### #...# #...# #...# .#### ....# .###.",
  "h": "#.... #.... ####. #...# #...# #...# #...#",
  "i": ".#. ... ##. .#. .#. .#. ###",
  "j": "...# .... ..## ...# ...# ...# ...# #..# .##.",
  "k": "#... #... #..# #.#. ##.. #.#. #..#",
  "l": "##. .#. .#. .#. .#. .#. ###",
  "m": "..... ..... ##.#. #.#.# #.#.# #.#.# #.#.#",
  "n": "..... ..... ####. #...# #...# #...# #...#",
  "o": "..... ..... .###. #...# #...# #...# .###.",
  "p": "..... ..... ####. #...# #...# #...# ####. #.... #....",
  "q": "..... ..... .#### #...# #...# #...# .#### ....# ....#",
  "r": ".... .... #.## ##.. #... #... #...",
  "s": "..... ..... .#### #.... .###. ....# ####.",
  "t": ".#.. .#.. #### .#.. .#.. .#.. ..##",
  "u": "..... ..... #...# #...# #...# #...# .####",
  "v": "..... ..... #...# #...# #...# .#.#. ..#..",
  "w": "..... ..... #...# #...# #.#.# #.#.# .#.#.",
  "x": "..... ..... #...# .#.#. ..#.. .#.#. #...#",
  "y": "..... ..... #...# #...# #...# #...# .#### ....# .###.",
  "z": "..... ..... ##### ...#. ..#.. .#... #####",
  "{": "..## .#.. .#.. #... .#.. .#.. ..##",
  "|": "# # # # # # # # #",
  "}": "##.. ..#. ..#. ...# ..#. ..#. ##..",
  "~": "..... ..... .#... #.#.# ...#.",
  "→": "....... ....#.. .....#. ####### .....#. ....#..",
  "←": "....... ..#.... .#..... ####### .#..... ..#....",
  "τ": "..... ..... ##### ..#.. ..#.. ..#.. ...##",
  "ρ": "..... ..... .###. #...# #...# #...# ####. #.... #....",
  "±": "..#.. ..#.. ##### ..#.. ..#.. ..... #####",
  "…": "..... ..... ..... ..... ..... ..... #.#.#",
  "×": "..... #...# .#.#. ..#.. .#.#. #...#",
  "ε": ".... .... .### #... .##. #... .###",
  "α": "..... ..... .##.# #..#. #..#. #..#. .##.#",
  "λ": "#.... .#... .#... ..#.. .#.#. #...# #...#",
  "–": "..... ..... ..... #####",
  "−": "..... ..... ..... #####",
  "·": ". . . #",
};

/** One glyph: its width in pixels and, per cell row, a bit mask of its ink (bit 0 = left). */
export interface Glyph {
  /** Width in pixels (without the blank column that follows it). */
  width: number;
  /** {@linkcode GLYPH_HEIGHT} masks, top row first; bit `i` is column `i` from the left. */
  rows: number[];
}

const GLYPHS = new Map<string, Glyph>();
for (const [ch, spec] of Object.entries(TABLE)) {
  const lines = spec.split(" ");
  const width = lines[0].length;
  if (lines.length > GLYPH_HEIGHT || lines.some((l) => l.length !== width || /[^#.]/.test(l))) {
    throw new Error(`font: the glyph of ${JSON.stringify(ch)} is malformed`);
  }
  const rows = new Array<number>(GLYPH_HEIGHT).fill(0);
  lines.forEach((l, r) => {
    for (let c = 0; c < width; c++) if (l[c] === "#") rows[r] |= 1 << c;
  });
  GLYPHS.set(ch, { width, rows });
}

/** The glyph of one character (a single code point), or `undefined` if the font lacks it. */
export function glyph(ch: string): Glyph | undefined {
  return GLYPHS.get(ch);
}

/** Every character the font can draw. */
export function fontCharacters(): string[] {
  return [...GLYPHS.keys()];
}

/** The characters of `text` the font cannot draw, each once, in order of appearance. */
export function missingGlyphs(text: string): string[] {
  return [...new Set([...text].filter((ch) => !GLYPHS.has(ch)))];
}

function glyphsOf(text: string): Glyph[] {
  return [...text].map((ch) => {
    const g = GLYPHS.get(ch);
    if (!g) {
      const code = ch.codePointAt(0)!.toString(16).toUpperCase().padStart(4, "0");
      throw new Error(
        `font: no glyph for ${JSON.stringify(ch)} (U+${code}) in ${JSON.stringify(text)}`,
      );
    }
    return g;
  });
}

/** Width in pixels of `text` drawn at `scale`: glyph widths plus one blank column between glyphs. */
export function textWidth(text: string, scale = 1): number {
  const gs = glyphsOf(text);
  if (!gs.length) return 0;
  return (gs.reduce((w, g) => w + g.width + 1, 0) - 1) * scale;
}

/** Height in pixels of one line of text at `scale` (ascent and descent). */
export function textHeight(scale = 1): number {
  return GLYPH_HEIGHT * scale;
}

/** An RGB raster, row-major, 3 bytes a pixel. */
export interface Raster {
  /** Width in pixels. */
  width: number;
  /** Height in pixels. */
  height: number;
  /** `width × height × 3` bytes. */
  data: Uint8Array;
}

/**
 * Draws `text` with its cell's top-left corner at (`x`, `y`), each font pixel a `scale × scale`
 * square of colour `rgb`; what falls outside the raster is clipped. Throws naming any character
 * the font lacks (before drawing anything).
 */
export function drawText(
  target: Raster,
  text: string,
  x: number,
  y: number,
  scale = 1,
  rgb: readonly [number, number, number] = [0, 0, 0],
): void {
  const { width: W, height: H, data } = target;
  let left = x;
  for (const g of glyphsOf(text)) {
    for (let r = 0; r < GLYPH_HEIGHT; r++) {
      const mask = g.rows[r];
      if (!mask) continue;
      for (let c = 0; c < g.width; c++) {
        if (!(mask & (1 << c))) continue;
        for (let dy = 0; dy < scale; dy++) {
          const py = y + r * scale + dy;
          if (py < 0 || py >= H) continue;
          for (let dx = 0; dx < scale; dx++) {
            const px = left + c * scale + dx;
            if (px >= 0 && px < W) data.set(rgb, (py * W + px) * 3);
          }
        }
      }
    }
    left += (g.width + 1) * scale;
  }
}
