/** Placeholder until the agent process is built. */
export async function startAgentFromEnv(): Promise<void> {
  throw new Error('humpback agent is not built yet in this version');
}
