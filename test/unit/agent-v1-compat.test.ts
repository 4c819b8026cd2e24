// Reading Humpback v1 clients' requests (agent/v1-compat.ts) and v1's authorization settings.
import { describe, expect, it } from 'vitest';
import { createContainerBody, operateContainerBody, pullImageBody } from '../../core/agent-wire.js';
import { ConfigError, loadAgentConfig } from '../../core/config.js';
import { warnWithoutAuthorization } from '../../agent/auth.js';
import { foldV1Keys, v1LogsSince, v1UpdateTarget } from '../../agent/v1-compat.js';

const token = 'a-secret-of-16-chars+';

describe('foldV1Keys', () => {
  it('matches keys case-insensitively as Go does: humpback-web operate, rename, upgrade, pull', () => {
    expect(foldV1Keys({ action: 'stop', container: 'abc' }, operateContainerBody)).toEqual({
      Action: 'stop',
      Container: 'abc',
    });
    expect(foldV1Keys({ action: 'rename', container: 'a', newName: 'b' }, operateContainerBody)).toEqual({
      Action: 'rename',
      Container: 'a',
      NewName: 'b',
    });
    expect(foldV1Keys({ action: 'upgrade', container: 'a', imagetag: 'v2' }, operateContainerBody)).toEqual({
      Action: 'upgrade',
      Container: 'a',
      ImageTag: 'v2',
    });
    expect(foldV1Keys({ image: 'busybox' }, pullImageBody)).toEqual({ Image: 'busybox' });
  });

  it('takes Go zero values of optional fields as absent and drops unknown keys', () => {
    const center = { Action: 'stop', Container: 'abc', ImageTag: '', NewName: '' };
    expect(operateContainerBody.parse(foldV1Keys(center, operateContainerBody))).toEqual({
      Action: 'stop',
      Container: 'abc',
    });
    const folded = foldV1Keys(
      {
        Id: '',
        Name: 'n',
        Image: 'busybox',
        CommandWithoutEntryPoint: '',
        Command: '',
        Links: null,
        Ports: [{ PrivatePort: 80, PublicPort: 0, type: 'tcp', IP: '' }],
        LogConfig: { Type: '', Config: null },
        Labels: { empty: '', Mixed: 'x' },
      },
      createContainerBody,
    );
    expect(folded).toEqual({
      Name: 'n',
      Image: 'busybox',
      Ports: [{ PrivatePort: 80, PublicPort: 0, Type: 'tcp' }],
      LogConfig: { Type: '' },
      Labels: { empty: '', Mixed: 'x' },
    });
    expect(createContainerBody.safeParse(folded).success).toBe(true);
  });

  it('keeps a required field sent as "" so that it is refused, and prefers the later of two keys', () => {
    expect(foldV1Keys({ Name: '', Image: 'x' }, createContainerBody)).toEqual({ Name: '', Image: 'x' });
    expect(foldV1Keys({ image: 'a', Image: 'b' }, pullImageBody)).toEqual({ Image: 'b' });
    expect(foldV1Keys('not an object', pullImageBody)).toBe('not an object');
  });
});

describe('v1UpdateTarget and v1LogsSince', () => {
  it('finds a non-empty Id in any case', () => {
    expect(v1UpdateTarget({ Id: 'web1' })).toBe('web1');
    expect(v1UpdateTarget({ id: ' web2 ' })).toBe('web2');
    expect(v1UpdateTarget({ Id: '' })).toBeUndefined();
    expect(v1UpdateTarget({ Id: 7 })).toBeUndefined();
    expect(v1UpdateTarget(undefined)).toBeUndefined();
  });

  it("reads v1's date form of since and leaves unix seconds alone", () => {
    expect(v1LogsSince('2020-01-02')).toBe(String(Date.UTC(2020, 0, 2) / 1000));
    expect(v1LogsSince('1700000000')).toBe('1700000000');
    expect(v1LogsSince(undefined)).toBeUndefined();
  });
});

describe('ENABLE_AUTHORIZATION and AUTHORIZATION_TOKEN', () => {
  it('reads AUTHORIZATION_TOKEN as the token, HUMPBACK_AGENT_TOKEN first; authorization on by default', () => {
    expect(loadAgentConfig({ AUTHORIZATION_TOKEN: token })).toMatchObject({
      agentToken: token,
      authorizationEnabled: true,
    });
    expect(
      loadAgentConfig({ AUTHORIZATION_TOKEN: `${token}x`, HUMPBACK_AGENT_TOKEN: token }).agentToken,
    ).toBe(token);
    expect(() => loadAgentConfig({})).toThrow(ConfigError);
    expect(() => loadAgentConfig({ AUTHORIZATION_TOKEN: 'short' })).toThrow(/AUTHORIZATION_TOKEN/);
  });

  it('ENABLE_AUTHORIZATION=false needs no token; a bad value is one clear error', () => {
    expect(loadAgentConfig({ ENABLE_AUTHORIZATION: 'false' })).toMatchObject({
      agentToken: '',
      authorizationEnabled: false,
    });
    expect(() => loadAgentConfig({ ENABLE_AUTHORIZATION: 'maybe', HUMPBACK_AGENT_TOKEN: token })).toThrow(
      /ENABLE_AUTHORIZATION/,
    );
  });

  it('warns at once and again every interval until stopped', async () => {
    const warnings: string[] = [];
    let second!: () => void;
    const repeated = new Promise<void>((resolve) => (second = resolve));
    const stop = warnWithoutAuthorization(
      {
        warn: (m) => {
          warnings.push(m);
          if (warnings.length === 2) second();
        },
      },
      5,
    );
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatch(/ENABLE_AUTHORIZATION=false/);
    await repeated;
    stop();
    expect(warnings.length).toBeGreaterThanOrEqual(2);
  });
});
