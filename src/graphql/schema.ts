/**
 * The executable schema: the SDL in schema/ (the source of truth) with the resolvers.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { createSchema } from 'graphql-yoga';
import type { GraphQLContext } from './context.js';
import { resolvers } from './resolvers/index.js';

const schemaDir = new URL('../../schema/', import.meta.url);

export function loadTypeDefs(): string[] {
  return readdirSync(schemaDir)
    .filter((file) => file.endsWith('.graphql'))
    .sort()
    .map((file) => readFileSync(new URL(file, schemaDir), 'utf8'));
}

export function createRoomcastSchema() {
  return createSchema<GraphQLContext>({ typeDefs: loadTypeDefs(), resolvers });
}
