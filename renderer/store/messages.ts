// The footer's message. A failed action's message is replaced by the next message, cleared when
// the same kind of action next succeeds, and otherwise goes after FAILURE_MS: an old failure
// left beside the legend reads as news about whatever the user did since.
import { getUi, setUi, type UiState } from './store.ts';

export const FAILURE_MS = 10_000;

type Message = NonNullable<UiState['message']>;

/** Show that an action of `kind` (an engine method, "layout", "timeline"…) failed, and why. */
export function reportFailure(kind: string, text: string): void {
  const message: Message = { text, level: 'error', kind };
  setUi({ message });
  setTimeout(() => {
    if (getUi().message === message) setUi({ message: null });
  }, FAILURE_MS);
}

/** An action of `kind` worked: its earlier failure no longer applies. */
export function reportSuccess(kind: string): void {
  if (getUi().message?.kind === kind) setUi({ message: null });
}
