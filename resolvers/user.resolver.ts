import { Arg, Ctx, ID, Mutation, Query, Resolver } from 'type-graphql';
import { notFound } from '../core/errors.js';
import type { GatewayContext } from './context.js';
import { AuthPayload } from '../schema/auth-payload.type.js';
import { CreateUserInput } from '../schema/create-user.input.js';
import { User } from '../schema/user.type.js';
import { toUser } from './map.js';

@Resolver(() => User)
export class UserResolver {
  @Query(() => User, { description: 'The logged-in user.' })
  me(@Ctx() ctx: GatewayContext): User {
    const viewer = ctx.access.requireViewer();
    return { id: viewer.userId, username: viewer.username, admin: viewer.admin };
  }

  @Query(() => [User], { description: 'Every user (admins only).', complexity: 10 })
  async users(@Ctx() ctx: GatewayContext): Promise<User[]> {
    return (await ctx.services.auth.listUsers()).map(toUser);
  }

  @Mutation(() => AuthPayload, {
    description:
      'Exchanges a username and password for a token. Throttled per username and per client address (RATE_LIMITED with retryAfterSeconds).',
  })
  async login(
    @Arg('username', () => String, { description: 'The username (any case).' }) username: string,
    @Arg('password', () => String, { description: 'The password.' }) password: string,
    @Ctx() ctx: GatewayContext,
  ): Promise<AuthPayload> {
    const { token, user } = await ctx.services.auth.login(username, password, ctx.clientKey);
    return { token, user: toUser(user) };
  }

  @Mutation(() => User, { description: 'Creates a user (admins only). CONFLICT when the username is taken.' })
  async createUser(
    @Arg('input', () => CreateUserInput, { description: 'The new user.' }) input: CreateUserInput,
    @Ctx() ctx: GatewayContext,
  ): Promise<User> {
    const user = await ctx.services.auth.createUser({
      username: input.username,
      password: input.password,
      admin: input.admin,
    });
    return toUser(user);
  }

  @Mutation(() => Boolean, { description: 'Deletes a user (admins only; not yourself).' })
  async deleteUser(
    @Arg('id', () => ID, { description: 'The user id.' }) id: string,
    @Ctx() ctx: GatewayContext,
  ): Promise<boolean> {
    const deleted = await ctx.services.auth.deleteUser(id, ctx.access.requireAdmin());
    if (!deleted) throw notFound('user', id);
    return true;
  }
}
