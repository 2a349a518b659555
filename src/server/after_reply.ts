/**
 * Work a command defers until its reply is on its way: a CLUSTER command's bus messages are encoded and written
 * after the client's reply, as Redis queues them on the links and writes them when its event loop comes round.
 * The client loop that ran the command runs the queue right after it started writing that command's replies,
 * which costs no timer (a Node-style `setTimeout` here costs 1-16 us and fires a millisecond later).
 */

/** Deferred tasks, in the order they were asked for. */
export const afterReplyTasks: (() => void)[] = [];

/** Runs `task` once the running command's reply has been written. */
export function afterReply(task: () => void): void {
  afterReplyTasks.push(task);
}

/** Runs the deferred tasks, including any a task defers in turn. */
export function runAfterReply(): void {
  for (let i = 0; i < afterReplyTasks.length; i++) afterReplyTasks[i]();
  afterReplyTasks.length = 0;
}
