import { graphql } from './gql/index.js';

/* The operations of the operator CLI (bin/cli), typed by web/codegen.ts against schema/schema.graphql. */

export const CliLogin = graphql(`
  mutation CliLogin($username: String!, $password: String!) {
    login(username: $username, password: $password) {
      token
    }
  }
`);

export const CliContainers = graphql(`
  query CliContainers($groupId: ID, $metaId: ID, $first: Int, $after: String) {
    containers(groupId: $groupId, metaId: $metaId, first: $first, after: $after) {
      totalCount
      endCursor
      hasNextPage
      nodes {
        id
        name
        image
        state
        status
        metaId
        node {
          id
          name
        }
      }
    }
  }
`);

export const CliNodes = graphql(`
  query CliNodes {
    nodes {
      id
      name
      status
    }
  }
`);

export const CliCreateContainer = graphql(`
  mutation CliCreateContainer($nodeId: ID!, $config: ContainerConfigInput!) {
    createContainer(nodeId: $nodeId, config: $config) {
      id
      name
      image
      state
      status
      node {
        id
        name
      }
    }
  }
`);

export const CliContainerLogs = graphql(`
  query CliContainerLogs($id: ID!, $tail: Int) {
    containerLogs(id: $id, tail: $tail)
  }
`);

export const CliFindContainer = graphql(`
  query CliFindContainer($search: String!) {
    containers(search: $search, first: 50) {
      nodes {
        id
        name
      }
    }
  }
`);

export const CliServices = graphql(`
  query CliServices {
    groups {
      id
      name
      metas {
        id
        name
        image
        imageTag
        instances
        containers {
          id
          state
        }
      }
    }
  }
`);

export const CliScale = graphql(`
  mutation CliScale($id: ID!, $instances: Int!) {
    updateMeta(id: $id, input: { instances: $instances }) {
      id
      name
      instances
    }
  }
`);
