import { graphql } from './gql';

/* Every GraphQL operation of the UI, typed by web/codegen.ts against schema/schema.graphql. */

export const LoginMutation = graphql(`
  mutation Login($username: String!, $password: String!) {
    login(username: $username, password: $password) {
      token
      user {
        id
        username
        admin
      }
    }
  }
`);

export const MeQuery = graphql(`
  query Me {
    me {
      id
      username
      admin
    }
  }
`);

export const DashboardQuery = graphql(`
  query Dashboard {
    groups {
      id
      name
      clusterMode
    }
    nodes {
      id
      name
      ip
      status
    }
    # Counts only: one page-less query per state, answered from the gateway's indexes.
    all: containers(first: 0) {
      totalCount
    }
    RUNNING: containers(state: RUNNING, first: 0) {
      totalCount
    }
    CREATED: containers(state: CREATED, first: 0) {
      totalCount
    }
    RESTARTING: containers(state: RESTARTING, first: 0) {
      totalCount
    }
    PAUSED: containers(state: PAUSED, first: 0) {
      totalCount
    }
    EXITED: containers(state: EXITED, first: 0) {
      totalCount
    }
    DEAD: containers(state: DEAD, first: 0) {
      totalCount
    }
    REMOVING: containers(state: REMOVING, first: 0) {
      totalCount
    }
  }
`);

export const GroupsQuery = graphql(`
  query Groups {
    groups {
      id
      name
      description
      clusterMode
      servers
      owners
      allowedHostPaths
      nodes {
        id
        name
        ip
        apiAddr
        status
      }
      metas {
        id
        name
        instances
      }
    }
  }
`);

export const GroupNamesQuery = graphql(`
  query GroupNames {
    groups {
      id
      name
      clusterMode
    }
  }
`);

export const CreateGroupMutation = graphql(`
  mutation CreateGroup($input: CreateGroupInput!) {
    createGroup(input: $input) {
      id
      name
    }
  }
`);

export const UpdateGroupMutation = graphql(`
  mutation UpdateGroup($id: ID!, $input: UpdateGroupInput!) {
    updateGroup(id: $id, input: $input) {
      id
      name
      description
      clusterMode
      servers
    }
  }
`);

export const DeleteGroupMutation = graphql(`
  mutation DeleteGroup($id: ID!) {
    deleteGroup(id: $id)
  }
`);

export const AddServerMutation = graphql(`
  mutation AddServer($groupId: ID!, $address: String!) {
    addServer(groupId: $groupId, address: $address) {
      id
      servers
    }
  }
`);

export const RemoveServerMutation = graphql(`
  mutation RemoveServer($groupId: ID!, $address: String!) {
    removeServer(groupId: $groupId, address: $address) {
      id
      servers
    }
  }
`);

export const NodesQuery = graphql(`
  query Nodes($groupId: ID, $status: NodeStatus) {
    nodes(groupId: $groupId, status: $status) {
      id
      name
      ip
      status
      cpus
      memoryBytes
      cpuPercent
      memoryUsedBytes
      dockerVersion
      labels {
        key
        value
      }
      engineLabels {
        key
        value
      }
    }
  }
`);

export const ContainerStatsQuery = graphql(`
  query ContainerStats($id: ID!) {
    containerStats(id: $id) {
      at
      cpuPercent
      memoryUsageBytes
      memoryLimitBytes
    }
  }
`);

export const SetNodeLabelsMutation = graphql(`
  mutation SetNodeLabels($nodeId: ID!, $labels: [LabelInput!]!) {
    setNodeLabels(nodeId: $nodeId, labels: $labels) {
      id
      labels {
        key
        value
      }
    }
  }
`);

export const ContainersQuery = graphql(`
  query Containers(
    $groupId: ID
    $nodeId: ID
    $metaId: ID
    $state: ContainerState
    $search: String
    $first: Int
    $after: String
  ) {
    containers(
      groupId: $groupId
      nodeId: $nodeId
      metaId: $metaId
      state: $state
      search: $search
      first: $first
      after: $after
    ) {
      totalCount
      hasNextPage
      endCursor
      nodes {
        id
        name
        nodeId
        node {
          id
          name
          ip
        }
        image
        state
        status
        metaId
        index
        createdAt
      }
    }
  }
`);

export const ContainerQuery = graphql(`
  query Container($id: ID!) {
    container(id: $id) {
      id
      name
      nodeId
      node {
        id
        name
        ip
      }
      image
      state
      status
      metaId
      index
      createdAt
    }
  }
`);

export const ContainerLogsQuery = graphql(`
  query ContainerLogs($id: ID!, $tail: Int) {
    containerLogs(id: $id, tail: $tail)
  }
`);

export const CreateContainerMutation = graphql(`
  mutation CreateContainer($nodeId: ID!, $config: ContainerConfigInput!) {
    createContainer(nodeId: $nodeId, config: $config) {
      id
      name
      state
    }
  }
`);

export const OperateContainerMutation = graphql(`
  mutation OperateContainer($id: ID!, $action: ContainerAction!) {
    operateContainer(id: $id, action: $action) {
      id
      state
      status
    }
  }
`);

export const RemoveContainerMutation = graphql(`
  mutation RemoveContainer($id: ID!, $force: Boolean) {
    removeContainer(id: $id, force: $force)
  }
`);

export const MetasQuery = graphql(`
  query Metas($groupId: ID!) {
    metas(groupId: $groupId) {
      id
      groupId
      name
      image
      imageTag
      instances
      constraints
      createdAt
      updatedAt
      lastFailure {
        message
        at
      }
      containers {
        id
        name
        state
        status
        index
        nodeId
        node {
          id
          name
          ip
        }
      }
    }
  }
`);

export const CreateMetaMutation = graphql(`
  mutation CreateMeta($input: CreateMetaInput!) {
    createMeta(input: $input) {
      id
      name
      instances
    }
  }
`);

export const UpdateMetaMutation = graphql(`
  mutation UpdateMeta($id: ID!, $input: UpdateMetaInput!) {
    updateMeta(id: $id, input: $input) {
      id
      instances
    }
  }
`);

export const UpgradeMetaMutation = graphql(`
  mutation UpgradeMeta($id: ID!, $imageTag: String!) {
    upgradeMeta(id: $id, imageTag: $imageTag) {
      id
      imageTag
    }
  }
`);

export const OperateMetaMutation = graphql(`
  mutation OperateMeta($id: ID!, $action: ContainerAction!) {
    operateMeta(id: $id, action: $action) {
      id
    }
  }
`);

export const RemoveMetaMutation = graphql(`
  mutation RemoveMeta($id: ID!) {
    removeMeta(id: $id)
  }
`);

export const WebhookDeliveriesQuery = graphql(`
  query WebhookDeliveries($metaId: ID!, $first: Int) {
    webhookDeliveries(metaId: $metaId, first: $first) {
      id
      event
      url
      attempts
      statusCode
      delivered
      error
      lastAttemptAt
    }
  }
`);

export const ImagesQuery = graphql(`
  query Images($nodeId: ID!) {
    images(nodeId: $nodeId) {
      id
      tags
      sizeBytes
    }
  }
`);

export const PullImageMutation = graphql(`
  mutation PullImage($nodeId: ID!, $image: String!) {
    pullImage(nodeId: $nodeId, image: $image) {
      id
      tags
    }
  }
`);

export const RemoveImageMutation = graphql(`
  mutation RemoveImage($nodeId: ID!, $image: String!, $force: Boolean) {
    removeImage(nodeId: $nodeId, image: $image, force: $force)
  }
`);

export const ContainerStatusSubscription = graphql(`
  subscription ContainerStatus($groupId: ID, $nodeId: ID, $metaId: ID) {
    containerStatusChanged(groupId: $groupId, nodeId: $nodeId, metaId: $metaId) {
      at
      previousState
      container {
        id
        name
        state
        status
        nodeId
        metaId
      }
    }
  }
`);

export const NodeStatusSubscription = graphql(`
  subscription NodeStatus($groupId: ID) {
    nodeStatusChanged(groupId: $groupId) {
      at
      previousStatus
      node {
        id
        name
        status
      }
    }
  }
`);

export const MetaEventsSubscription = graphql(`
  subscription MetaEvents($groupId: ID, $metaId: ID) {
    metaEvents(groupId: $groupId, metaId: $metaId) {
      event
      timestamp
      groupId
      metaId
    }
  }
`);

export const UsersQuery = graphql(`
  query Users {
    users {
      id
      username
      admin
    }
  }
`);

export const CreateUserMutation = graphql(`
  mutation CreateUser($input: CreateUserInput!) {
    createUser(input: $input) {
      id
    }
  }
`);

export const DeleteUserMutation = graphql(`
  mutation DeleteUser($id: ID!) {
    deleteUser(id: $id)
  }
`);

export const AuditLogQuery = graphql(`
  query AuditLog($first: Int, $before: String) {
    auditLog(first: $first, before: $before) {
      id
      at
      userId
      operation
      args
      outcome
      error
    }
  }
`);
