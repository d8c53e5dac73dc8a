import { useEffect, useState } from 'react';
import { Provider } from 'urql';
import { clientIdFor, createChatClients, type ChatClients } from './client';
import { Room } from './Room';

/**
 * One WebSocket and one urql client per joined page, made and disposed by an effect (not useMemo),
 * so that StrictMode's second mount in development gets a client of its own rather than a disposed one.
 */
export function JoinedRoom({ name, room }: { name: string; room: string }) {
  const [clients, setClients] = useState<ChatClients>();
  const [connected, setConnected] = useState(false);
  useEffect(() => {
    const made = createChatClients(clientIdFor(name));
    const off = [made.ws.on('connected', () => setConnected(true)), made.ws.on('closed', () => setConnected(false))];
    setClients(made);
    return () => {
      off.forEach((stop) => stop());
      void made.ws.dispose();
    };
  }, [name]);
  if (!clients) return null;
  return (
    <Provider value={clients.urql}>
      <Room name={name} room={room} ws={clients.ws} connected={connected} />
    </Provider>
  );
}
