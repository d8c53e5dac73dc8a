import type { RoomcastClient } from '@roomcast/client';
import { useState, type FormEvent } from 'react';
import { useChat } from './use-chat';
import { usePresence } from './use-presence';

interface RoomProps {
  readonly name: string;
  readonly room: string;
  readonly ws: RoomcastClient;
  readonly connected: boolean;
}

export function Room({ name, room, ws, connected }: RoomProps) {
  const chat = useChat(room, name);
  const presence = usePresence(room, ws);
  const [draft, setDraft] = useState('');

  const submit = (event: FormEvent) => {
    event.preventDefault();
    if (!draft.trim()) return;
    chat.send(draft.trim());
    setDraft('');
  };

  return (
    <main className="room">
      <header>
        <h1>#{room}</h1>
        <span data-testid="me" data-client-id={ws.clientId}>
          you are {name}
        </span>
        <span data-testid="status" className={connected ? 'live' : 'down'}>
          {connected ? 'connected' : 'reconnecting…'}
        </span>
      </header>
      <aside>
        <h2 data-testid="count">{presence.count} here</h2>
        <ul data-testid="presence">
          {[...presence.members.values()].map((member) => (
            <li key={`${member.clientId} ${member.user ?? ''}`} data-client-id={member.clientId}>
              {member.clientId}
              {member.clientId === ws.clientId && ' (you)'}
            </li>
          ))}
        </ul>
      </aside>
      <section>
        {chat.error && (
          <p role="alert">
            {chat.error} <button onClick={chat.reload}>try again</button>
          </p>
        )}
        <ol data-testid="messages">
          {chat.lines.map((line) => (
            <li key={line.key} data-seq={line.seq} data-state={line.state}>
              <b>{line.name}</b> <span className="text">{line.text}</span>
              {line.state === 'pending' && <small> sending…</small>}
              {line.state === 'failed' && <button onClick={() => chat.retry(line)}>not sent: retry</button>}
            </li>
          ))}
        </ol>
        <form onSubmit={submit}>
          <input aria-label="Message" value={draft} onChange={(event) => setDraft(event.target.value)} placeholder="Say something" />
          <button type="submit">Send</button>
        </form>
      </section>
    </main>
  );
}
