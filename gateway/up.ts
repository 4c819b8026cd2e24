/** Placeholder until the up process is built. */
export async function startUpFromEnv(): Promise<void> {
  throw new Error('humpback up is not built yet in this version');
}
