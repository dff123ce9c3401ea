// A dialog takes the keyboard focus when it opens and gives it back when it closes: opened with
// a key or a button, its own keys (arrows, PageDown to scroll a list taller than the window, Tab
// to its Copy buttons) reach it without a pointer, and the user goes on where they were.
import { useEffect, useRef } from 'react';

export function useDialogFocus<T extends HTMLElement>() {
  const ref = useRef<T>(null);
  useEffect(() => {
    const opener = document.activeElement instanceof HTMLElement ? document.activeElement : null;
    const dialog = ref.current;
    dialog?.focus();
    return () => {
      // Only if the focus is still ours to give: not when the user has gone elsewhere meanwhile.
      const at = document.activeElement;
      if (opener?.isConnected && (!at || at === document.body || dialog?.contains(at))) opener.focus();
    };
  }, []);
  return ref;
}
