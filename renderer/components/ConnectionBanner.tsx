import { useUi, type UiState } from '../store/store.ts';

export const RECONNECTING = 'Disconnected from Blockscope — reconnecting…';

/**
 * What the banner over the disks says, or '' when there is nothing to say: the picture on the
 * stage is the last one received, and nobody should take it for live.
 */
export function connectionNotice(s: Pick<UiState, 'status' | 'refusal' | 'disks'>): string {
  if (s.status === 'refused') return s.refusal ?? 'Blockscope refused this page';
  // While the page first connects there is no picture yet: the stage says "Connecting…".
  if (s.status !== 'open' && s.disks.length > 0) return RECONNECTING;
  return '';
}

/** Over the stage (which is dimmed and inert meanwhile); read out when it appears. */
export function ConnectionBanner() {
  const text = useUi(connectionNotice);
  if (!text) return null;
  return (
    <div className="connection-banner" role="alert" data-testid="connection-banner">
      {text}
    </div>
  );
}
