/**
 * Writing a prepared split: `images` (uint8 NHWC) and `labels` (int64) streamed into an
 * `.npz` archive, the training split first balanced by augmentation. Only the originals are
 * held in memory; augmented images are made and written a chunk at a time.
 *
 * Layout of a balanced split: every original in its given order, then for each class in
 * turn the new images it needs to reach `perClass`, each an {@link augment}ed copy of one of
 * that class's originals drawn uniformly with the seed. Classes already holding `perClass`
 * or more images keep all of them and get none.
 * @module
 */

import { augment } from "./augment.ts";
import { NpzWriter } from "./npz_writer.ts";
import { SeededRandom } from "./random.ts";

/** Images of one size with their labels, held in memory. */
export interface LabelledImages {
  /** `count × height × width × 3` bytes. */
  images: Uint8Array;
  /** One label per image, `0 … numClasses − 1`. */
  labels: Int32Array;
  /** Image height. */
  height: number;
  /** Image width. */
  width: number;
}

/** Reports how far writing got. */
export interface WriteProgress {
  /** Called with the images written so far and their total. */
  (done: number, total: number): void;
}

/** Options of {@link writeSplit}. */
export interface WriteOptions {
  /** Number of classes (for the counts and the label check). */
  numClasses: number;
  /** When given, the split is balanced to this many images per class by augmentation. */
  perClass?: number;
  /** Seed of the augmentation. */
  seed?: number;
  /** Progress callback. */
  progress?: WriteProgress;
  /** Polled between chunks; when it returns true, writing stops and the partial file is removed. */
  stop?: () => boolean;
  /** Options passed to the writer (tests). */
  zip64From?: number;
  /** Leave the finished archive at `<path>.partial` (see {@link NpzWriter}). */
  keepPartial?: boolean;
}

/** What {@link writeSplit} wrote. */
export interface SplitSummary {
  /** Images per class in the written file. */
  counts: number[];
  /** Originals written. */
  originals: number;
  /** Augmented images written. */
  augmented: number;
  /** Seconds spent making augmented images (not writing them). */
  augmentSeconds: number;
}

/** Thrown when {@link WriteOptions.stop} asks writing to stop. */
export class Interrupted extends Error {
  constructor() {
    super("interrupted");
  }
}

/** Images per chunk of augmented images. */
const CHUNK = 256;

/** Per class, the indices of its images in order. */
export function classIndices(labels: Int32Array, numClasses: number): number[][] {
  const out: number[][] = Array.from({ length: numClasses }, () => []);
  for (let i = 0; i < labels.length; i++) out[labels[i]].push(i);
  return out;
}

/**
 * Writes `split` to `path` (through `path.partial`, renamed at the end; removed on any
 * error or interruption).
 * @throws Error naming the class that has no image to augment, or the writer's errors.
 */
export async function writeSplit(
  path: string,
  split: LabelledImages,
  opts: WriteOptions,
): Promise<SplitSummary> {
  const { images, labels, height: H, width: W } = split;
  const size = H * W * 3;
  const byClass = classIndices(labels, opts.numClasses);
  const target = opts.perClass;
  const extra = byClass.map((ix) => (target === undefined ? 0 : Math.max(target - ix.length, 0)));
  byClass.forEach((ix, c) => {
    if (ix.length === 0 && extra[c] > 0) {
      throw new Error(`class ${c} has no image to augment: the source holds none of this class`);
    }
  });
  const augmented = extra.reduce((a, b) => a + b, 0);
  const total = labels.length + augmented;
  const allLabels = new BigInt64Array(total);
  for (let i = 0; i < labels.length; i++) allLabels[i] = BigInt(labels[i]);
  const w = await NpzWriter.create(path, {
    zip64From: opts.zip64From,
    keepPartial: opts.keepPartial,
  });
  const rng = new SeededRandom(opts.seed ?? 0, 1);
  let augmentSeconds = 0;
  try {
    await w.begin("images", "uint8", [total, H, W, 3]);
    let done = 0;
    const step = CHUNK * 16;
    for (let i = 0; i < labels.length; i += step) {
      if (opts.stop?.()) throw new Interrupted();
      const n = Math.min(step, labels.length - i);
      await w.write(images.subarray(i * size, (i + n) * size));
      done += n;
      opts.progress?.(done, total);
    }
    const chunk = new Uint8Array(CHUNK * size);
    let fill = 0;
    for (let c = 0; c < opts.numClasses; c++) {
      for (let k = 0; k < extra[c]; k++) {
        const t0 = performance.now();
        const from = byClass[c][rng.int(byClass[c].length)];
        const img = { width: W, height: H, data: images.subarray(from * size, (from + 1) * size) };
        chunk.set(augment(img, rng).data, fill * size);
        augmentSeconds += (performance.now() - t0) / 1000;
        allLabels[done + fill] = BigInt(c);
        if (++fill === CHUNK) {
          if (opts.stop?.()) throw new Interrupted();
          await w.write(chunk);
          done += fill, fill = 0;
          opts.progress?.(done, total);
        }
      }
    }
    if (fill) await w.write(chunk.subarray(0, fill * size));
    done += fill;
    opts.progress?.(done, total);
    await w.end();
    await w.begin("labels", "int64", [total]);
    await w.write(allLabels);
    await w.end();
    if (opts.stop?.()) throw new Interrupted();
    await w.close();
  } catch (e) {
    await w.abort();
    throw e;
  }
  const counts = byClass.map((ix, c) => ix.length + extra[c]);
  return { counts, originals: labels.length, augmented, augmentSeconds };
}
