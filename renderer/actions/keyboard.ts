// One keydown listener for the whole page: a key runs the action the registry maps it to.
// Keys typed into text fields, a slider's own keys, and Space/Enter on a focused button are left
// alone; a grid that handles its own arrow keys marks the event handled (preventDefault) first.

import type { ActionRegistry } from './registry.ts';

const TEXT_INPUTS = new Set(['text', 'number', 'search', 'email', 'url', 'password']);
/** What a focused slider (a delay, the flash) does itself; every other key is the page's. */
const SLIDER_KEYS = new Set(['ArrowLeft', 'ArrowRight', 'ArrowUp', 'ArrowDown', 'Home', 'End', 'PageUp', 'PageDown']);

function isTyping(el: HTMLElement | null, key: string): boolean {
  if (!el) return false;
  if (el.isContentEditable || el.tagName === 'TEXTAREA' || el.tagName === 'SELECT') return true;
  if (el.tagName !== 'INPUT') return false;
  const type = (el as HTMLInputElement).type;
  // A slider touched with the mouse keeps the focus: Space, F or P must still work after it.
  return TEXT_INPUTS.has(type) || (type === 'range' && SLIDER_KEYS.has(key));
}

function activatesFocused(el: HTMLElement | null, key: string): boolean {
  if (key !== ' ' && key !== 'Enter') return false;
  if (!el) return false;
  // A checkbox toggles on Space; a slider does nothing with it.
  const input = el.tagName === 'INPUT' && (el as HTMLInputElement).type !== 'range';
  return el.tagName === 'BUTTON' || input || el.tagName === 'A' || el.getAttribute('role') === 'button';
}

export function installKeyboard<C>(registry: ActionRegistry<C>, target: Window = window): () => void {
  const onKey = (e: KeyboardEvent) => {
    if (e.defaultPrevented || e.ctrlKey || e.metaKey || e.altKey) return;
    const el = e.target instanceof HTMLElement ? e.target : null;
    if (isTyping(el, e.key) && e.key !== 'Escape') return;
    if (activatesFocused(el, e.key)) return;
    const hit = registry.forKey(e.key);
    if (hit && registry.run(hit.action.name, hit.disk)) e.preventDefault();
  };
  target.addEventListener('keydown', onKey);
  return () => target.removeEventListener('keydown', onKey);
}
