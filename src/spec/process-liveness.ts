/**
 * Whether a process id names a live process, for locks and temporary files that record their
 * owner's pid. Signal 0 checks without sending anything: ESRCH means no such process; EPERM means
 * one exists that belongs to another user (alive). A pid reused by an unrelated process reads as
 * alive, which errs on the safe side: nothing of a live process is ever taken or removed.
 */
export function isProcessAlive(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  if (pid === process.pid) return true;
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === "EPERM";
  }
}
