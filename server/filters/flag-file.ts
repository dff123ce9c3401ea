// Error files as switches (nbdkit's error-file=PATH: errors while PATH exists), flipped by the
// Error toggle — which anyone holding the control API's token can reach. So the toggle only ever
// touches what is plainly a flag file: switching on creates the file if it is absent (never
// truncates one that exists), switching off removes it only when it is an empty regular file
// (not a symlink, not someone's data). The paths themselves are fixed when the disk starts
// (command line, app, preset); the API cannot change them.

import { closeSync, constants, existsSync, lstatSync, openSync, unlinkSync } from 'node:fs';

export class FlagFileRefused extends Error {}

/** Make `path` exist: create it empty (O_EXCL: never through a symlink), or leave it as it is. */
export function raiseFlag(path: string): void {
  try {
    closeSync(openSync(path, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, 0o644));
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST')
      throw new FlagFileRefused(`error file ${path}: ${(err as Error).message}`);
    // Already there: on, and its content is not ours to touch.
  }
  if (!existsSync(path)) throw new FlagFileRefused(`error file ${path} is a symbolic link to nothing: not touched`);
}

/** Remove `path` if it is an empty regular file; refuse (and leave it) if it is anything else. */
export function lowerFlag(path: string): void {
  let st;
  try {
    st = lstatSync(path);
  } catch {
    return; // already off
  }
  if (!st.isFile() || st.size !== 0) {
    const what = st.isSymbolicLink() ? 'a symbolic link' : !st.isFile() ? 'not a regular file' : 'not empty';
    throw new FlagFileRefused(
      `error file ${path} is ${what}: Blockscope only removes the empty flag files its Error toggle manages (remove it yourself if it is one)`,
    );
  }
  unlinkSync(path);
}

export function flagRaised(path: string): boolean {
  return existsSync(path);
}
