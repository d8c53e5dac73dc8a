/**
 * MAX_RESPONSE_BYTES: the bytes of history messages (their JSON, `Message.size`) one operation may
 * read, summed over all its `history` fields (15 aliased reads of 1,000 messages of 64 KiB each would
 * otherwise make one request read about 1 GB). One budget per operation, in its context.
 *
 * The reads of one operation run one after another, each only while the budget is not spent, so an
 * operation over it stops reading at the first read that crosses it: at most the budget plus one
 * read is ever held, whatever the number of aliases.
 */
import { HistoryOverBytes } from '../broker/broker.js';
import type { Message } from '../rooms/message.js';
import { responseTooLarge } from './errors.js';

export class HistoryBudget {
  private spent = 0;
  private turn: Promise<unknown> = Promise.resolve();

  constructor(readonly maxBytes: number) {}

  /**
   * Runs `read` after the operation's earlier reads, with what is left of the budget (a read decodes no
   * more than that: a parsed message can take many times its JSON); RESPONSE_TOO_LARGE once it is spent.
   */
  read(read: (maxBytes: number) => Promise<Message[]>): Promise<Message[]> {
    const result = this.turn.then(async () => {
      if (this.spent > this.maxBytes) throw responseTooLarge(this.spent, this.maxBytes);
      let messages: Message[];
      try {
        messages = await read(this.maxBytes - this.spent);
      } catch (error) {
        if (!(error instanceof HistoryOverBytes)) throw error;
        this.spent += error.bytes;
        throw responseTooLarge(this.spent, this.maxBytes);
      }
      for (const message of messages) this.spent += message.size;
      if (this.spent > this.maxBytes) throw responseTooLarge(this.spent, this.maxBytes);
      return messages;
    });
    this.turn = result.catch(() => {});
    return result;
  }
}
