import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';
import { App } from './components/App.tsx';
import { ControllerContext } from './components/context.ts';
import { Controller } from './controller.ts';
import './styles.css';
import { createTransport } from './transport/ipc.ts';

const controller = new Controller(createTransport());
controller.exposeTestHooks();

createRoot(document.getElementById('root')!).render(
  <StrictMode>
    <ControllerContext.Provider value={controller}>
      <App />
    </ControllerContext.Provider>
  </StrictMode>,
);
