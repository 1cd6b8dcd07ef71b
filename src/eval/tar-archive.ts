/**
 * Reads the regular files of a POSIX (ustar) tar archive held in memory, as the ETHICS release is
 * packed. Only names and contents are read (no permissions, links or times); a name that would leave
 * the extraction folder (absolute, or with `..`) is refused.
 */
import { InputError } from "../spec/errors.js";

/** One regular file of the archive. */
export interface TarEntry {
  /** Path inside the archive, `/`-separated. */
  path: string;
  content: Buffer;
}

const BLOCK = 512;

function text(block: Buffer, start: number, length: number): string {
  const field = block.subarray(start, start + length);
  const end = field.indexOf(0);
  return field.subarray(0, end === -1 ? length : end).toString("utf8");
}

/** The regular files of `archive` (`file` names it in errors). */
export function readTarEntries({ archive, file }: { archive: Buffer; file: string }): TarEntry[] {
  const entries: TarEntry[] = [];
  let offset = 0;
  let longName: string | undefined;
  while (offset + BLOCK <= archive.length) {
    const header = archive.subarray(offset, offset + BLOCK);
    if (header.every((byte) => byte === 0)) break;
    const sizeText = text(header, 124, 12).trim();
    const size = Number.parseInt(sizeText === "" ? "0" : sizeText, 8);
    if (!Number.isFinite(size) || size < 0)
      throw new InputError(`not a tar archive (bad size at byte ${offset})`, { file });
    const type = String.fromCharCode(header[156] ?? 0);
    const prefix = text(header, 345, 155);
    const name = longName ?? (prefix === "" ? text(header, 0, 100) : `${prefix}/${text(header, 0, 100)}`);
    longName = undefined;
    const contentStart = offset + BLOCK;
    const content = archive.subarray(contentStart, contentStart + size);
    if (content.length !== size) throw new InputError(`tar archive is truncated in ${name}`, { file });
    if (type === "L") {
      longName = text(content, 0, size);
    } else if (type === "0" || type === "\0") {
      const parts = name.split("/").filter((part) => part !== "" && part !== ".");
      if (name.startsWith("/") || parts.includes("..")) {
        throw new InputError(`tar entry "${name}" would be written outside the extraction folder`, { file });
      }
      entries.push({ path: parts.join("/"), content: Buffer.from(content) });
    }
    offset = contentStart + Math.ceil(size / BLOCK) * BLOCK;
  }
  return entries;
}
