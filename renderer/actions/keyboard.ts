// One keydown listener for the whole page: a key runs the action the registry maps it to.
// Keys typed into text fields, and Space/Enter on a focused button, are left alone; a grid
// that handles its own arrow keys marks the event handled (preventDefault) first.

import type { ActionRegistry } from './registry.ts';

const TEXT_INPUTS = new Set(['text', 'number', 'search', 'email', 'url', 'password', 'range']);

function isTyping(el: HTMLElement | null): boolean {
  if (!el) return false;
  if (el.isContentEditable || el.tagName === 'TEXTAREA' || el.tagName === 'SELECT') return true;
  return el.tagName === 'INPUT' && TEXT_INPUTS.has((el as HTMLInputElement).type);
}

function activatesFocused(el: HTMLElement | null, key: string): boolean {
  if (key !== ' ' && key !== 'Enter') return false;
  if (!el) return false;
  return (
    el.tagName === 'BUTTON' || el.tagName === 'INPUT' || el.tagName === 'A' || el.getAttribute('role') === 'button'
  );
}

export function installKeyboard<C>(registry: ActionRegistry<C>, target: Window = window): () => void {
  const onKey = (e: KeyboardEvent) => {
    if (e.defaultPrevented || e.ctrlKey || e.metaKey || e.altKey) return;
    const el = e.target instanceof HTMLElement ? e.target : null;
    if (isTyping(el) && e.key !== 'Escape') return;
    if (activatesFocused(el, e.key)) return;
    const hit = registry.forKey(e.key);
    if (hit && registry.run(hit.action.name, hit.disk)) e.preventDefault();
  };
  target.addEventListener('keydown', onKey);
  return () => target.removeEventListener('keydown', onKey);
}
