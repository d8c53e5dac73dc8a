/**
 * Direct delivery renders each event once per group with graphql-jit: the bytes must be what
 * graphql-js's execute gives, resume extensions added, for every kind of event and operation shape.
 */
import { execute, parse } from 'graphql';
import { compileQuery, isCompiledQuery } from 'graphql-jit';
import { describe, expect, it } from 'vitest';
import { ErrorCode, RoomcastError } from '../../src/errors.js';
import { createRoomcastSchema } from '../../src/graphql/schema.js';
import { resumeExtensions } from '../../src/graphql/resume.js';
import { decodeMessage, type RoomEvent } from '../../src/rooms/message.js';
import { RenderGroup } from '../../src/transports/ws-delivery.js';

const schema = createRoomcastSchema();

const operations = {
  'every field of both kinds': `subscription S($room: ID!) { messages(room: $room) {
    __typename
    ... on Message { room seq epoch event publishedAt sender data cursor }
    ... on HistoryGap { room after missed } } }`,
  'aliases and several rooms': `subscription { messagesIn(rooms: ["a", "b"]) { ... on Message { r: room n: seq d: data } } }`,
  'a directive on a variable': `subscription S($withSeq: Boolean!) { broadcasts { ... on Message { seq @include(if: $withSeq) data } } }`,
};

const message = decodeMessage(
  JSON.stringify({
    room: 'a',
    seq: 3,
    epoch: 'e1',
    event: 'chat',
    publishedAt: 1764650000000,
    sender: 'user "1"',
    data: { big: 1e21, text: 'é\u2028</script>', list: [null, true, 1.5], nested: { deep: [{}] } },
  }),
);
const events: Record<string, RoomEvent | RoomcastError> = {
  message,
  'a gap': { room: 'a', after: 'cursor-1', missed: 4 },
  'a reset': { room: 'a', after: 'cursor-1', missed: null },
  'an error that ends the subscription': new RoomcastError(ErrorCode.FORBIDDEN, 'no longer allowed to read this room'),
};
const variableValues = { room: 'a', withSeq: true };

describe.each(Object.entries(operations))('rendering %s', (_name, source) => {
  const document = parse(source);
  const compiled = compileQuery(schema, document);
  const group = new RenderGroup('test', { schema, document, variableValues }, isCompiledQuery(compiled) ? compiled : undefined);

  it('should compile (rendering would otherwise fall back to graphql-js)', () => {
    expect(isCompiledQuery(compiled)).toBe(true);
  });

  it.each(Object.entries(events))('should render %s as graphql-js executes it', async (_kind, event) => {
    const result = await execute({ schema, document, variableValues, rootValue: event, contextValue: {} });
    const expected = event instanceof RoomcastError ? result : { ...result, extensions: resumeExtensions(event) };
    const rendered = await group.render(event);
    expect(rendered.toString()).toBe(JSON.stringify(expected));
  });
});
