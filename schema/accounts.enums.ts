import { registerEnumType } from 'type-graphql';

/** What an API token may do (core/authorization.ts SCOPE_ALLOWS). */
export enum TokenScope {
  READ = 'READ',
  WRITE = 'WRITE',
  ADMIN = 'ADMIN',
}

/** A team's role in a group (core/authorization.ts ROLE_ACTIONS). */
export enum GroupRole {
  OWNER = 'OWNER',
  OPERATOR = 'OPERATOR',
  VIEWER = 'VIEWER',
}

registerEnumType(TokenScope, {
  name: 'TokenScope',
  description: 'What an API token may do, within what its user may.',
  valuesConfig: {
    READ: { description: 'Queries and subscriptions only (also for an admin).' },
    WRITE: { description: 'Also mutations, on what its user may change (never with admin rights).' },
    ADMIN: { description: 'Everything its user may, admin rights included (admins only).' },
  },
});
registerEnumType(GroupRole, {
  name: 'GroupRole',
  description: "A team's role in a group.",
  valuesConfig: {
    VIEWER: { description: 'Reads the group and its containers, metas, nodes, logs and stats.' },
    OPERATOR: { description: 'Also creates, operates and removes containers and metas in the group.' },
    OWNER: { description: "Also edits the group's name, description, cluster mode, public flag and grants." },
  },
});
