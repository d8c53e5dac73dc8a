/**
 * The values resolvers pass around for schema types (codegen `mappers`): the domain's own types.
 */
export type { HistoryGap as HistoryGapModel, Message as MessageModel } from '../rooms/message.js';
export type { Identity as SessionModel } from '../auth/authenticator.js';
