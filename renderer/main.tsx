import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';
import { createActions } from './actions/app-actions.ts';
import { App } from './components/App.tsx';
import { ActionsContext, ControllerContext } from './components/context.ts';
import { installTimeMachine } from './components/time-machine.ts';
import { Controller } from './controller.ts';
import { installStructureView } from './structure-view.ts';
import './styles.css';
import { createTransport } from './transport/ipc.ts';

const controller = new Controller(createTransport());
const actions = createActions(controller);
installTimeMachine(actions, controller);
installStructureView(controller);
controller.exposeTestHooks();

createRoot(document.getElementById('root')!).render(
  <StrictMode>
    <ControllerContext.Provider value={controller}>
      <ActionsContext.Provider value={actions}>
        <App />
      </ActionsContext.Provider>
    </ControllerContext.Provider>
  </StrictMode>,
);
