import { Arg, Ctx, ID, Int, Mutation, Query, Resolver } from 'type-graphql';
import type { RegistryInfo, RegistryRepositoryInfo } from '../core/services.js';
import type { GatewayContext } from './context.js';
import { Registry, RegistryInput, RegistryRepository } from '../schema/registry.type.js';

export const toRegistry = (r: RegistryInfo): Registry => ({
  id: r.id,
  name: r.name,
  url: r.url,
  username: r.username ?? null,
  insecure: r.insecure,
  createdAt: r.createdAt,
});

const toRepository = (r: RegistryRepositoryInfo): RegistryRepository => ({
  name: r.name,
  tags: r.tags.map((t) => ({
    name: t.name,
    digest: t.digest,
    sizeBytes: t.sizeBytes ?? null,
    created: t.created ?? null,
  })),
});

@Resolver(() => Registry)
export class RegistryResolver {
  @Query(() => [Registry], { description: 'The private registries Humpback has credentials for.' })
  async registries(@Ctx() ctx: GatewayContext): Promise<Registry[]> {
    return (await ctx.services.registries.list()).map(toRegistry);
  }

  @Query(() => [RegistryRepository], {
    description: "A registry's repositories (its catalog) with their tags, digests, sizes and build times.",
    complexity: ({ childComplexity }) => 1 + childComplexity * 50,
  })
  async registryRepositories(
    @Arg('registryId', () => ID, { description: 'The registry.' }) registryId: string,
    @Arg('search', () => String, {
      nullable: true,
      description: 'Only names containing this (case-insensitive).',
    })
    search: string | undefined,
    @Arg('first', () => Int, {
      nullable: true,
      description: 'At most this many repositories (default 50, at most 200).',
    })
    first: number | undefined,
    @Ctx() ctx: GatewayContext,
  ): Promise<RegistryRepository[]> {
    const repos = await ctx.services.registries.repositories(registryId, { search, first: first ?? 50 });
    return repos.map(toRepository);
  }

  @Mutation(() => Registry, { description: 'Adds a registry once it accepted the credentials.' })
  async addRegistry(
    @Arg('input', () => RegistryInput, { description: 'The registry and its credentials.' })
    input: RegistryInput,
    @Ctx() ctx: GatewayContext,
  ): Promise<Registry> {
    return toRegistry(await ctx.services.registries.add(input));
  }

  @Mutation(() => Registry, { description: 'Changes a registry once it accepted the credentials.' })
  async updateRegistry(
    @Arg('id', () => ID, { description: 'The registry.' }) id: string,
    @Arg('input', () => RegistryInput, { description: 'The registry and its credentials.' })
    input: RegistryInput,
    @Ctx() ctx: GatewayContext,
  ): Promise<Registry> {
    return toRegistry(await ctx.services.registries.update(id, input));
  }

  @Mutation(() => Boolean, { description: 'Forgets a registry and its credentials.' })
  async removeRegistry(
    @Arg('id', () => ID, { description: 'The registry.' }) id: string,
    @Ctx() ctx: GatewayContext,
  ): Promise<boolean> {
    return ctx.services.registries.remove(id);
  }

  @Mutation(() => Boolean, {
    description:
      "Deletes a tag's manifest from the registry (tags of the same manifest go with it). False: no such tag.",
  })
  async deleteRegistryTag(
    @Arg('registryId', () => ID, { description: 'The registry.' }) registryId: string,
    @Arg('repository', () => String, { description: 'The repository, e.g. team/app.' }) repository: string,
    @Arg('tag', () => String, { description: 'The tag.' }) tag: string,
    @Ctx() ctx: GatewayContext,
  ): Promise<boolean> {
    return ctx.services.registries.deleteTag(registryId, repository, tag);
  }
}
