import { useEffect, useState } from 'react';
import { ws } from './client';
import { room, throttleMs } from './config';
import { useTicks } from './use-ticks';

const money = new Intl.NumberFormat('en-US', { style: 'currency', currency: 'USD' });

export function App() {
  const { latest, updates, published, error } = useTicks(room, throttleMs);
  const [connected, setConnected] = useState(false);
  useEffect(() => {
    const off = [ws.on('connected', () => setConnected(true)), ws.on('closed', () => setConnected(false))];
    return () => off.forEach((stop) => stop());
  }, []);

  return (
    <main>
      <header>
        <h1>#{room}</h1>
        <span data-testid="status" className={connected ? 'live' : 'down'}>
          {connected ? 'live' : 'reconnecting…'}
        </span>
      </header>
      {error && <p role="alert">{error}</p>}
      <p className="price" data-testid="price" data-seq={latest?.seq} data-price={latest?.price}>
        {latest ? money.format(latest.price) : '—'}
      </p>
      <dl>
        <dt>tick</dt>
        <dd data-testid="seq">{latest?.seq ?? '—'}</dd>
        <dt>updates shown</dt>
        <dd data-testid="updates">{updates}</dd>
        <dt>ticks published meanwhile</dt>
        <dd data-testid="published">{published}</dd>
        <dt>at most one every</dt>
        <dd>{throttleMs} ms</dd>
      </dl>
    </main>
  );
}
