/**
 * The inspector's queries (schema/inspect.graphql): the cluster's rooms and replicas, from the room
 * directory (inspector/). Both need `"@admin": ["inspect"]`, checked by the one guard every room
 * operation goes through.
 */
import { ADMIN_KEY } from '../../auth/capability.js';
import { authorize } from '../../auth/guard.js';
import { badUserInput, ErrorCode, RoomcastError } from '../../errors.js';
import type { QueryResolvers, RoomInfo } from '../../generated/resolvers.js';
import { roomsOf, type RoomView } from '../../inspector/cluster-view.js';
import type { RoomDirectory } from '../../inspector/directory.js';
import type { ReplicaReport } from '../../inspector/types.js';
import { BROADCAST_ROOM } from '../../rooms/names.js';
import type { GraphQLContext } from '../context.js';

const MAX_ROOMS_LISTED = 1000;

export const InspectQuery: Pick<QueryResolvers, 'rooms' | 'replicas'> = {
  rooms: async (_root, { limit }, context) => {
    const directory = await openDirectory(context);
    const count = limit ?? 100;
    if (!Number.isInteger(count) || count < 1 || count > MAX_ROOMS_LISTED) {
      throw badUserInput(`limit must be from 1 to ${MAX_ROOMS_LISTED} (got ${count})`);
    }
    const views = roomsOf(await reportsOf(directory), count);
    return Promise.all(views.map((view) => describeRoom(view, context)));
  },
  replicas: async (_root, _args, context) => {
    const reports = await reportsOf(await openDirectory(context));
    return reports
      .map((report) => ({
        replica: report.replica,
        reportedAt: new Date(report.reportedAt),
        rooms: report.roomCount,
        listedRooms: report.rooms.length,
        subscriptions: report.subscriptions,
      }))
      .sort((a, b) => (a.replica < b.replica ? -1 : a.replica > b.replica ? 1 : 0));
  },
};

/** The directory, for an identity allowed to inspect, on a server whose inspector is on. */
async function openDirectory({ identity, inspector }: GraphQLContext): Promise<RoomDirectory> {
  if (!inspector) throw new RoomcastError(ErrorCode.FORBIDDEN, 'the inspector is off on this server (INSPECTOR=off)');
  await authorize(identity, ADMIN_KEY, 'inspect');
  return inspector;
}

async function reportsOf(directory: RoomDirectory): Promise<ReplicaReport[]> {
  try {
    return await directory.replicas();
  } catch (error) {
    throw new RoomcastError(
      ErrorCode.UNAVAILABLE,
      `could not read the replicas' reports: ${error instanceof Error ? error.message : String(error)}`,
    );
  }
}

/** The room's position and presence, read now, beside its subscriptions as reported. */
async function describeRoom(view: RoomView, { broker, presence }: GraphQLContext): Promise<RoomInfo> {
  const [head, members] = await Promise.all([
    broker.head(view.room),
    // The broadcast stream has no members; limit 1: only the count is wanted.
    view.room === BROADCAST_ROOM ? undefined : presence.read(view.room, 1),
  ]);
  return { ...view, replicas: [...view.replicas], seq: head.seq, epoch: head.epoch, presence: members?.count ?? null };
}
