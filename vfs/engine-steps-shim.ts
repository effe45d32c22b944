// TEMPORARY (lead, session 4): stands in for the engine's *Steps exports until src/engine lands them.
import { changes, commitPages, head, headAndChanges, readPages } from '../src/engine/index.ts';
import { wait, type Steps } from '../src/engine/steps.ts';
export { runEager, runSync, wait, type Steps } from '../src/engine/steps.ts';
type A<F extends (...a: any[]) => any> = Parameters<F>;
export function* readPagesSteps(...a: A<typeof readPages>): Steps<Awaited<ReturnType<typeof readPages>>> { return yield* wait(readPages(...a)); }
export function* headSteps(...a: A<typeof head>): Steps<Awaited<ReturnType<typeof head>>> { return yield* wait(head(...a)); }
export function* changesSteps(...a: A<typeof changes>): Steps<Awaited<ReturnType<typeof changes>>> { return yield* wait(changes(...a)); }
export function* headAndChangesSteps(...a: A<typeof headAndChanges>): Steps<Awaited<ReturnType<typeof headAndChanges>>> { return yield* wait(headAndChanges(...a)); }
export function* commitPagesSteps(...a: A<typeof commitPages>): Steps<Awaited<ReturnType<typeof commitPages>>> { return yield* wait(commitPages(...a)); }
