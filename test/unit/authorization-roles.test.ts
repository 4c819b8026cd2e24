import { describe, expect, it } from 'vitest';
import { groupIdsFor, mayInGroup, roleIn } from '../../core/authorization.js';
import type { Viewer } from '../../core/services.js';
import type { GroupRecord } from '../../core/store/store.js';
import { highestScope } from '../../gateway/services/token-service.js';

const group = (id: string, extra: Partial<GroupRecord> = {}): GroupRecord => ({
  id,
  name: id,
  clusterMode: false,
  servers: [],
  owners: [],
  createdAt: '2026-01-01T00:00:00.000Z',
  updatedAt: '2026-01-01T00:00:00.000Z',
  ...extra,
});
const user = (teamIds: string[] = []): Viewer => ({ userId: 'u', username: 'u', admin: false, teamIds });

describe('roleIn', () => {
  it('takes the highest role a user is given: owners, grants to their teams, public', () => {
    const g = group('g', {
      public: true,
      grants: [
        { teamId: 'ops', role: 'OPERATOR' },
        { teamId: 'view', role: 'VIEWER' },
      ],
    });
    expect(roleIn(g, user())).toBe('VIEWER');
    expect(roleIn(g, user(['view']))).toBe('VIEWER');
    expect(roleIn(g, user(['view', 'ops']))).toBe('OPERATOR');
    expect(
      roleIn(group('g', { owners: ['u'], grants: [{ teamId: 'view', role: 'VIEWER' }] }), user(['view'])),
    ).toBe('OWNER');
    expect(roleIn(group('g'), { ...user(), admin: true })).toBe('OWNER');
    expect(
      roleIn(group('g', { grants: [{ teamId: 'ops', role: 'OWNER' }] }), user(['other'])),
    ).toBeUndefined();
  });

  it('reads groups of the old shape (no grants, no public flag)', () => {
    expect(roleIn(group('g', { owners: ['u'] }), user())).toBe('OWNER');
    expect(roleIn(group('g'), user())).toBeUndefined();
  });

  it('gives each role the actions of the table', () => {
    const g = (role: 'OWNER' | 'OPERATOR' | 'VIEWER') => group(role, { grants: [{ teamId: 't', role }] });
    const actions = (['OWNER', 'OPERATOR', 'VIEWER'] as const).map((role) =>
      (['read', 'operate', 'edit'] as const).filter((a) => mayInGroup(user(['t']), g(role), a)),
    );
    expect(actions).toEqual([['read', 'operate', 'edit'], ['read', 'operate'], ['read']]);
    expect(
      groupIdsFor(user(['t']), [g('OWNER'), g('VIEWER'), group('public', { public: true })], 'operate'),
    ).toEqual(new Set(['OWNER']));
  });
});

describe('highestScope', () => {
  it('counts the highest of a token scopes', () => {
    expect(highestScope(['READ'])).toBe('READ');
    expect(highestScope(['READ', 'WRITE'])).toBe('WRITE');
    expect(highestScope(['ADMIN', 'READ'])).toBe('ADMIN');
  });
});
