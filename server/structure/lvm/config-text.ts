// LVM2's metadata is text in its config format: `name { key = value … }` sections, values are
// numbers, "strings" or [lists]. A small recursive-descent parser, strict about structure.

import { DecodeError } from '../model.ts';

export type ConfigValue = number | string | ConfigValue[] | ConfigSection;
export interface ConfigSection {
  [key: string]: ConfigValue;
}

const TOKEN = /\s*(?:#[^\n]*\n\s*)*(?:("(?:[^"\\]|\\.)*")|([{}[\]=,])|([A-Za-z0-9_.+\-:/]+))/y;

export function parseConfigText(text: string): ConfigSection {
  let pos = 0;
  const next = (): string | null => {
    TOKEN.lastIndex = pos;
    const m = TOKEN.exec(text);
    if (!m) {
      if (/^\s*(#[^\n]*)?\s*$/.test(text.slice(pos))) return null;
      throw new DecodeError(`LVM metadata: unexpected text at ${pos}`);
    }
    pos = TOKEN.lastIndex;
    return m[1] ?? m[2] ?? m[3];
  };
  const peek = () => {
    const save = pos;
    const t = next();
    pos = save;
    return t;
  };
  const value = (): ConfigValue => {
    const t = next();
    if (t === null) throw new DecodeError('LVM metadata: value expected');
    if (t === '[') {
      const list: ConfigValue[] = [];
      while (peek() !== ']') {
        list.push(value());
        if (peek() === ',') next();
      }
      next();
      return list;
    }
    if (t.startsWith('"')) return t.slice(1, -1).replace(/\\(.)/g, '$1');
    if (/^-?\d+$/.test(t)) return Number(t);
    return t;
  };
  const section = (closing: boolean): ConfigSection => {
    const out: ConfigSection = {};
    for (let n = 0; n < 100_000; n++) {
      const t = next();
      if (t === null) {
        if (closing) throw new DecodeError('LVM metadata: unterminated section');
        return out;
      }
      if (t === '}' && closing) return out;
      const op = next();
      if (op === '=') out[t] = value();
      else if (op === '{') out[t] = section(true);
      else throw new DecodeError(`LVM metadata: expected = or { after ${t}`);
    }
    throw new DecodeError('LVM metadata: too many entries');
  };
  return section(false);
}

export function sectionOf(s: ConfigSection, key: string): ConfigSection | null {
  const v = s[key];
  return v && typeof v === 'object' && !Array.isArray(v) ? v : null;
}

export const numberOf = (s: ConfigSection, key: string): number | null =>
  typeof s[key] === 'number' ? (s[key] as number) : null;
export const stringOf = (s: ConfigSection, key: string): string | null =>
  typeof s[key] === 'string' ? (s[key] as string) : null;
