/**
 * MAX_RESPONSE_BYTES: the bytes of history messages (their JSON, `Message.size`) one operation may
 * read, summed over all its `history` fields (15 aliased reads of 1,000 messages of 64 KiB each would
 * otherwise make one request read about 1 GB). One budget per operation, in its context.
 *
 * The reads of one operation run one after another, each only while the budget is not spent, so an
 * operation over it stops reading at the first read that crosses it: at most the budget plus one
 * read is ever held, whatever the number of aliases.
 */
import type { Message } from '../rooms/message.js';
import { responseTooLarge } from './errors.js';

export class HistoryBudget {
  private spent = 0;
  private turn: Promise<unknown> = Promise.resolve();

  constructor(readonly maxBytes: number) {}

  /** Runs `read` after the operation's earlier reads; RESPONSE_TOO_LARGE once the budget is spent. */
  read(read: () => Promise<Message[]>): Promise<Message[]> {
    const result = this.turn.then(async () => {
      if (this.spent > this.maxBytes) throw responseTooLarge(this.spent, this.maxBytes);
      const messages = await read();
      for (const message of messages) this.spent += message.size;
      if (this.spent > this.maxBytes) throw responseTooLarge(this.spent, this.maxBytes);
      return messages;
    });
    this.turn = result.catch(() => {});
    return result;
  }
}
