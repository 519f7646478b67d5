// What the service worker does when Background Sync fires "trao-outbox": have the outbox sent,
// by an open app or by the worker itself, and tell the browser the truth about it. The browser
// drops the tag when the handler's promise resolves and retries later when it rejects, so the
// promise resolves only once nothing is left waiting. Pure logic: the worker's world (its
// clients, the outbox) is injected, so node --test can drive it.

export const SYNC_TAG = "trao-outbox";
// How long an open app may take to answer before the worker sends the outbox itself (a frozen
// background tab never answers). Chrome ends a sync event after about 3 minutes.
export const CLIENT_FLUSH_TIMEOUT_MS = 60000;

/** Attempts still waiting to be sent (a rejected one waits for the postman, not for the network). */
export function pendingCount(entries) {
  return entries.filter((e) => e.state === "pending").length;
}

export class OutboxNotSent extends Error {
  constructor(outcome) {
    super(`${outcome.pending} attempt(s) not sent yet`);
    this.name = "OutboxNotSent";
    this.outcome = outcome;
  }
}

/**
 * Have the outbox sent. appWindows(): the open windows of the app; askClient(client): the app's
 * outcome {pending, …} or null when it did not answer; flushHere(): the worker's own outcome.
 * Resolves with the outcome when nothing is pending; rejects with OutboxNotSent otherwise.
 */
export async function syncOutbox({ appWindows, askClient, flushHere }) {
  let outcome = null;
  for (const client of await appWindows()) {
    outcome = await askClient(client);
    if (outcome) break;
  }
  outcome ??= await flushHere();
  if (outcome.pending > 0) throw new OutboxNotSent(outcome);
  return outcome;
}

/** Ask an open app to send its outbox: its answer, or null when none came in time. */
export function askClientToFlush(client, { timeoutMs = CLIENT_FLUSH_TIMEOUT_MS, Channel = MessageChannel } = {}) {
  return new Promise((resolve) => {
    const channel = new Channel();
    const done = (outcome) => {
      clearTimeout(timer);
      channel.port1.close();
      resolve(outcome);
    };
    const timer = setTimeout(() => done(null), timeoutMs);
    channel.port1.onmessage = (event) => {
      // An app with no count (no postman yet, an older version) counts as no answer.
      done(Number.isInteger(event.data?.pending) ? event.data : null);
    };
    try {
      client.postMessage({ type: "flush" }, [channel.port2]);
    } catch {
      done(null);
    }
  });
}

/** The worker's own sending: the last postman's outbox, then what is left of it. */
export async function flushOutbox({ outbox, lastUser }) {
  const user = await lastUser();
  if (!user) return { pending: 0, sent: 0, user: null }; // nobody logged in here: nothing of theirs
  const result = await outbox.flush(user.id, { force: true });
  return { ...result, pending: pendingCount(await outbox.entries(user.id)) };
}
