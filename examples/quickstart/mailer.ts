/** Stands in for a real mail client in the quick start. */
export async function sendMail(
  to: string,
  subject: string,
  { signal }: { signal: AbortSignal },
): Promise<void> {
  signal.throwIfAborted();
  await Promise.resolve([to, subject]);
}
