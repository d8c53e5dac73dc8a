/**
 * Metrics on their own: labels take values from fixed sets only (client text never becomes one),
 * the delivery tallies read as counters, and a server's registry is its own.
 */
import { describe, expect, it } from 'vitest';
import { RoomcastError, ErrorCode } from '../../src/errors.js';
import { Metrics } from '../../src/metrics/metrics.js';

const lines = (text: string, name: string) => text.split('\n').filter((line) => line.startsWith(`${name}{`) || line.startsWith(`${name} `));

describe('Metrics', () => {
  it('should bound close codes and auth reasons to fixed sets', async () => {
    const metrics = new Metrics(false);
    for (const code of [1000, 4403, 4008, 3999, 4123]) metrics.webSocketClose(code);
    metrics.authFailure('token expired');
    metrics.authFailure('invalid roomcast claim: room "secret-room" is not a valid pattern');
    metrics.authFailure('something new from a library');
    const text = await metrics.text();
    expect(lines(text, 'roomcast_websocket_closes_total').sort()).toEqual([
      'roomcast_websocket_closes_total{code="1000"} 1',
      'roomcast_websocket_closes_total{code="4008"} 1',
      'roomcast_websocket_closes_total{code="4403"} 1',
      'roomcast_websocket_closes_total{code="other"} 2',
    ]);
    expect(lines(text, 'roomcast_auth_failures_total').sort()).toEqual([
      'roomcast_auth_failures_total{reason="claims"} 1',
      'roomcast_auth_failures_total{reason="expired"} 1',
      'roomcast_auth_failures_total{reason="other"} 1',
    ]);
    expect(text).not.toContain('secret-room');
    // No process metrics when asked for none (METRICS=off).
    expect(text).not.toContain('nodejs_');
  });

  it('should count publishes by result, and errors that are not Roomcast codes as other', async () => {
    const metrics = new Metrics(false);
    await metrics.observePublish(async () => 1);
    await expect(metrics.observePublish(async () => Promise.reject(new RoomcastError(ErrorCode.UNAVAILABLE, 'down')))).rejects.toThrow(
      'down',
    );
    await expect(metrics.observePublish(async () => Promise.reject(new RoomcastError(ErrorCode.FORBIDDEN, 'no')))).rejects.toThrow('no');
    await expect(
      metrics.observePublish(() => {
        throw new Error('room-xyz broke');
      }),
    ).rejects.toThrow('broke');
    const text = await metrics.text();
    expect(lines(text, 'roomcast_publishes_total').sort()).toEqual([
      'roomcast_publishes_total{result="ok"} 1',
      'roomcast_publishes_total{result="rejected",code="FORBIDDEN"} 1',
      'roomcast_publishes_total{result="rejected",code="other"} 1',
      'roomcast_publishes_total{result="unavailable"} 1',
    ]);
    expect(lines(text, 'roomcast_publish_duration_seconds_count')).toEqual(['roomcast_publish_duration_seconds_count 4']);
  });

  it('should read the delivery tallies as counters at each scrape, and keep registries apart', async () => {
    const one = new Metrics(false);
    const two = new Metrics(false);
    one.webSocketDelivery.frames += 3;
    one.webSocketDelivery.bytes += 300;
    one.sseDelivery.frames += 1;
    expect(lines(await one.text(), 'roomcast_messages_delivered_total')).toEqual([
      'roomcast_messages_delivered_total{transport="websocket"} 3',
      'roomcast_messages_delivered_total{transport="sse"} 1',
    ]);
    one.webSocketDelivery.frames += 2;
    expect(lines(await one.text(), 'roomcast_messages_delivered_total')[0]).toBe(
      'roomcast_messages_delivered_total{transport="websocket"} 5',
    );
    expect(lines(await one.text(), 'roomcast_delivered_bytes_total')[0]).toBe('roomcast_delivered_bytes_total{transport="websocket"} 300');
    expect(lines(await two.text(), 'roomcast_messages_delivered_total')[0]).toBe(
      'roomcast_messages_delivered_total{transport="websocket"} 0',
    );
  });

  it('should time Redis commands by command and count reconnects by connection', async () => {
    const metrics = new Metrics(false);
    await metrics.redisCommand('publish', Promise.resolve('x'));
    await expect(metrics.redisCommand('read', Promise.reject(new Error('gone')))).rejects.toThrow('gone');
    metrics.redisReconnect('subscriber');
    const text = await metrics.text();
    expect(lines(text, 'roomcast_redis_command_duration_seconds_count').sort()).toEqual([
      'roomcast_redis_command_duration_seconds_count{command="publish"} 1',
      'roomcast_redis_command_duration_seconds_count{command="read"} 1',
    ]);
    expect(lines(text, 'roomcast_redis_reconnects_total')).toEqual(['roomcast_redis_reconnects_total{connection="subscriber"} 1']);
  });
});
