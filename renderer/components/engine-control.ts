// Controls that call the engine (a preset, a delay, a time-machine seek…) are disabled while the
// page is disconnected, with the reason as their tooltip: used then, they could only fail with
// "nothing was changed". Registered actions get the same through ActionButton (Action.engine).
import { engineOffline, useUi } from '../store/store.ts';

export interface EngineControlProps {
  disabled: boolean;
  'aria-disabled'?: true;
  title?: string;
}

/** Props for such a control: `title` is its usual tooltip, replaced by the reason while disabled. */
export function useEngineControl(title?: string): EngineControlProps {
  const why = useUi(engineOffline);
  return why ? { disabled: true, 'aria-disabled': true, title: why } : { disabled: false, title };
}
