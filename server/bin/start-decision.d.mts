export interface StartFacts {
  electronPath: string | null;
  electronExists: boolean;
  env: Record<string, string | undefined>;
  hasMainBuild: boolean;
  hasRendererBuild: boolean;
}
export type StartDecision =
  { mode: 'electron'; build: boolean; reason: null } | { mode: 'browser'; build: boolean; reason: string };
export function decideStart(facts: StartFacts): StartDecision;
export function fallbackLine(reason: string): string;
export const ENGINE_TUNABLES: string[];
export function withTunables<E extends Record<string, string | undefined>>(env: E, tunables: string[]): E;
