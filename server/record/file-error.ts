// A file error in the words of a one-line message: what happened, then the code.

/** `ENOSPC: no space left on device, write` → `no space left on device (ENOSPC)`. */
export function describeFileError(err: Error): string {
  const code = (err as NodeJS.ErrnoException).code;
  const m = code ? /^[A-Z0-9_]+: (.*?)(, \w+(?: '.*')?)?$/.exec(err.message) : null;
  return m ? `${m[1]} (${code})` : err.message;
}
