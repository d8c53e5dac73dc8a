/**
 * Reports as they travel through Redis: JSON, checked on the way in, since anything that can write
 * to the Redis can write there.
 */
import type { ReplicaReport, RoomLoad } from './types.js';

export const encodeReport = (report: ReplicaReport): string => JSON.stringify(report);

/** The report in `text`, or undefined when it is not one. */
export function decodeReport(text: string): ReplicaReport | undefined {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (typeof value !== 'object' || value === null) return undefined;
  const report = value as Record<string, unknown>;
  const counts = ['reportedAt', 'roomCount', 'subscriptions'].every((key) => Number.isSafeInteger(report[key]));
  const names = typeof report.replica === 'string' && typeof report.instance === 'string';
  if (!counts || !names || !Array.isArray(report.rooms) || !report.rooms.every(isRoomLoad)) return undefined;
  return report as unknown as ReplicaReport;
}

function isRoomLoad(value: unknown): value is RoomLoad {
  return Array.isArray(value) && value.length === 2 && typeof value[0] === 'string' && Number.isSafeInteger(value[1]);
}
