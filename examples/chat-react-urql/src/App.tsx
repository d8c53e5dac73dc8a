import { useState, type FormEvent } from 'react';
import { JoinedRoom } from './JoinedRoom';

/** Pick a name and a room (?name=…&room=… prefill them), then join. */
export function App() {
  const params = new URLSearchParams(location.search);
  const [joined, setJoined] = useState<{ name: string; room: string }>();
  if (joined) return <JoinedRoom name={joined.name} room={joined.room} />;

  const join = (event: FormEvent<HTMLFormElement>) => {
    event.preventDefault();
    const form = new FormData(event.currentTarget);
    const field = (name: string) => {
      const value = form.get(name);
      return typeof value === 'string' ? value.trim() : '';
    };
    setJoined({ name: field('name') || 'guest', room: field('room') || 'lobby' });
  };
  return (
    <form className="join" onSubmit={join}>
      <h1>Roomcast chat</h1>
      <label>
        Your name <input name="name" defaultValue={params.get('name') ?? ''} autoFocus required />
      </label>
      <label>
        Room <input name="room" defaultValue={params.get('room') ?? 'lobby'} pattern="[A-Za-z0-9_.:\-]{1,128}" required />
      </label>
      <button type="submit">Join</button>
    </form>
  );
}
