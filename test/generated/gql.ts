/* eslint-disable */
import * as types from './graphql.js';
import type { TypedDocumentNode as DocumentNode } from '@graphql-typed-document-node/core';

/**
 * Map of all GraphQL operations in the project.
 *
 * This map has several performance disadvantages:
 * 1. It is not tree-shakeable, so it will include all operations in the project.
 * 2. It is not minifiable, so the string of a GraphQL query will be multiple times inside the bundle.
 * 3. It does not support dead code elimination, so it will add unused operations.
 *
 * Therefore it is highly recommended to use the babel or swc plugin for production.
 * Learn more about it here: https://the-guild.dev/graphql/codegen/plugins/presets/preset-client#reducing-bundle-size
 */
type Documents = {
    "fragment RoomEventFields on RoomEvent {\n  __typename\n  ... on Message {\n    cursor\n    room\n    seq\n    event\n    data\n    publishedAt\n    sender\n  }\n  ... on HistoryGap {\n    room\n    after\n    missed\n  }\n}\n\nsubscription RoomMessages($room: ID!, $after: String) {\n  messages(room: $room, after: $after) {\n    ...RoomEventFields\n  }\n}\n\nsubscription Broadcasts($after: String) {\n  broadcasts(after: $after) {\n    ...RoomEventFields\n  }\n}\n\nmutation Publish($room: ID!, $event: String!, $data: JSON!, $idempotencyKey: String, $excludeSelf: Boolean) {\n  publish(\n    room: $room\n    event: $event\n    data: $data\n    idempotencyKey: $idempotencyKey\n    excludeSelf: $excludeSelf\n  ) {\n    cursor\n    room\n    seq\n    event\n    data\n    publishedAt\n    sender\n  }\n}\n\nmutation Broadcast($event: String!, $data: JSON!, $idempotencyKey: String, $excludeSelf: Boolean) {\n  broadcast(\n    event: $event\n    data: $data\n    idempotencyKey: $idempotencyKey\n    excludeSelf: $excludeSelf\n  ) {\n    cursor\n    room\n    seq\n    event\n    data\n    publishedAt\n    sender\n  }\n}\n\nquery History($room: ID!, $after: String, $limit: Int) {\n  history(room: $room, after: $after, limit: $limit) {\n    cursor\n    room\n    seq\n    event\n    data\n    publishedAt\n    sender\n  }\n}": typeof types.RoomEventFieldsFragmentDoc,
};
const documents: Documents = {
    "fragment RoomEventFields on RoomEvent {\n  __typename\n  ... on Message {\n    cursor\n    room\n    seq\n    event\n    data\n    publishedAt\n    sender\n  }\n  ... on HistoryGap {\n    room\n    after\n    missed\n  }\n}\n\nsubscription RoomMessages($room: ID!, $after: String) {\n  messages(room: $room, after: $after) {\n    ...RoomEventFields\n  }\n}\n\nsubscription Broadcasts($after: String) {\n  broadcasts(after: $after) {\n    ...RoomEventFields\n  }\n}\n\nmutation Publish($room: ID!, $event: String!, $data: JSON!, $idempotencyKey: String, $excludeSelf: Boolean) {\n  publish(\n    room: $room\n    event: $event\n    data: $data\n    idempotencyKey: $idempotencyKey\n    excludeSelf: $excludeSelf\n  ) {\n    cursor\n    room\n    seq\n    event\n    data\n    publishedAt\n    sender\n  }\n}\n\nmutation Broadcast($event: String!, $data: JSON!, $idempotencyKey: String, $excludeSelf: Boolean) {\n  broadcast(\n    event: $event\n    data: $data\n    idempotencyKey: $idempotencyKey\n    excludeSelf: $excludeSelf\n  ) {\n    cursor\n    room\n    seq\n    event\n    data\n    publishedAt\n    sender\n  }\n}\n\nquery History($room: ID!, $after: String, $limit: Int) {\n  history(room: $room, after: $after, limit: $limit) {\n    cursor\n    room\n    seq\n    event\n    data\n    publishedAt\n    sender\n  }\n}": types.RoomEventFieldsFragmentDoc,
};

/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 *
 *
 * @example
 * ```ts
 * const query = graphql(`query GetUser($id: ID!) { user(id: $id) { name } }`);
 * ```
 *
 * The query argument is unknown!
 * Please regenerate the types.
 */
export function graphql(source: string): unknown;

/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "fragment RoomEventFields on RoomEvent {\n  __typename\n  ... on Message {\n    cursor\n    room\n    seq\n    event\n    data\n    publishedAt\n    sender\n  }\n  ... on HistoryGap {\n    room\n    after\n    missed\n  }\n}\n\nsubscription RoomMessages($room: ID!, $after: String) {\n  messages(room: $room, after: $after) {\n    ...RoomEventFields\n  }\n}\n\nsubscription Broadcasts($after: String) {\n  broadcasts(after: $after) {\n    ...RoomEventFields\n  }\n}\n\nmutation Publish($room: ID!, $event: String!, $data: JSON!, $idempotencyKey: String, $excludeSelf: Boolean) {\n  publish(\n    room: $room\n    event: $event\n    data: $data\n    idempotencyKey: $idempotencyKey\n    excludeSelf: $excludeSelf\n  ) {\n    cursor\n    room\n    seq\n    event\n    data\n    publishedAt\n    sender\n  }\n}\n\nmutation Broadcast($event: String!, $data: JSON!, $idempotencyKey: String, $excludeSelf: Boolean) {\n  broadcast(\n    event: $event\n    data: $data\n    idempotencyKey: $idempotencyKey\n    excludeSelf: $excludeSelf\n  ) {\n    cursor\n    room\n    seq\n    event\n    data\n    publishedAt\n    sender\n  }\n}\n\nquery History($room: ID!, $after: String, $limit: Int) {\n  history(room: $room, after: $after, limit: $limit) {\n    cursor\n    room\n    seq\n    event\n    data\n    publishedAt\n    sender\n  }\n}"): (typeof documents)["fragment RoomEventFields on RoomEvent {\n  __typename\n  ... on Message {\n    cursor\n    room\n    seq\n    event\n    data\n    publishedAt\n    sender\n  }\n  ... on HistoryGap {\n    room\n    after\n    missed\n  }\n}\n\nsubscription RoomMessages($room: ID!, $after: String) {\n  messages(room: $room, after: $after) {\n    ...RoomEventFields\n  }\n}\n\nsubscription Broadcasts($after: String) {\n  broadcasts(after: $after) {\n    ...RoomEventFields\n  }\n}\n\nmutation Publish($room: ID!, $event: String!, $data: JSON!, $idempotencyKey: String, $excludeSelf: Boolean) {\n  publish(\n    room: $room\n    event: $event\n    data: $data\n    idempotencyKey: $idempotencyKey\n    excludeSelf: $excludeSelf\n  ) {\n    cursor\n    room\n    seq\n    event\n    data\n    publishedAt\n    sender\n  }\n}\n\nmutation Broadcast($event: String!, $data: JSON!, $idempotencyKey: String, $excludeSelf: Boolean) {\n  broadcast(\n    event: $event\n    data: $data\n    idempotencyKey: $idempotencyKey\n    excludeSelf: $excludeSelf\n  ) {\n    cursor\n    room\n    seq\n    event\n    data\n    publishedAt\n    sender\n  }\n}\n\nquery History($room: ID!, $after: String, $limit: Int) {\n  history(room: $room, after: $after, limit: $limit) {\n    cursor\n    room\n    seq\n    event\n    data\n    publishedAt\n    sender\n  }\n}"];

export function graphql(source: string) {
  return (documents as any)[source] ?? {};
}

export type DocumentType<TDocumentNode extends DocumentNode<any, any>> = TDocumentNode extends DocumentNode<  infer TType,  any>  ? TType  : never;