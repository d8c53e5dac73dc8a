import type { CodegenConfig } from '@graphql-codegen/cli';

// Typed documents for the operations in src/*.graphql, from Roomcast's schema. In your own app, point
// `schema` at the package's copy (node_modules/@roomcast/client/schema/*.graphql) or at a running
// server (http://localhost:4000/graphql/schema.graphql).
const config: CodegenConfig = {
  overwrite: true,
  schema: '../../schema/*.graphql',
  documents: ['src/**/*.graphql'],
  silent: true,
  generates: {
    'src/gql/': {
      preset: 'client',
      presetConfig: { fragmentMasking: false },
      config: {
        useTypeImports: true,
        strictScalars: true,
        // JSON is whatever was published; DateTime arrives as an RFC 3339 string.
        scalars: {
          JSON: { input: 'unknown', output: 'unknown' },
          DateTime: { input: 'string', output: 'string' },
        },
      },
    },
  },
};
export default config;
