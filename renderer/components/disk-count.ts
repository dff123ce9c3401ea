// The Custom layout's disk count, as typed. The field keeps whatever the user types (clamping
// each keystroke turned "-1" into 11 and an edit of 3 into 15); it is checked once, on apply.

export const MAX_CUSTOM_DISKS = 16;
export const DISK_COUNT_RULE = `disks must be a whole number from 1 to ${MAX_CUSTOM_DISKS}`;

/** The number of disks `text` asks for, or null when it is not a whole number from 1 to 16. */
export function parseDiskCount(text: string): number | null {
  const t = text.trim();
  if (!/^\d{1,3}$/.test(t)) return null;
  const n = Number(t);
  return n >= 1 && n <= MAX_CUSTOM_DISKS ? n : null;
}
