import 'reflect-metadata';
import {
  isInputObjectType,
  isObjectType,
  lexicographicSortSchema,
  printSchema,
  type GraphQLSchema,
} from 'graphql';
import { buildSchema, getMetadataStorage } from 'type-graphql';
import { resolvers } from '../../resolvers/index.js';
import { applyOperationRules } from '../../resolvers/operation-rules.js';
import { DateTimeScalar } from '../../schema/scalars.js';

let built: Promise<GraphQLSchema> | undefined;

/** The gateway's executable schema (built once per process). */
export function buildGatewaySchema(): Promise<GraphQLSchema> {
  built ??= buildSchema({
    resolvers,
    scalarsMap: [{ type: Date, scalar: DateTimeScalar }],
    validate: { forbidUnknownValues: false },
    emitSchemaFile: false,
    // Every subscription brings its own `subscribe` (the gateway's SubscriptionHub); type-graphql
    // still wants a pubSub, which nothing uses.
    pubSub: {
      publish: () => undefined,
      subscribe: () => {
        throw new Error('subscriptions use the SubscriptionHub, not topics');
      },
    },
  })
    .then(orderArguments)
    .then(plainFieldsResolveByDefault)
    .then(applyOperationRules);
  return built;
}

/**
 * type-graphql registers a method's arguments last to first (parameter decorators run in reverse);
 * put them back in the order they are written, which is the order API.md shows. Only the order of
 * the argument list changes: resolvers read arguments by name.
 */
function orderArguments(schema: GraphQLSchema): GraphQLSchema {
  const position = new Map<string, number>();
  for (const param of getMetadataStorage().params) {
    if (param.kind === 'arg') position.set(`${param.methodName}:${param.name}`, param.index);
  }
  for (const type of Object.values(schema.getTypeMap())) {
    if (!isObjectType(type) || isInputObjectType(type)) continue;
    for (const field of Object.values(type.getFields())) {
      const at = (name: string) => position.get(`${field.name}:${name}`) ?? Number.MAX_SAFE_INTEGER;
      (field.args as unknown as Array<{ name: string }>).sort((a, b) => at(a.name) - at(b.name));
    }
  }
  return schema;
}

/** The SDL committed as schema/schema.graphql: type-graphql's order, not sorted. */
export function printGatewaySchema(schema: GraphQLSchema, sorted = false): string {
  return `${printSchema(sorted ? lexicographicSortSchema(schema) : schema)}\n`;
}

/**
 * type-graphql gives every field a resolver that runs its (here: absent) middlewares and reads the
 * property. For plain fields (no field resolver, no middleware, no auth) graphql-js's default
 * resolver does the same with less work; container lists resolve hundreds of such fields per request.
 */
function plainFieldsResolveByDefault(schema: GraphQLSchema): GraphQLSchema {
  const storage = getMetadataStorage();
  const resolved = new Set(
    storage.fieldResolvers.map(
      (r) => `${(r.getObjectType?.() as { name?: string } | undefined)?.name}.${r.schemaName}`,
    ),
  );
  for (const type of storage.objectTypes) {
    const gqlType = schema.getType(type.name);
    if (!isObjectType(gqlType)) continue;
    const fields = gqlType.getFields();
    for (const field of type.fields ?? []) {
      const gqlField = fields[field.schemaName];
      if (!gqlField || field.name !== field.schemaName) continue;
      if ((field.middlewares?.length ?? 0) > 0 || field.roles !== undefined) continue;
      if (resolved.has(`${type.target.name}.${field.schemaName}`)) continue;
      gqlField.resolve = undefined;
    }
  }
  return schema;
}
