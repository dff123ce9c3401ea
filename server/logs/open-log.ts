// Opening a log file without ever blocking: a FIFO at the log's path would block open(2) until a
// writer appears (and with it the whole event loop, SIGINT included), so it is opened with
// O_NONBLOCK and refused after fstat, as is a directory or a device. Only regular files are logs.

import { closeSync, constants, fstatSync, openSync, type Stats } from 'node:fs';

/** The path exists but cannot be read as a log; the message names it and says why ("…: is a directory"). */
export class LogPathError extends Error {}

/** Why a file of this kind cannot be a log ("is a directory"), or null for a regular file. */
export function notALog(st: Stats): string | null {
  return st.isFile() ? null : st.isDirectory() ? 'is a directory' : 'not a regular file';
}

/** An open file descriptor of the regular file at `path` and its stats; null when nothing is there yet. */
export function openLog(path: string): { fd: number; stats: Stats } | null {
  let fd: number;
  try {
    fd = openSync(path, constants.O_RDONLY | constants.O_NONBLOCK);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') return null; // not there (yet)
    throw new LogPathError(`${path}: ${(err as Error).message}`);
  }
  const stats = fstatSync(fd);
  const why = notALog(stats);
  if (why) {
    closeSync(fd);
    throw new LogPathError(`${path}: ${why}`);
  }
  return { fd, stats };
}
