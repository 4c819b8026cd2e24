import { graphql } from './gql';

/*
 * Every GraphQL operation of the UI, typed by web/codegen.ts against schema/schema.graphql. The
 * fragments name the fields a component shows; the operations spread them, and a component's props
 * are its fragment's type (`<Name>Fragment` in ./gql/graphql).
 */

/** A signed-in user: the viewer (main.tsx) and the users table. */
export const UserFields = graphql(`
  fragment UserFields on User {
    id
    username
    admin
  }
`);

/** A key=value label (node labels, engine labels). */
export const LabelFields = graphql(`
  fragment LabelFields on Label {
    key
    value
  }
`);

/** Where a container runs: "name (ip)". */
export const NodePlacementFields = graphql(`
  fragment NodePlacementFields on Node {
    id
    name
    ip
  }
`);

/** A node's status: the dashboard's counts and the live status events. */
export const NodeStatusFields = graphql(`
  fragment NodeStatusFields on Node {
    id
    name
    status
    statusReason
  }
`);

/** A group's server with its node's status (GroupServers matches them by apiAddr, ip or name). */
export const ServerNodeFields = graphql(`
  fragment ServerNodeFields on Node {
    ...NodeStatusFields
    ip
    apiAddr
  }
`);

/** NodeCard: usage, labels and engine labels (NodeSelect shows name, ip and status from it). */
export const NodeCardFields = graphql(`
  fragment NodeCardFields on Node {
    ...NodeStatusFields
    ip
    cpus
    memoryBytes
    cpuPercent
    memoryUsedBytes
    dockerVersion
    labels {
      ...LabelFields
    }
    engineLabels {
      ...LabelFields
    }
  }
`);

/** A container's state: the live status events and the patches they apply to the lists. */
export const ContainerStatusFields = graphql(`
  fragment ContainerStatusFields on Container {
    id
    name
    state
    status
    nodeId
    metaId
  }
`);

/** ContainerRow and ContainerDetail. */
export const ContainerFields = graphql(`
  fragment ContainerFields on Container {
    ...ContainerStatusFields
    node {
      ...NodePlacementFields
    }
    image
    index
    createdAt
  }
`);

/** A row of a service's instances table. */
export const MetaInstanceFields = graphql(`
  fragment MetaInstanceFields on Container {
    ...ContainerStatusFields
    index
    node {
      ...NodePlacementFields
    }
  }
`);

/** A service in a group's list (the cluster-mode dialog) and a mutation's answer. */
export const MetaSummaryFields = graphql(`
  fragment MetaSummaryFields on Meta {
    id
    name
    instances
  }
`);

/** MetaCard. */
export const MetaCardFields = graphql(`
  fragment MetaCardFields on Meta {
    ...MetaSummaryFields
    groupId
    image
    imageTag
    constraints
    createdAt
    updatedAt
    lastFailure {
      message
      at
    }
    containers {
      ...MetaInstanceFields
    }
  }
`);

/** A group in pickers and lists (GroupSelect, the dashboard). */
export const GroupNameFields = graphql(`
  fragment GroupNameFields on Group {
    id
    name
    clusterMode
  }
`);

/** What a group's owners and admins set; the group mutations answer with it. */
export const GroupSettingsFields = graphql(`
  fragment GroupSettingsFields on Group {
    ...GroupNameFields
    description
    servers
    owners
    allowedHostPaths
  }
`);

/** GroupCard: the settings, the servers' nodes and the services. */
export const GroupCardFields = graphql(`
  fragment GroupCardFields on Group {
    ...GroupSettingsFields
    nodes {
      ...ServerNodeFields
    }
    metas {
      ...MetaSummaryFields
    }
  }
`);

export const LoginMutation = graphql(`
  mutation Login($username: String!, $password: String!) {
    login(username: $username, password: $password) {
      token
      user {
        ...UserFields
      }
    }
  }
`);

export const MeQuery = graphql(`
  query Me {
    me {
      ...UserFields
    }
  }
`);

export const DashboardQuery = graphql(`
  query Dashboard {
    groups {
      ...GroupNameFields
    }
    nodes {
      ...NodeStatusFields
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
      ...GroupCardFields
    }
  }
`);

export const GroupNamesQuery = graphql(`
  query GroupNames {
    groups {
      ...GroupNameFields
    }
  }
`);

export const CreateGroupMutation = graphql(`
  mutation CreateGroup($input: CreateGroupInput!) {
    createGroup(input: $input) {
      ...GroupNameFields
    }
  }
`);

export const UpdateGroupMutation = graphql(`
  mutation UpdateGroup($id: ID!, $input: UpdateGroupInput!) {
    updateGroup(id: $id, input: $input) {
      ...GroupSettingsFields
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
      ...GroupSettingsFields
    }
  }
`);

export const RemoveServerMutation = graphql(`
  mutation RemoveServer($groupId: ID!, $address: String!) {
    removeServer(groupId: $groupId, address: $address) {
      ...GroupSettingsFields
    }
  }
`);

export const NodesQuery = graphql(`
  query Nodes($groupId: ID, $status: NodeStatus) {
    nodes(groupId: $groupId, status: $status) {
      ...NodeCardFields
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
        ...LabelFields
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
        ...ContainerFields
      }
    }
  }
`);

export const ContainerQuery = graphql(`
  query Container($id: ID!) {
    container(id: $id) {
      ...ContainerFields
    }
  }
`);

export const CreateContainerMutation = graphql(`
  mutation CreateContainer($nodeId: ID!, $config: ContainerConfigInput!) {
    createContainer(nodeId: $nodeId, config: $config) {
      ...ContainerStatusFields
    }
  }
`);

export const OperateContainerMutation = graphql(`
  mutation OperateContainer($id: ID!, $action: ContainerAction!) {
    operateContainer(id: $id, action: $action) {
      ...ContainerStatusFields
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
      ...MetaCardFields
    }
  }
`);

export const CreateMetaMutation = graphql(`
  mutation CreateMeta($input: CreateMetaInput!) {
    createMeta(input: $input) {
      ...MetaSummaryFields
    }
  }
`);

export const UpdateMetaMutation = graphql(`
  mutation UpdateMeta($id: ID!, $input: UpdateMetaInput!) {
    updateMeta(id: $id, input: $input) {
      ...MetaSummaryFields
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
        ...ContainerStatusFields
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
        ...NodeStatusFields
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
      ...UserFields
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

// Accounts and tenancy (issue 13): API tokens, password, users' admin flag, teams, group grants.

export const ApiTokenFields = graphql(`
  fragment ApiTokenFields on ApiToken {
    id
    name
    scopes
    createdAt
    lastUsedAt
    expiresAt
  }
`);

export const ApiTokensQuery = graphql(`
  query ApiTokens {
    apiTokens {
      ...ApiTokenFields
    }
  }
`);

export const CreateApiTokenMutation = graphql(`
  mutation CreateApiToken($name: String!, $scopes: [TokenScope!]!, $expiresInDays: Int) {
    createApiToken(name: $name, scopes: $scopes, expiresInDays: $expiresInDays) {
      token
      apiToken {
        ...ApiTokenFields
      }
    }
  }
`);

export const RevokeApiTokenMutation = graphql(`
  mutation RevokeApiToken($id: ID!) {
    revokeApiToken(id: $id)
  }
`);

export const ChangePasswordMutation = graphql(`
  mutation ChangePassword($oldPassword: String!, $newPassword: String!) {
    changePassword(oldPassword: $oldPassword, newPassword: $newPassword)
  }
`);

export const SetUserPasswordMutation = graphql(`
  mutation SetUserPassword($userId: ID!, $password: String!) {
    setUserPassword(userId: $userId, password: $password)
  }
`);

export const SetUserAdminMutation = graphql(`
  mutation SetUserAdmin($userId: ID!, $admin: Boolean!) {
    setUserAdmin(userId: $userId, admin: $admin) {
      ...UserFields
    }
  }
`);

export const TeamFields = graphql(`
  fragment TeamFields on Team {
    id
    name
    members {
      id
      username
    }
  }
`);

export const TeamsQuery = graphql(`
  query Teams {
    teams {
      ...TeamFields
    }
  }
`);

export const CreateTeamMutation = graphql(`
  mutation CreateTeam($name: String!) {
    createTeam(name: $name) {
      id
    }
  }
`);

export const DeleteTeamMutation = graphql(`
  mutation DeleteTeam($id: ID!) {
    deleteTeam(id: $id)
  }
`);

export const AddTeamMemberMutation = graphql(`
  mutation AddTeamMember($teamId: ID!, $userId: ID!) {
    addTeamMember(teamId: $teamId, userId: $userId) {
      id
    }
  }
`);

export const RemoveTeamMemberMutation = graphql(`
  mutation RemoveTeamMember($teamId: ID!, $userId: ID!) {
    removeTeamMember(teamId: $teamId, userId: $userId) {
      id
    }
  }
`);

/** A group's public flag and grants (the grants section of a group's card). */
export const GroupAccessQuery = graphql(`
  query GroupAccess($id: ID!) {
    group(id: $id) {
      id
      owners
      public
      grants {
        role
        team {
          ...TeamFields
        }
      }
    }
    teams {
      id
      name
    }
  }
`);

export const GrantGroupMutation = graphql(`
  mutation GrantGroup($groupId: ID!, $teamId: ID!, $role: GroupRole!) {
    grantGroup(groupId: $groupId, teamId: $teamId, role: $role) {
      id
    }
  }
`);

export const RevokeGroupMutation = graphql(`
  mutation RevokeGroup($groupId: ID!, $teamId: ID!) {
    revokeGroup(groupId: $groupId, teamId: $teamId) {
      id
    }
  }
`);

export const SetGroupPublicMutation = graphql(`
  mutation SetGroupPublic($id: ID!, $public: Boolean!) {
    updateGroup(id: $id, input: { public: $public }) {
      id
    }
  }
`);

// Usage history and notifications (issue 12)

/** One point of a usage history chart. */
export const UsagePointFields = graphql(`
  fragment UsagePointFields on UsagePoint {
    at
    cpuPercent
    memoryUsedBytes
  }
`);

export const NodeUsageHistoryQuery = graphql(`
  query NodeUsageHistory($id: ID!, $range: UsageRange!) {
    node(id: $id) {
      id
      usageHistory(range: $range) {
        ...UsagePointFields
      }
    }
  }
`);

export const ContainerUsageHistoryQuery = graphql(`
  query ContainerUsageHistory($id: ID!, $range: UsageRange!) {
    container(id: $id) {
      id
      usageHistory(range: $range) {
        ...UsagePointFields
      }
    }
  }
`);

export const MetaUsageHistoryQuery = graphql(`
  query MetaUsageHistory($id: ID!, $range: UsageRange!) {
    meta(id: $id) {
      id
      usageHistory(range: $range) {
        ...UsagePointFields
      }
    }
  }
`);

export const NotificationChannelsQuery = graphql(`
  query NotificationChannels {
    notificationChannels {
      id
      kind
      target
      events
      signed
    }
  }
`);

export const AddNotificationChannelMutation = graphql(`
  mutation AddNotificationChannel(
    $kind: String!
    $target: String!
    $events: [NotificationEvent!]!
    $secretToken: String
  ) {
    addNotificationChannel(kind: $kind, target: $target, events: $events, secretToken: $secretToken) {
      id
    }
  }
`);

export const RemoveNotificationChannelMutation = graphql(`
  mutation RemoveNotificationChannel($id: ID!) {
    removeNotificationChannel(id: $id)
  }
`);

// ---- volumes (issue 11) ----

export const VolumesQuery = graphql(`
  query Volumes($nodeId: ID!) {
    volumes(nodeId: $nodeId) {
      name
      nodeId
      driver
      options {
        key
        value
      }
      sizeBytes
      usedBy {
        id
        name
      }
      createdAt
    }
  }
`);

export const CreateVolumeMutation = graphql(`
  mutation CreateVolume($nodeId: ID!, $input: CreateVolumeInput!) {
    createVolume(nodeId: $nodeId, input: $input) {
      name
    }
  }
`);

export const RemoveVolumeMutation = graphql(`
  mutation RemoveVolume($nodeId: ID!, $name: String!, $force: Boolean) {
    removeVolume(nodeId: $nodeId, name: $name, force: $force)
  }
`);

export const RestoreVolumeMutation = graphql(`
  mutation RestoreVolume($nodeId: ID!, $name: String!, $uploadId: ID!) {
    restoreVolume(nodeId: $nodeId, name: $name, uploadId: $uploadId)
  }
`);

export const ClearVolumeMutation = graphql(`
  mutation ClearVolume($nodeId: ID!, $name: String!) {
    clearVolume(nodeId: $nodeId, name: $name)
  }
`);

// ---- the container page: details, live logs, console, rename and upgrade (issue 12) ----

/** ContainerDetails: what the engine's inspect says of a container. */
export const ContainerDetailFields = graphql(`
  fragment ContainerDetailFields on Container {
    id
    command
    env
    hostname
    networkMode
    restartCount
    startedAt
    finishedAt
    exitCode
    ports {
      privatePort
      publicPort
      type
      ip
    }
    mounts {
      source
      destination
      readOnly
      type
    }
    labels {
      ...LabelFields
    }
  }
`);

export const ContainerDetailQuery = graphql(`
  query ContainerDetail($id: ID!) {
    container(id: $id) {
      ...ContainerDetailFields
    }
  }
`);

export const ContainerLogsSubscription = graphql(`
  subscription ContainerLogLines($id: ID!, $tail: Int) {
    containerLogs(id: $id, tail: $tail) {
      at
      stream
      line
    }
  }
`);

export const StartExecMutation = graphql(`
  mutation StartExec($containerId: ID!, $command: [String!], $tty: Boolean) {
    startExec(containerId: $containerId, command: $command, tty: $tty) {
      id
      url
      expiresAt
    }
  }
`);

export const RenameContainerMutation = graphql(`
  mutation RenameContainer($id: ID!, $name: String!) {
    renameContainer(id: $id, name: $name) {
      ...ContainerStatusFields
    }
  }
`);

export const UpgradeContainerMutation = graphql(`
  mutation UpgradeContainer($id: ID!, $imageTag: String!) {
    upgradeContainer(id: $id, imageTag: $imageTag) {
      ...ContainerStatusFields
      image
    }
  }
`);

// ---- registries and images (issue 10) ----

export const RegistriesQuery = graphql(`
  query Registries {
    registries {
      id
      name
      url
      username
      insecure
      createdAt
    }
  }
`);

export const AddRegistryMutation = graphql(`
  mutation AddRegistry($input: RegistryInput!) {
    addRegistry(input: $input) {
      id
    }
  }
`);

export const UpdateRegistryMutation = graphql(`
  mutation UpdateRegistry($id: ID!, $input: RegistryInput!) {
    updateRegistry(id: $id, input: $input) {
      id
    }
  }
`);

export const RemoveRegistryMutation = graphql(`
  mutation RemoveRegistry($id: ID!) {
    removeRegistry(id: $id)
  }
`);

export const RegistryRepositoriesQuery = graphql(`
  query RegistryRepositories($registryId: ID!, $search: String, $first: Int) {
    registryRepositories(registryId: $registryId, search: $search, first: $first) {
      name
      tags {
        name
        digest
        sizeBytes
        created
      }
    }
  }
`);

export const DeleteRegistryTagMutation = graphql(`
  mutation DeleteRegistryTag($registryId: ID!, $repository: String!, $tag: String!) {
    deleteRegistryTag(registryId: $registryId, repository: $repository, tag: $tag)
  }
`);

export const ImageJobsQuery = graphql(`
  query ImageJobs($nodeId: ID, $first: Int) {
    imageJobs(nodeId: $nodeId, first: $first) {
      id
      kind
      status
      nodeId
      image
      error
      createdAt
      finishedAt
    }
  }
`);

export const ImageJobQuery = graphql(`
  query ImageJob($id: ID!) {
    imageJob(id: $id) {
      id
      kind
      status
      image
      log
      error
      finishedAt
    }
  }
`);

export const ImageJobProgressSubscription = graphql(`
  subscription ImageJobProgress($jobId: ID!) {
    imageJobProgress(jobId: $jobId) {
      job {
        id
        kind
        status
        image
        log
        error
        finishedAt
      }
      line
      progress
    }
  }
`);

export const BuildImageMutation = graphql(`
  mutation BuildImage(
    $nodeId: ID!
    $uploadId: ID!
    $tag: String!
    $dockerfile: String
    $buildArgs: [LabelInput!]
  ) {
    buildImage(
      nodeId: $nodeId
      uploadId: $uploadId
      tag: $tag
      dockerfile: $dockerfile
      buildArgs: $buildArgs
    ) {
      id
    }
  }
`);

export const LoadImageMutation = graphql(`
  mutation LoadImage($nodeId: ID!, $uploadId: ID!) {
    loadImage(nodeId: $nodeId, uploadId: $uploadId) {
      id
    }
  }
`);

export const CommitContainerMutation = graphql(`
  mutation CommitContainer($containerId: ID!, $tag: String!) {
    commitContainer(containerId: $containerId, tag: $tag) {
      id
    }
  }
`);

export const PushImageMutation = graphql(`
  mutation PushImage($nodeId: ID!, $image: String!) {
    pushImage(nodeId: $nodeId, image: $image) {
      id
    }
  }
`);

export const StartPullMutation = graphql(`
  mutation StartPull($nodeId: ID!, $image: String!) {
    startPull(nodeId: $nodeId, image: $image) {
      id
    }
  }
`);
