/**
 * The files of a dataset as downloaded: a folder (searched recursively), a zip archive or a
 * gzip-compressed tar archive, or a folder holding such archives. Every file is listed by
 * its path (inside an archive: the archive's path, then the entry's), so that a dataset is
 * found by the same relative paths whether its archives were extracted or not.
 * @module
 */

import { join, relative } from "node:path";
import { isZip, readZipDirectory, zipEntryData } from "../data/zip.ts";
import { gunzip, isGzip } from "../data/gzip.ts";
import { readTar } from "./tar.ts";

/** One file of a source. */
export interface SourceFile {
  /** Path with `/` separators: relative to the source folder, archive entries below the archive's path. */
  path: string;
  /** What error messages name: the file's full path, or the archive's and the entry's. */
  label: string;
  /** Reads the file's contents (an archive entry's CRC-32 is checked). */
  read(): Promise<Uint8Array>;
}

/** Most directory levels searched below the source folder. */
const MAX_DEPTH = 8;
/** Most files listed (GTSRB's training archive holds about 40,000). */
const MAX_FILES = 500_000;

const ARCHIVE = /\.(zip|tgz|tar\.gz|tar)$/i;

/** The files of one archive (zip, tar, tar.gz), read whole into memory. */
async function archiveFiles(path: string, rel: string): Promise<SourceFile[]> {
  let bytes: Uint8Array = await Deno.readFile(path);
  if (isZip(bytes)) {
    const zip = bytes;
    return readZipDirectory(zip, path).filter((e) => !e.name.endsWith("/")).map((e) => ({
      path: `${rel}/${e.name}`,
      label: `${path}: ${e.name}`,
      read: () => Promise.resolve(zipEntryData(zip, e, `${path}: ${e.name}`)),
    }));
  }
  if (isGzip(bytes)) bytes = gunzip(bytes, path);
  else if (!/\.tar$/i.test(path)) {
    throw new Error(
      `${path}: not a zip, tar or gzip-compressed tar archive: give --src such an archive or ` +
        "the folder holding the dataset's files",
    );
  }
  return readTar(bytes, path).map((e) => ({
    path: `${rel}/${e.name}`,
    label: `${path}: ${e.name}`,
    read: () => Promise.resolve(e.data),
  }));
}

/**
 * Lists the files of `src`: a folder (recursively, archives opened when `accept` takes
 * their name) or a single archive.
 * @param src the path the user gave.
 * @param accept which archive names to open (by base name); others are listed as files.
 * @throws Error naming `src` when it does not exist, or an archive that is corrupt.
 */
export async function listSource(
  src: string,
  accept: (base: string) => boolean = () => true,
): Promise<SourceFile[]> {
  let info;
  try {
    info = await Deno.stat(src);
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) throw new Error(`${src}: not found`);
    throw e;
  }
  if (info.isFile) return await archiveFiles(src, baseName(src));
  const out: SourceFile[] = [];
  const walk = async (dir: string, depth: number) => {
    const names = [];
    for await (const e of Deno.readDir(dir)) names.push(e);
    names.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    for (const e of names) {
      const full = join(dir, e.name);
      const rel = relative(src, full).split(/[\\/]/).join("/");
      let isDir = e.isDirectory, isFile = e.isFile;
      if (e.isSymlink) {
        const s = await Deno.stat(full).catch(() => undefined);
        isDir = !!s?.isDirectory, isFile = !!s?.isFile;
      }
      if (isDir && depth < MAX_DEPTH) await walk(full, depth + 1);
      else if (isFile && ARCHIVE.test(e.name) && accept(e.name)) {
        out.push(...await archiveFiles(full, rel));
      } else if (isFile) {
        out.push({ path: rel, label: full, read: () => Deno.readFile(full) });
      }
      if (out.length > MAX_FILES) {
        throw new Error(`${src}: more than ${MAX_FILES} files: is --src the dataset's folder?`);
      }
    }
  };
  await walk(src, 0);
  return out;
}

/** The last component of a path. */
export function baseName(path: string): string {
  return path.split(/[\\/]/).filter(Boolean).pop() ?? path;
}

/**
 * Lets pending events (a Ctrl-C) run: reading archive entries from memory never waits, so a
 * long decoding loop calls this now and then.
 */
export function yieldToEvents(): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, 0));
}
