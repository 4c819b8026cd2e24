/** Placeholder until the gateway process is built. */
export async function startGatewayFromEnv(): Promise<void> {
  throw new Error('humpback gateway is not built yet in this version');
}
