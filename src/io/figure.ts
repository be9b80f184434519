/**
 * Figures of the attribution attacks as PNG: panels side by side ({@linkcode panelsToPng}, the
 * `explain` figure) and the paper's comparison figure ({@linkcode comparisonFigure}): per test
 * image the original, then per model its IG map, the attacked image and the attacked IG map,
 * with model names, panel titles, the numbers under each group and a colour bar.
 * @module
 */

import { encode } from "fast-png";
import {
  drawText,
  GLYPH_ASCENT,
  missingGlyphs,
  type Raster,
  textHeight,
  textWidth,
} from "./font.ts";

/** One panel: an image (`[H, W, C]`, values in `[0, pixelMax]`) or a map (`[H, W]`). */
export type Panel =
  | {
    kind: "image";
    data: Float32Array;
    height: number;
    width: number;
    channels: number;
    pixelMax: number;
  }
  | { kind: "map"; data: Float32Array; height: number; width: number };

// viridis at 9 anchor points; linear interpolation in between
const VIRIDIS = [
  [68, 1, 84],
  [71, 44, 122],
  [59, 81, 139],
  [44, 113, 142],
  [33, 144, 141],
  [39, 173, 129],
  [92, 200, 99],
  [170, 220, 50],
  [253, 231, 37],
];

/** The viridis colour of `t` in [0, 1]. */
export function viridis(t: number): [number, number, number] {
  const x = Math.min(Math.max(Number.isFinite(t) ? t : 0, 0), 1) * (VIRIDIS.length - 1);
  const i = Math.min(Math.floor(x), VIRIDIS.length - 2), f = x - i;
  const a = VIRIDIS[i], b = VIRIDIS[i + 1];
  return [0, 1, 2].map((k) => Math.round(a[k] + f * (b[k] - a[k]))) as [number, number, number];
}

/** The largest finite value of a map (0 when none is positive). */
function mapMax(data: Float32Array): number {
  let max = 0;
  for (const v of data) if (v > max && Number.isFinite(v)) max = v;
  return max;
}

/**
 * The colour of each pixel of a panel: images as grey (1 channel) or RGB (the first 3 channels)
 * scaled by `pixelMax`; maps in viridis, scaled to the map's own largest value.
 */
function panelColor(p: Panel): (y: number, x: number) => [number, number, number] {
  if (p.kind === "map") {
    const max = mapMax(p.data);
    return (y, x) => viridis(max > 0 ? p.data[y * p.width + x] / max : 0);
  }
  const v = (i: number) => Math.round(Math.min(Math.max(p.data[i] / p.pixelMax, 0), 1) * 255);
  return (y, x) => {
    const base = (y * p.width + x) * p.channels;
    return p.channels === 1 ? [v(base), v(base), v(base)] : [v(base), v(base + 1), v(base + 2)];
  };
}

/** Draws a panel upscaled by `scale` (nearest neighbour) with its top-left corner at (x0, y0). */
function drawPanel(target: Raster, p: Panel, scale: number, x0: number, y0: number): void {
  const color = panelColor(p);
  for (let sy = 0; sy < p.height; sy++) {
    for (let sx = 0; sx < p.width; sx++) {
      const rgb = color(sy, sx);
      for (let dy = 0; dy < scale; dy++) {
        const row = (y0 + sy * scale + dy) * target.width;
        for (let dx = 0; dx < scale; dx++) target.data.set(rgb, (row + x0 + sx * scale + dx) * 3);
      }
    }
  }
}

/** A white raster of the given size. */
function blank(width: number, height: number): Raster {
  return { width, height, data: new Uint8Array(width * height * 3).fill(255) };
}

/** Fills a rectangle of `target` with one colour. */
function fillRect(
  target: Raster,
  x: number,
  y: number,
  w: number,
  h: number,
  rgb: readonly number[],
): void {
  for (let r = y; r < y + h; r++) {
    for (let c = x; c < x + w; c++) target.data.set(rgb, (r * target.width + c) * 3);
  }
}

function png(r: Raster): Uint8Array {
  return encode({ width: r.width, height: r.height, data: r.data, channels: 3, depth: 8 });
}

/**
 * Panels of equal size in a row, separated by a white gap, upscaled so that each panel is at
 * least 112 pixels high, as PNG bytes.
 */
export function panelsToPng(panels: readonly Panel[]): Uint8Array {
  if (!panels.length) throw new Error("panelsToPng: no panels");
  const { height: h, width: w } = panels[0];
  if (panels.some((p) => p.height !== h || p.width !== w)) {
    throw new Error("panelsToPng: panels differ in size");
  }
  const scale = defaultScale(h);
  const gap = 8;
  const W = w * scale;
  const out = blank(panels.length * W + (panels.length - 1) * gap, h * scale);
  panels.forEach((p, k) => drawPanel(out, p, scale, k * (W + gap), 0));
  return png(out);
}

// ---------------------------------------------------------------------------------------------
// The comparison figure

/** What an attack did to one image under one model. */
export interface ComparisonAttack {
  /** The attacked image, `[H, W, C]`, values in `[0, pixelMax]`. */
  image: Float32Array;
  /** IG map of the attacked image, `[H, W]`. */
  map: Float32Array;
  /** The model's prediction for the attacked image. */
  predicted: number | string;
  /** Top-k intersection of the original and attacked IG maps. */
  intersection: number;
  /** Kendall's τ between the original and attacked IG maps (NaN shows as "n/a"). */
  kendall: number;
}

/** One model's results on one image (a group of three panels in the image's row). */
export interface ComparisonModel {
  /** The model's name, the same in every row; shown above its group. */
  name: string;
  /** The model's prediction for the original image. */
  predicted: number | string;
  /** IG map of the original image, `[H, W]`; when absent its panel says "not attacked". */
  map?: Float32Array;
  /**
   * The attack's outcome; absent when the model did not attack the image (it misclassifies
   * it): the attacked image's and map's panels then say "not attacked".
   */
  attack?: ComparisonAttack;
}

/** One test image: a row of the figure. */
export interface ComparisonImage {
  /** The original image, `[H, W, C]`, values in `[0, pixelMax]`. */
  image: Float32Array;
  /** The true label (a class index or name). */
  label: number | string;
  /** Per model, in the order of the figure's column groups. */
  models: ComparisonModel[];
}

/** Everything {@linkcode comparisonFigure} draws. */
export interface ComparisonSpec {
  /** Image height H. */
  height: number;
  /** Image width W. */
  width: number;
  /** Image channels C (1: grey, 3: RGB). */
  channels: number;
  /** The largest pixel value (white). */
  pixelMax: number;
  /** The rows of the figure, one per test image. */
  images: ComparisonImage[];
  /** The k of the top-k intersection, shown as "top-k" when absent. */
  kTop?: number;
  /** Upscaling factor of the panels (default: the smallest that makes them ≥ 112 pixels high). */
  scale?: number;
}

/** What a panel of the comparison figure shows. */
export type PanelKind = "original" | "IG" | "attacked" | "attacked IG";

/** The titles of a model's three panels, in order. */
export const GROUP_KINDS: readonly PanelKind[] = ["IG", "attacked", "attacked IG"];

/** A panel's place in the comparison figure. */
export interface LayoutPanel {
  /** Left edge in pixels. */
  x: number;
  /** Top edge in pixels. */
  y: number;
  /** Width in pixels. */
  width: number;
  /** Height in pixels. */
  height: number;
  /** Index of the image (row). */
  row: number;
  /** Index of the model, or −1 for the original image. */
  model: number;
  /** What the panel shows. */
  kind: PanelKind;
  /** The panel's data, or `undefined` for a "not attacked" panel. */
  panel?: Panel;
}

/** A line of text in the comparison figure. */
export interface LayoutText {
  /** Left edge of the text's cell. */
  x: number;
  /** Top edge of the text's cell (the cell is {@linkcode textHeight}`(scale)` high). */
  y: number;
  /** The text. */
  text: string;
  /** Integer scale of the font. */
  scale: number;
  /** Colour. */
  color: readonly [number, number, number];
  /** Width in pixels (`textWidth(text, scale)`). */
  width: number;
}

/** A filled rectangle (rules under the model names). */
export interface LayoutRect {
  /** Left edge. */
  x: number;
  /** Top edge. */
  y: number;
  /** Width. */
  width: number;
  /** Height. */
  height: number;
  /** Colour. */
  color: readonly [number, number, number];
}

/** Where everything of a comparison figure goes. */
export interface ComparisonLayout {
  /** Figure width in pixels. */
  width: number;
  /** Figure height in pixels. */
  height: number;
  /** Upscaling factor of the panels. */
  scale: number;
  /** Integer scale of the text. */
  textScale: number;
  /** Every panel, row by row, left to right. */
  panels: LayoutPanel[];
  /** Every line of text. */
  texts: LayoutText[];
  /** Rules under the model names. */
  rules: LayoutRect[];
  /** The viridis colour bar (low at the left). */
  colorBar: { x: number; y: number; width: number; height: number };
}

const INK: [number, number, number] = [20, 20, 20];
const SUBTLE: [number, number, number] = [85, 85, 85];
const RULE: [number, number, number] = [110, 110, 110];
const MISSING_FILL: [number, number, number] = [236, 236, 236];
const MISSING_INK: [number, number, number] = [120, 120, 120];
const NOT_ATTACKED = "not attacked";
const MAP_NOTE = "IG maps: each panel scaled to its own max";
const MAX_PIXELS = 1 << 26;

/** A metric with two decimals and a true minus sign; "n/a" when not finite. */
function formatMetric(v: number): string {
  if (!Number.isFinite(v)) return "n/a";
  const s = v.toFixed(2);
  return Number(s) === 0 ? "0.00" : s.replace("-", "−");
}

/** The smallest upscaling factor that makes panels of height `h` at least 112 pixels high. */
function defaultScale(h: number): number {
  return Math.max(1, Math.ceil(112 / h));
}

/** The largest of `values` and `floor`, without spreading `values` into arguments. */
function largest(values: Iterable<number>, floor: number): number {
  let m = floor;
  for (const v of values) if (v > m) m = v;
  return m;
}

function isPositiveInt(v: unknown): v is number {
  return typeof v === "number" && Number.isInteger(v) && v > 0;
}

/** Throws a clear error for anything in `spec` the figure cannot draw. */
function validate(spec: ComparisonSpec): void {
  const err = (what: string) => new Error(`comparisonFigure: ${what}`);
  if (!spec || typeof spec !== "object") throw err("expected a spec object");
  const { height: H, width: W, channels: C, pixelMax } = spec;
  if (!isPositiveInt(H) || !isPositiveInt(W) || H > 4096 || W > 4096) {
    throw err(`height and width must be integers in 1…4096, got ${H}×${W}`);
  }
  if (C !== 1 && C !== 3) throw err(`channels must be 1 or 3, got ${C}`);
  if (typeof pixelMax !== "number" || !(pixelMax > 0) || !Number.isFinite(pixelMax)) {
    throw err(`pixelMax must be a positive number, got ${pixelMax}`);
  }
  if (spec.scale !== undefined && (!isPositiveInt(spec.scale) || spec.scale > 64)) {
    throw err(`scale must be an integer in 1…64, got ${spec.scale}`);
  }
  if (spec.kTop !== undefined && !isPositiveInt(spec.kTop)) {
    throw err(`kTop must be a positive integer, got ${spec.kTop}`);
  }
  if (!Array.isArray(spec.images) || !spec.images.length) throw err("no images");
  const isObject = (v: unknown) => typeof v === "object" && v !== null;
  if (!spec.images.every(isObject)) throw err("every image must be an object");
  const first = spec.images[0].models;
  if (!Array.isArray(first) || !first.every(isObject)) {
    throw err("image 0: models must be an array of model results");
  }
  // bounds the figure before anything is laid out: the panels alone must fit
  const s = spec.scale ?? defaultScale(H);
  const panelPixels = spec.images.length * (1 + 3 * first.length) * H * W * s * s;
  if (panelPixels > MAX_PIXELS) {
    throw err(
      `${spec.images.length} images × ${first.length} models of ${H}×${W} pixels at scale ${s} ` +
        `would make a figure of over ${MAX_PIXELS} pixels; draw fewer images or models`,
    );
  }
  const check = (data: unknown, n: number, what: string) => {
    if (!(data instanceof Float32Array)) throw err(`${what} must be a Float32Array`);
    if (data.length !== n) throw err(`${what} has ${data.length} values, expected ${n}`);
  };
  spec.images.forEach((im, i) => {
    const at = `image ${i}`;
    check(im.image, H * W * C, `${at}: the original [${H}, ${W}, ${C}]`);
    if (typeof im.label !== "number" && typeof im.label !== "string") {
      throw err(`${at}: label must be a number or a string`);
    }
    if (!Array.isArray(im.models) || im.models.length !== first.length) {
      throw err(`${at}: expected ${first.length} model results, got ${im.models?.length}`);
    }
    if (!im.models.every(isObject)) throw err(`${at}: every model result must be an object`);
    im.models.forEach((m, j) => {
      const mat = `${at}, model ${j}`;
      if (typeof m.name !== "string" || !m.name) throw err(`${mat}: name must be a string`);
      if (m.name !== first[j].name) {
        throw err(
          `${mat}: name ${JSON.stringify(m.name)} differs from ${
            JSON.stringify(first[j].name)
          } in image 0 (models must be in the same order in every row)`,
        );
      }
      const named = `${at}, model ${JSON.stringify(m.name)}`;
      if (typeof m.predicted !== "number" && typeof m.predicted !== "string") {
        throw err(`${named}: predicted must be a number or a string`);
      }
      if (m.map !== undefined) check(m.map, H * W, `${named}: IG map [${H}, ${W}]`);
      const a = m.attack;
      if (a === undefined) return;
      if (!isObject(a)) throw err(`${named}: attack must be an object`);
      check(a.image, H * W * C, `${named}: attacked image [${H}, ${W}, ${C}]`);
      check(a.map, H * W, `${named}: attacked IG map [${H}, ${W}]`);
      if (typeof a.predicted !== "number" && typeof a.predicted !== "string") {
        throw err(`${named}: attack.predicted must be a number or a string`);
      }
      for (const k of ["intersection", "kendall"] as const) {
        if (typeof a[k] !== "number") throw err(`${named}: attack.${k} must be a number`);
      }
    });
  });
}

/** Width of `text` at `scale`, with an error naming the text if the font cannot draw it. */
function measure(text: string, scale: number): number {
  const missing = missingGlyphs(text);
  if (missing.length) {
    throw new Error(
      `comparisonFigure: cannot draw ${JSON.stringify(text)}: the font has no glyph for ${
        missing.map((c) => JSON.stringify(c)).join(", ")
      }`,
    );
  }
  return textWidth(text, scale);
}

/** Greedy line breaking: items joined by `sep`, each line at most `max` wide where possible. */
function wrap(items: readonly string[], sep: string, max: number, scale: number): string[] {
  const lines: string[] = [];
  for (const item of items) {
    const last = lines.length ? lines[lines.length - 1] + sep + item : undefined;
    if (last !== undefined && measure(last, scale) <= max) lines[lines.length - 1] = last;
    else lines.push(item);
  }
  return lines;
}

/** The numbers under a model's group: predictions, then (if attacked) top-k and τ. */
function groupItems(m: ComparisonModel, kTop: number | undefined): string[] {
  const a = m.attack;
  if (!a) return [`pred ${m.predicted}`];
  return [
    `pred ${m.predicted} → ${a.predicted}`,
    `top-${kTop ?? "k"} ${formatMetric(a.intersection)}`,
    `τ ${formatMetric(a.kendall)}`,
  ];
}

/**
 * Where every panel, text and rule of the comparison figure goes (what
 * {@linkcode comparisonFigure} draws). Column widths grow to fit their texts, so no two texts
 * and no text and panel overlap.
 */
export function comparisonLayout(spec: ComparisonSpec): ComparisonLayout {
  validate(spec);
  const { height: H, width: W, channels: C, pixelMax } = spec;
  const s = spec.scale ?? defaultScale(H);
  const Pw = W * s, Ph = H * s;
  const u = Math.max(1, Math.round(Math.min(Pw, Ph) / 56));
  const LH = textHeight(u), pitch = LH + 2 * u;
  const margin = 8 * u, panelGap = 3 * u, groupGap = 10 * u, rowGap = 6 * u;
  const models = spec.images[0].models.map((m) => m.name);
  const nm = models.length;

  // column widths: the original's column, then per model three panel columns
  const labels = spec.images.map((im) => `label ${im.label}`);
  const col0 = largest(labels.map((t) => measure(t, u)), Math.max(Pw, measure("original", u)));
  const items = spec.images.map((im) => im.models.map((m) => groupItems(m, spec.kTop)));
  const cols = models.map((name, j) => {
    const cw = GROUP_KINDS.map((k) => Math.max(Pw, measure(k, u)));
    const span = cw.reduce((a, b) => a + b, 0) + 2 * panelGap;
    const need = largest(items.flatMap((r) => r[j].map((t) => measure(t, u))), measure(name, u));
    const extra = Math.max(0, Math.ceil((need - span) / 3));
    return cw.map((w) => w + extra);
  });
  const spans = cols.map((cw) => cw.reduce((a, b) => a + b, 0) + 2 * panelGap);
  const captions = items.map((r) => r.map((its, j) => wrap(its, ", ", spans[j], u)));
  const nLines = largest(captions.flatMap((r) => r.map((l) => l.length)), 1);
  const contentW = col0 + spans.reduce((a, w) => a + groupGap + w, 0);

  // footer: "0" [colour bar] "max", then the note on the same line if it fits
  const barW = Math.max(Pw, 48 * u), barGap = 3 * u;
  const barLine = measure("0", u) + barGap + barW + barGap + measure("max", u);
  const noteW = measure(MAP_NOTE, u);
  const oneLine = barLine + 10 * u + noteW <= contentW;
  const footerW = oneLine ? barLine + 10 * u + noteW : Math.max(barLine, noteW);
  const innerW = Math.max(contentW, footerW);
  const width = 2 * margin + innerW;

  const texts: LayoutText[] = [];
  const rules: LayoutRect[] = [];
  const panels: LayoutPanel[] = [];
  const text = (t: string, x: number, y: number, color = INK, scale = u) =>
    texts.push({ x, y, text: t, scale, color, width: measure(t, scale) });
  const centred = (t: string, x: number, w: number, y: number, color = INK) =>
    text(t, x + Math.floor((w - measure(t, u)) / 2), y, color);

  // x of every column: [original, (IG, attacked, attacked IG) per model]
  const x0 = margin + Math.floor((innerW - contentW) / 2);
  const groupX: number[] = [];
  const colX: number[][] = [];
  let x = x0 + col0;
  for (const cw of cols) {
    x += groupGap;
    groupX.push(x);
    colX.push(cw.map((w) => {
      const at = x;
      x += w + panelGap;
      return at;
    }));
    x -= panelGap;
  }

  // header: model names over a rule, then the panel titles
  let y = margin;
  if (nm) {
    models.forEach((name, j) => centred(name, groupX[j], spans[j], y));
    y += LH + u;
    const ruleH = Math.max(1, Math.floor(u / 2));
    models.forEach((_, j) =>
      rules.push({ x: groupX[j], y, width: spans[j], height: ruleH, color: RULE })
    );
    y += ruleH + 2 * u;
  }
  centred("original", x0, col0, y, SUBTLE);
  cols.forEach((cw, j) => GROUP_KINDS.forEach((k, c) => centred(k, colX[j][c], cw[c], y, SUBTLE)));
  y += LH + 2 * u;

  const image = (data: Float32Array): Panel => ({
    kind: "image",
    data,
    height: H,
    width: W,
    channels: C,
    pixelMax,
  });
  const map = (data: Float32Array): Panel => ({ kind: "map", data, height: H, width: W });
  const missing = (px: number, py: number) => {
    // the words of "not attacked" on as few lines as fit, at the largest scale that fits
    for (let ts = u; ts >= 1; ts--) {
      const lines = wrap(NOT_ATTACKED.split(" "), " ", Pw - 2 * ts, ts);
      if (lines.some((l) => measure(l, ts) > Pw - 2 * ts)) continue;
      const lh = textHeight(ts) + ts, top = py + Math.floor((Ph - lines.length * lh + ts) / 2);
      lines.forEach((l, i) =>
        text(l, px + Math.floor((Pw - measure(l, ts)) / 2), top + i * lh, MISSING_INK, ts)
      );
      return;
    }
  };

  spec.images.forEach((im, i) => {
    const px0 = x0 + Math.floor((col0 - Pw) / 2);
    panels.push({
      x: px0,
      y,
      width: Pw,
      height: Ph,
      row: i,
      model: -1,
      kind: "original",
      panel: image(im.image),
    });
    im.models.forEach((m, j) => {
      const data = [m.map, m.attack?.image, m.attack?.map];
      GROUP_KINDS.forEach((kind, c) => {
        const px = colX[j][c] + Math.floor((cols[j][c] - Pw) / 2);
        const d = data[c];
        const panel = d === undefined ? undefined : c === 1 ? image(d) : map(d);
        panels.push({ x: px, y, width: Pw, height: Ph, row: i, model: j, kind, panel });
        if (!panel) missing(px, y);
      });
    });
    y += Ph + 2 * u;
    centred(labels[i], x0, col0, y);
    captions[i].forEach((lines, j) =>
      lines.forEach((l, k) => centred(l, groupX[j], spans[j], y + k * pitch))
    );
    y += (nLines - 1) * pitch + LH + (i + 1 < spec.images.length ? rowGap : 6 * u);
  });

  // footer
  let fx = margin + Math.floor((innerW - (oneLine ? footerW : barLine)) / 2);
  text("0", fx, y);
  fx += measure("0", u) + barGap;
  const colorBar = { x: fx, y, width: barW, height: GLYPH_ASCENT * u };
  fx += barW + barGap;
  text("max", fx, y);
  fx += measure("max", u);
  if (oneLine) text(MAP_NOTE, fx + 10 * u, y, SUBTLE);
  else text(MAP_NOTE, margin + Math.floor((innerW - noteW) / 2), y += pitch, SUBTLE);
  const height = y + LH + margin;
  if (width * height > MAX_PIXELS) {
    throw new Error(
      `comparisonFigure: the figure would be ${width}×${height} pixels, over ${MAX_PIXELS}; ` +
        `draw fewer images or models, or shorter texts`,
    );
  }
  return { width, height, scale: s, textScale: u, panels, texts, rules, colorBar };
}

/**
 * The paper's comparison figure as PNG bytes: one row per image with the original, then per
 * model its IG map, the attacked image and the attacked IG map; model names and panel titles
 * above, "label …" and "pred a → b, top-k …, τ …" below, and a viridis colour bar (each map is
 * scaled to its own largest value). Panels of images a model did not attack say "not attacked".
 */
export function comparisonFigure(spec: ComparisonSpec): Uint8Array {
  const L = comparisonLayout(spec);
  const out = blank(L.width, L.height);
  for (const p of L.panels) {
    if (p.panel) drawPanel(out, p.panel, L.scale, p.x, p.y);
    else fillRect(out, p.x, p.y, p.width, p.height, MISSING_FILL);
  }
  for (const r of L.rules) fillRect(out, r.x, r.y, r.width, r.height, r.color);
  const b = L.colorBar;
  for (let c = 0; c < b.width; c++) {
    fillRect(out, b.x + c, b.y, 1, b.height, viridis(c / Math.max(1, b.width - 1)));
  }
  for (const t of L.texts) drawText(out, t.text, t.x, t.y, t.scale, t.color);
  return png(out);
}
