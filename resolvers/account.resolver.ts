import { Arg, Ctx, ID, Int, Mutation, Query, Resolver } from 'type-graphql';
import type { GatewayContext } from './context.js';
import { TokenScope } from '../schema/accounts.enums.js';
import { ApiToken, CreatedApiToken } from '../schema/api-token.type.js';
import { User } from '../schema/user.type.js';
import { toApiToken, toUser } from './map.js';

/** API tokens, passwords and admin rights (issue 13). */
@Resolver()
export class AccountResolver {
  @Query(() => [ApiToken], { description: "The viewer's own API tokens, newest first.", complexity: 10 })
  async apiTokens(@Ctx() ctx: GatewayContext): Promise<ApiToken[]> {
    const viewer = ctx.access.requireViewer();
    return (await ctx.services.tokens.list(viewer.userId)).map(toApiToken);
  }

  @Mutation(() => CreatedApiToken, {
    description:
      'Creates an API token of the viewer; the token is in the answer only. ADMIN scope: admins only; a token cannot create one of a higher scope than its own.',
  })
  async createApiToken(
    @Arg('name', () => String, { description: 'What the token is for.' }) name: string,
    @Arg('scopes', () => [TokenScope], { description: 'What it may do (the highest counts).' })
    scopes: TokenScope[],
    @Arg('expiresInDays', () => Int, {
      nullable: true,
      description: 'Days until it stops working; null: never.',
    })
    expiresInDays: number | null | undefined,
    @Ctx() ctx: GatewayContext,
  ): Promise<CreatedApiToken> {
    const { token, record } = await ctx.services.tokens.create(ctx.access.requireViewer(), {
      name,
      scopes,
      expiresInDays: expiresInDays ?? undefined,
    });
    return { token, apiToken: toApiToken(record) };
  }

  @Mutation(() => Boolean, {
    description:
      "Revokes one of the viewer's API tokens (admins: anyone's) at once; its open graphql-ws connections are closed with 4401.",
  })
  async revokeApiToken(
    @Arg('id', () => ID, { description: 'The token id.' }) id: string,
    @Ctx() ctx: GatewayContext,
  ): Promise<boolean> {
    await ctx.services.tokens.revoke(ctx.access.requireViewer(), id);
    return true;
  }

  @Mutation(() => Boolean, {
    description:
      "Changes the viewer's password (the old one must be right: BAD_USER_INPUT). Ends every login token of the user, this one too: log in again.",
  })
  async changePassword(
    @Arg('oldPassword', () => String, { description: 'The current password.' }) oldPassword: string,
    @Arg('newPassword', () => String, { description: 'The new password (8 characters or more).' })
    newPassword: string,
    @Ctx() ctx: GatewayContext,
  ): Promise<boolean> {
    await ctx.services.auth.changePassword(ctx.access.requireViewer().userId, oldPassword, newPassword);
    return true;
  }

  @Mutation(() => Boolean, {
    description: "Sets a user's password (admins only); ends the user's login tokens.",
  })
  async setUserPassword(
    @Arg('userId', () => ID, { description: 'The user id.' }) userId: string,
    @Arg('password', () => String, { description: 'The new password (8 characters or more).' })
    password: string,
    @Ctx() ctx: GatewayContext,
  ): Promise<boolean> {
    await ctx.services.auth.setUserPassword(userId, password);
    return true;
  }

  @Mutation(() => User, {
    description:
      "Gives or takes admin rights (admins only; not your own). Taking them ends the user's login tokens.",
  })
  async setUserAdmin(
    @Arg('userId', () => ID, { description: 'The user id.' }) userId: string,
    @Arg('admin', () => Boolean, { description: 'Admin or not.' }) admin: boolean,
    @Ctx() ctx: GatewayContext,
  ): Promise<User> {
    return toUser(await ctx.services.auth.setUserAdmin(userId, admin, ctx.access.requireAdmin()));
  }
}
