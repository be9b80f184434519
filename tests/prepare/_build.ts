/**
 * Builders of small synthetic dataset sources for the prepare tests: PPM and JPEG files,
 * GTSRB's official folder layout, Flower-17's numbered JPEGs, tar archives.
 * @module
 */

import { join } from "node:path";
import jpeg from "jpeg-js";

/** A binary PPM of `w × h` pixels whose RGB value at `(x, y)` is `f(x, y)`. */
export function ppmBytes(w: number, h: number, f: (x: number, y: number) => number[]): Uint8Array {
  const head = new TextEncoder().encode(`P6\n${w} ${h}\n255\n`);
  const out = new Uint8Array(head.length + w * h * 3);
  out.set(head);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) out.set(f(x, y), head.length + (y * w + x) * 3);
  }
  return out;
}

/** A JPEG (quality 100) of a flat `w × h` image of colour `rgb`. */
export function flatJpeg(w: number, h: number, rgb: number[]): Uint8Array {
  const data = new Uint8Array(w * h * 4);
  for (let i = 0; i < w * h; i++) data.set([...rgb, 255], i * 4);
  return new Uint8Array(jpeg.encode({ width: w, height: h, data }, 100).data);
}

/** The colour of Flower image `n` (1-based): red gives the class, green and blue the index in it. */
export function flowerColour(n: number): number[] {
  const c = Math.floor((n - 1) / 80), k = (n - 1) % 80;
  return [c * 15, (k % 10) * 25, Math.floor(k / 10) * 30];
}

/** The index in its class of a Flower image of colour `rgb` (see {@link flowerColour}). */
export function flowerIndex(rgb: number[]): number {
  return Math.round(rgb[1] / 25) + 10 * Math.round(rgb[2] / 30);
}

/** Writes Flower-17's 1360 numbered JPEGs (small flat images) into `dir/jpg/`. */
export async function writeFlowerFolder(dir: string): Promise<void> {
  await Deno.mkdir(join(dir, "jpg"), { recursive: true });
  for (let n = 1; n <= 1360; n++) {
    const name = `image_${String(n).padStart(4, "0")}.jpg`;
    await Deno.writeFile(join(dir, "jpg", name), flatJpeg(8 + (n % 3), 6, flowerColour(n)));
  }
  await Deno.writeTextFile(join(dir, "jpg", "files.txt"), "not an image\n");
}

/** A ustar archive of `files` (path → contents). */
export function tarBytes(files: [string, Uint8Array][]): Uint8Array {
  const parts: Uint8Array[] = [];
  for (const [name, data] of files) {
    const h = new Uint8Array(512);
    const put = (s: string, at: number) => h.set(new TextEncoder().encode(s), at);
    put(name, 0);
    put("0000644\0", 100);
    put("0000000\0", 108);
    put("0000000\0", 116);
    put(data.length.toString(8).padStart(11, "0") + "\0", 124);
    put("00000000000\0", 136);
    put("        ", 148);
    put("0", 156);
    put("ustar\x0000", 257);
    let sum = 0;
    for (const b of h) sum += b;
    put(sum.toString(8).padStart(6, "0") + "\0 ", 148);
    parts.push(h, data, new Uint8Array((512 - (data.length % 512)) % 512));
  }
  parts.push(new Uint8Array(1024));
  const out = new Uint8Array(parts.reduce((a, p) => a + p.length, 0));
  let at = 0;
  for (const p of parts) out.set(p, at), at += p.length;
  return out;
}

/** Every file below `dir` as `[relative path, contents]`, sorted. */
export async function filesBelow(dir: string, prefix = ""): Promise<[string, Uint8Array][]> {
  const out: [string, Uint8Array][] = [];
  for await (const e of Deno.readDir(dir)) {
    const rel = prefix + e.name;
    if (e.isDirectory) out.push(...await filesBelow(join(dir, e.name), rel + "/"));
    else out.push([rel, await Deno.readFile(join(dir, e.name))]);
  }
  return out.sort((a, b) => (a[0] < b[0] ? -1 : 1));
}

/** The colour of GTSRB training image `i` of class `c` (inside its region of interest). */
export function signColour(c: number, i: number): number[] {
  return [c * 5, 200 - c * 4, 40 + i * 50];
}

/**
 * Writes GTSRB's official layout below `dir`: `GTSRB/Final_Training/Images/NNNNN/` with
 * `perClass[c]` PPMs and `GT-NNNNN.csv` for each of the 43 classes, `GTSRB/Final_Test/Images/`
 * with `testCount` PPMs (class `i % 43`) and `GT-final_test.test.csv`, and `GT-final_test.csv`
 * at the top. Each image is 10×9 with a border of grey 7 around its region x 2…7, y 1…6.
 */
export async function writeGtsrbFolder(
  dir: string,
  perClass: (c: number) => number,
  testCount: number,
): Promise<void> {
  const head = "Filename;Width;Height;Roi.X1;Roi.Y1;Roi.X2;Roi.Y2;ClassId\n";
  const image = (rgb: number[]) =>
    ppmBytes(10, 9, (x, y) => (x >= 2 && x <= 7 && y >= 1 && y <= 6 ? rgb : [7, 7, 7]));
  for (let c = 0; c < 43; c++) {
    const id = String(c).padStart(5, "0");
    const sub = join(dir, "GTSRB/Final_Training/Images", id);
    await Deno.mkdir(sub, { recursive: true });
    let csv = head;
    for (let i = 0; i < perClass(c); i++) {
      const name = `00000_${String(i).padStart(5, "0")}.ppm`;
      await Deno.writeFile(join(sub, name), image(signColour(c, i)));
      csv += `${name};10;9;2;1;7;6;${c}\n`;
    }
    await Deno.writeTextFile(join(sub, `GT-${id}.csv`), csv);
  }
  const test = join(dir, "GTSRB/Final_Test/Images");
  await Deno.mkdir(test, { recursive: true });
  let gt = head;
  for (let i = 0; i < testCount; i++) {
    const name = `${String(i).padStart(5, "0")}.ppm`;
    await Deno.writeFile(join(test, name), image(signColour(i % 43, 3)));
    gt += `${name};10;9;2;1;7;6;${i % 43}\n`;
  }
  await Deno.writeTextFile(join(test, "GT-final_test.test.csv"), head.replace(";ClassId", ""));
  await Deno.writeTextFile(join(dir, "GT-final_test.csv"), gt);
}
