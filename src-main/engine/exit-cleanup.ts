/**
 * Last-resort cleanup when the process ends before a pipeline's own cleanup ran (an uncaught error, process.exit
 * after a second Ctrl-C): 'exit' also fires then, and only synchronous work runs there. One hook for the process.
 */
const tasks = new Set<() => void>();
let installed = false;

/** Runs `task` (synchronously, best effort) at process exit unless the returned function is called first. */
export function atExit(task: () => void): () => void {
  tasks.add(task);
  if (!installed) {
    installed = true;
    process.on('exit', () => {
      for (const t of tasks) {
        try {
          t();
        } catch {
          // best effort: the next start sweeps what is left
        }
      }
    });
  }
  return () => void tasks.delete(task);
}
