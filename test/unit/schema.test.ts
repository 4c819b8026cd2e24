import { readFile } from 'node:fs/promises';
import {
  buildSchema as buildSdl,
  isEnumType,
  isInputObjectType,
  isObjectType,
  isScalarType,
  type GraphQLNamedType,
  type GraphQLSchema,
} from 'graphql';
import { beforeAll, describe, expect, it } from 'vitest';
import { buildGatewaySchema, printGatewaySchema } from '../../gateway/graphql/build-schema.js';

/**
 * The binding contract: the GraphQL block of API.md, comments removed, plus the three inputs API.md
 * only names in comments (written as the brief describes them).
 */
const CONTRACT = /* GraphQL */ `
  input CreateGroupInput {
    name: String!
    description: String
    clusterMode: Boolean!
    servers: [String!]
  }
  input UpdateGroupInput {
    name: String
    description: String
    clusterMode: Boolean
    servers: [String!]
    owners: [String!]
    confirmRemoveClusterContainers: Boolean
  }
  input UpdateMetaInput {
    instances: Int
    config: ContainerConfigInput
    constraints: [String!]
    webhooks: [WebhookInput!]
    removeDelay: Boolean
    recovery: Boolean
  }
  scalar DateTime
  scalar JSON

  enum NodeStatus {
    PENDING
    HEALTHY
    UNHEALTHY
    DISCONNECTED
  }
  enum ContainerState {
    CREATED
    RUNNING
    PAUSED
    RESTARTING
    EXITED
    DEAD
    REMOVING
  }
  enum ContainerAction {
    START
    STOP
    RESTART
    KILL
    PAUSE
    UNPAUSE
  }
  enum MetaEventType {
    CreateMetaEvent
    RemoveMetaEvent
    OperateMetaEvent
    UpdateMetaEvent
    UpgradeMetaEvent
    MigrateMetaEvent
    RecoveryMetaEvent
  }

  type Query {
    me: User!
    groups: [Group!]!
    group(id: ID!): Group
    nodes(groupId: ID, status: NodeStatus): [Node!]!
    node(id: ID!): Node
    metas(groupId: ID!): [Meta!]!
    meta(id: ID!): Meta
    containers(
      groupId: ID
      nodeId: ID
      metaId: ID
      state: ContainerState
      first: Int
      after: String
    ): ContainerConnection!
    container(id: ID!): Container
    containerLogs(id: ID!, tail: Int): [String!]!
    images(nodeId: ID!): [Image!]!
    webhookDeliveries(metaId: ID!, first: Int): [WebhookDelivery!]!
  }

  type Mutation {
    login(username: String!, password: String!): AuthPayload!
    createGroup(input: CreateGroupInput!): Group!
    updateGroup(id: ID!, input: UpdateGroupInput!): Group!
    deleteGroup(id: ID!): Boolean!
    addServer(groupId: ID!, address: String!): Group!
    removeServer(groupId: ID!, address: String!): Group!
    setNodeLabels(nodeId: ID!, labels: [LabelInput!]!): Node!

    createContainer(nodeId: ID!, config: ContainerConfigInput!): Container!
    operateContainer(id: ID!, action: ContainerAction!): Container!
    removeContainer(id: ID!, force: Boolean): Boolean!

    createMeta(input: CreateMetaInput!): Meta!
    updateMeta(id: ID!, input: UpdateMetaInput!): Meta!
    upgradeMeta(id: ID!, imageTag: String!): Meta!
    operateMeta(id: ID!, action: ContainerAction!): Meta!
    removeMeta(id: ID!): Boolean!

    pullImage(nodeId: ID!, image: String!): Image!
    removeImage(nodeId: ID!, image: String!, force: Boolean): Boolean!
  }

  type Subscription {
    containerStatusChanged(groupId: ID, nodeId: ID, metaId: ID): ContainerStatusEvent!
    nodeStatusChanged(groupId: ID): NodeStatusEvent!
    metaEvents(groupId: ID, metaId: ID): MetaEvent!
  }

  type AuthPayload {
    token: String!
    user: User!
  }
  type User {
    id: ID!
    username: String!
    admin: Boolean!
  }
  type Label {
    key: String!
    value: String!
  }
  input LabelInput {
    key: String!
    value: String!
  }

  type Group {
    id: ID!
    name: String!
    description: String
    clusterMode: Boolean!
    servers: [String!]!
    nodes: [Node!]!
    metas: [Meta!]!
  }
  type Node {
    id: ID!
    name: String!
    ip: String!
    status: NodeStatus!
    cpus: Int!
    memoryBytes: Float!
    cpuPercent: Float
    memoryUsedBytes: Float
    labels: [Label!]!
    engineLabels: [Label!]!
    dockerVersion: String
    containers: [Container!]!
  }
  type Meta {
    id: ID!
    groupId: ID!
    name: String!
    image: String!
    imageTag: String!
    instances: Int!
    constraints: [String!]!
    containers: [Container!]!
    createdAt: DateTime!
    updatedAt: DateTime!
  }
  type Container {
    id: ID!
    name: String!
    nodeId: ID!
    node: Node
    image: String!
    state: ContainerState!
    status: String!
    metaId: ID
    index: Int
    createdAt: DateTime!
  }
  type ContainerConnection {
    nodes: [Container!]!
    totalCount: Int!
    endCursor: String
    hasNextPage: Boolean!
  }
  type Image {
    id: ID!
    tags: [String!]!
    sizeBytes: Float!
  }
  type WebhookDelivery {
    id: ID!
    event: MetaEventType!
    url: String!
    attempts: Int!
    statusCode: Int
    delivered: Boolean!
    lastAttemptAt: DateTime
  }
  type ContainerStatusEvent {
    container: Container!
    previousState: ContainerState
    at: DateTime!
  }
  type NodeStatusEvent {
    node: Node!
    previousStatus: NodeStatus
    at: DateTime!
  }
  type MetaEvent {
    event: MetaEventType!
    timestamp: Float!
    groupId: ID!
    metaId: ID!
    payload: JSON!
  }

  input ContainerConfigInput {
    name: String!
    image: String!
    command: [String!]
    env: [String!]
    hostname: String
    networkMode: String
    ports: [PortInput!]
    volumes: [VolumeInput!]
    dns: [String!]
    extraHosts: [String!]
    restartPolicy: String
    labels: [LabelInput!]
    cpuShares: Int
    memoryMB: Int
  }
  input PortInput {
    privatePort: Int!
    publicPort: Int
    type: String
  }
  # API.md "Volumes": hostPath became optional (exactly one of hostPath, volume and nfs).
  input VolumeInput {
    containerPath: String!
    hostPath: String
    volume: String
    nfs: NfsVolumeInput
    readOnly: Boolean
  }
  input NfsVolumeInput {
    server: String!
    path: String!
    options: String
  }
  input WebhookInput {
    url: String!
    secretToken: String
  }
  input CreateMetaInput {
    groupId: ID!
    instances: Int!
    config: ContainerConfigInput!
    constraints: [String!]
    webhooks: [WebhookInput!]
    removeDelay: Boolean
    recovery: Boolean
  }
`;

let schema: GraphQLSchema;
let contract: GraphQLSchema;

beforeAll(async () => {
  schema = await buildGatewaySchema();
  contract = buildSdl(CONTRACT);
});

const named = (s: GraphQLSchema): GraphQLNamedType[] =>
  Object.values(s.getTypeMap()).filter((t) => !t.name.startsWith('__'));

describe('the schema against API.md', () => {
  it('has every type of the contract, of the same kind', () => {
    for (const type of named(contract)) {
      const ours = schema.getType(type.name);
      expect(ours, type.name).toBeDefined();
      expect(ours?.constructor.name, type.name).toBe(type.constructor.name);
    }
  });

  it('has every field with the same type and every argument with the same type', () => {
    const problems: string[] = [];
    for (const type of named(contract)) {
      const ours = schema.getType(type.name);
      if (
        (isObjectType(type) && isObjectType(ours)) ||
        (isInputObjectType(type) && isInputObjectType(ours))
      ) {
        const ourFields = ours.getFields();
        for (const field of Object.values(type.getFields())) {
          const mine = ourFields[field.name];
          if (!mine) {
            problems.push(`${type.name}.${field.name} is missing`);
            continue;
          }
          if (String(mine.type) !== String(field.type))
            problems.push(
              `${type.name}.${field.name}: ${String(mine.type)} instead of ${String(field.type)}`,
            );
          if ('args' in field && 'args' in mine) {
            for (const arg of field.args) {
              const ourArg = mine.args.find((a) => a.name === arg.name);
              if (!ourArg) problems.push(`${type.name}.${field.name}(${arg.name}) is missing`);
              else if (String(ourArg.type) !== String(arg.type))
                problems.push(
                  `${type.name}.${field.name}(${arg.name}): ${String(ourArg.type)} instead of ${String(arg.type)}`,
                );
            }
            for (const arg of mine.args) {
              if (
                !field.args.some((a: { name: string }) => a.name === arg.name) &&
                String(arg.type).endsWith('!')
              )
                problems.push(`${type.name}.${field.name}(${arg.name}) is required but not in the contract`);
            }
          }
        }
      }
    }
    expect(problems).toEqual([]);
  });

  it('has the same enum values', () => {
    for (const type of named(contract).filter(isEnumType)) {
      const ours = schema.getType(type.name);
      expect(isEnumType(ours)).toBe(true);
      if (isEnumType(ours))
        expect(ours.getValues().map((v) => v.name)).toEqual(type.getValues().map((v) => v.name));
    }
  });

  it('has the scalars', () => {
    expect(isScalarType(schema.getType('DateTime'))).toBe(true);
    expect(isScalarType(schema.getType('JSON'))).toBe(true);
  });

  it('lists the arguments in the order the contract writes them, additions after them', () => {
    const args = (type: string, field: string) => {
      const t = schema.getType(type);
      if (!isObjectType(t)) throw new Error(`${type} is not an object type`);
      return t.getFields()[field]!.args.map((a) => a.name);
    };
    expect(args('Query', 'containers')).toEqual([
      'groupId',
      'nodeId',
      'metaId',
      'state',
      'first',
      'after',
      'search',
    ]);
    expect(args('Mutation', 'login')).toEqual(['username', 'password']);
    expect(args('Subscription', 'containerStatusChanged')).toEqual(['groupId', 'nodeId', 'metaId']);
  });
});

describe('documentation', () => {
  it('describes every type, field, argument and enum value', () => {
    const missing: string[] = [];
    for (const type of named(schema)) {
      if (['String', 'Boolean', 'Int', 'Float', 'ID'].includes(type.name)) continue;
      if (!type.description) missing.push(type.name);
      if (isObjectType(type) || isInputObjectType(type)) {
        for (const field of Object.values(type.getFields())) {
          if (!field.description) missing.push(`${type.name}.${field.name}`);
          if ('args' in field)
            for (const arg of field.args)
              if (!arg.description) missing.push(`${type.name}.${field.name}(${arg.name})`);
        }
      }
    }
    // the root operation types themselves carry no description in SDL
    expect(missing.filter((m) => !['Query', 'Mutation', 'Subscription'].includes(m))).toEqual([]);
  });

  it('never exposes a webhook secret', () => {
    const webhook = schema.getType('Webhook');
    expect(isObjectType(webhook) && Object.keys(webhook.getFields())).toEqual(['url', 'hasSecretToken']);
  });
});

describe('schema/schema.graphql', () => {
  it('is the printed schema (run `npm run schema:print` after changing schema/ or resolvers/)', async () => {
    const committed = await readFile(new URL('../../schema/schema.graphql', import.meta.url), 'utf8');
    expect(committed).toBe(printGatewaySchema(schema));
  });
});
