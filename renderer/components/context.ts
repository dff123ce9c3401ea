import { createContext, useContext } from 'react';
import type { ActionRegistry } from '../actions/registry.ts';
import type { Controller } from '../controller.ts';

export const ControllerContext = createContext<Controller | null>(null);
export const ActionsContext = createContext<ActionRegistry<Controller> | null>(null);

export function useController(): Controller {
  const c = useContext(ControllerContext);
  if (!c) throw new Error('no Controller in context');
  return c;
}

export function useActions(): ActionRegistry<Controller> {
  const a = useContext(ActionsContext);
  if (!a) throw new Error('no ActionRegistry in context');
  return a;
}
