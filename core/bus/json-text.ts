/** The JSON text of one bus message; throws a TypeError for what JSON cannot carry (undefined, a function). */
export function messageText(channel: string, message: unknown): string {
  const text = JSON.stringify(message);
  if (text === undefined) throw new TypeError(`cannot publish ${typeof message} on ${channel}: not JSON`);
  return text;
}

/**
 * The JSON text of an array of bus messages, made in one pass. JSON.stringify would write an element
 * it cannot carry as null, so those are refused first, as `messageText` refuses them alone.
 */
export function messagesText(channel: string, messages: readonly unknown[]): string {
  for (const m of messages) {
    if (m === undefined || typeof m === 'function' || typeof m === 'symbol') {
      throw new TypeError(`cannot publish ${typeof m} on ${channel}: not JSON`);
    }
  }
  return JSON.stringify(messages);
}
