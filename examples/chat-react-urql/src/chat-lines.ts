/**
 * The chat's lines, kept in the room's order: published ones by seq, then this client's own that are
 * not stored yet (sent with excludeSelf, they are shown at once and never come back by subscription).
 */
export interface ChatLine {
  /** Stable React key: the idempotency key of this client's own messages, `seq:N` for the others. */
  readonly key: string;
  readonly seq?: number;
  readonly name: string;
  readonly text: string;
  readonly state: 'sent' | 'pending' | 'failed';
}

export type ChatAction =
  | { type: 'loaded'; lines: ChatLine[] }
  | { type: 'received'; line: ChatLine }
  | { type: 'pending'; line: ChatLine }
  | { type: 'stored'; key: string; seq: number }
  | { type: 'failed'; key: string }
  | { type: 'retrying'; key: string };

/** A message's data as the chat publishes it; anything else published to the room is shown as JSON. */
export function lineOf(seq: number, data: unknown): ChatLine {
  const { name, text } = (data ?? {}) as { name?: unknown; text?: unknown };
  return typeof name === 'string' && typeof text === 'string'
    ? { key: `seq:${seq}`, seq, name, text, state: 'sent' }
    : { key: `seq:${seq}`, seq, name: '?', text: JSON.stringify(data), state: 'sent' };
}

function ordered(lines: ChatLine[]): ChatLine[] {
  const stored = lines.filter((line) => line.seq !== undefined).sort((a, b) => a.seq! - b.seq!);
  return [...stored, ...lines.filter((line) => line.seq === undefined)];
}

const has = (lines: ChatLine[], seq: number | undefined) => seq !== undefined && lines.some((line) => line.seq === seq);

export function reduceChat(lines: ChatLine[], action: ChatAction): ChatLine[] {
  switch (action.type) {
    case 'loaded': {
      // History holds every stored message, our own included: keep only what it cannot know yet.
      const newest = action.lines.at(-1)?.seq ?? 0;
      return ordered([...action.lines, ...lines.filter((line) => line.seq === undefined || line.seq > newest)]);
    }
    case 'received':
      return has(lines, action.line.seq) ? lines : ordered([...lines, action.line]);
    case 'pending':
      return [...lines, action.line];
    case 'stored':
      return ordered(lines.map((line) => (line.key === action.key ? { ...line, seq: action.seq, state: 'sent' } : line)));
    case 'failed':
    case 'retrying': {
      const state = action.type === 'failed' ? 'failed' : 'pending';
      return lines.map((line) => (line.key === action.key ? { ...line, state } : line));
    }
  }
}
