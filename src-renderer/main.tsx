/** Renderer entry: pick the transport, connect the stores, render the wizard. */
import { createRoot } from 'react-dom/client';
import { App } from './components/App';
import { connectStores } from './stores/sync';
import { pickTransport } from './transport/pick';

async function start() {
  const root = createRoot(document.getElementById('root')!);
  try {
    const transport = await pickTransport();
    await connectStores(transport.api);
    root.render(<App />);
    transport.onClose?.(() => root.render(<App disconnected />));
    document.body.dataset.ready = 'true';
  } catch (err) {
    const p = document.createElement('p');
    p.setAttribute('role', 'alert');
    p.textContent = `Nexus Imager could not connect: ${(err as Error).message}`;
    document.getElementById('root')!.replaceChildren(p);
  }
}

void start();
