/**
 * Flower-17 (Nilsback & Zisserman): `17flowers.tgz` or its extracted `jpg/` folder holds
 * 1360 JPEGs, `image_0001.jpg` … `image_1360.jpg`, 80 per class in file order. Each is
 * decoded and resized to 128×128 (antialiased, {@link resize}); each class's 80 images are
 * shuffled with the seed and split into 72 training and 8 test images (1224 / 136).
 * @module
 */

import { decodeJpeg } from "./decode.ts";
import { resize } from "./image.ts";
import { SeededRandom } from "./random.ts";
import { listSource, type SourceFile, yieldToEvents } from "./source.ts";
import type { LabelledImages } from "./write.ts";

/** Flower-17's layout and the prepared sizes. */
export const FLOWER = {
  classes: 17,
  perClassFiles: 80,
  train: 72,
  test: 8,
  size: 128,
  /** Default training images per class after balancing. */
  perClass: 1000,
} as const;

const FILE = /(^|\/)image_(\d{4})\.jpg$/i;

/** The 1360 JPEGs of `files`, in number order. */
export function flowerFiles(files: SourceFile[], src: string): SourceFile[] {
  const total = FLOWER.classes * FLOWER.perClassFiles;
  const found: (SourceFile | undefined)[] = Array.from({ length: total }, () => undefined);
  for (const f of files) {
    const m = FILE.exec(f.path);
    if (!m) continue;
    const n = Number(m[2]);
    if (n < 1 || n > total) continue;
    const other = found[n - 1];
    if (other) {
      throw new Error(
        `${src}: image_${m[2]}.jpg found twice (${other.label} and ${f.label}): ` +
          "give --src the archive or the extracted folder, not both",
      );
    }
    found[n - 1] = f;
  }
  const missing = found.map((f, i) => (f ? "" : `image_${String(i + 1).padStart(4, "0")}.jpg`))
    .filter(Boolean);
  if (missing.length) {
    const shown = missing.slice(0, 5).join(", ") + (missing.length > 5 ? ", …" : "");
    throw new Error(
      `${src}: expected Flower-17's ${total} JPEGs image_0001.jpg … image_${total}.jpg ` +
        `(17flowers.tgz or its extracted jpg/ folder); ${missing.length} missing: ${shown}`,
    );
  }
  return found as SourceFile[];
}

/** Options of {@link readFlower}. */
export interface FlowerOptions {
  /** Seed of the per-class shuffle. */
  seed?: number;
  /** Called after each decoded image. */
  progress?: (done: number, total: number) => void;
}

/**
 * Reads, resizes and splits Flower-17.
 * @param src `17flowers.tgz`, the extracted folder, or a folder holding either.
 * @throws Error naming the source or the file: missing or duplicate images, a corrupt JPEG.
 */
export async function readFlower(
  src: string,
  opts: FlowerOptions = {},
): Promise<{ train: LabelledImages; test: LabelledImages }> {
  const files = flowerFiles(await listSource(src, (b) => /flowers/i.test(b)), src);
  const S = FLOWER.size, size = S * S * 3;
  const all = new Uint8Array(files.length * size);
  for (let i = 0; i < files.length; i++) {
    const img = decodeJpeg(await files[i].read(), files[i].label);
    all.set(resize(img, S, S).data, i * size);
    opts.progress?.(i + 1, files.length);
    if (i % 64 === 63) await yieldToEvents();
  }
  const rng = new SeededRandom(opts.seed ?? 0, 0);
  const make = (n: number): LabelledImages => ({
    images: new Uint8Array(n * size),
    labels: new Int32Array(n),
    height: S,
    width: S,
  });
  const train = make(FLOWER.classes * FLOWER.train), test = make(FLOWER.classes * FLOWER.test);
  for (let c = 0; c < FLOWER.classes; c++) {
    const order = rng.shuffle(Array.from({ length: FLOWER.perClassFiles }, (_, k) => k));
    order.forEach((k, j) => {
      const from = (c * FLOWER.perClassFiles + k) * size;
      const [dst, at] = j < FLOWER.train
        ? [train, c * FLOWER.train + j]
        : [test, c * FLOWER.test + j - FLOWER.train];
      dst.images.set(all.subarray(from, from + size), at * size);
      dst.labels[at] = c;
    });
  }
  return { train, test };
}
