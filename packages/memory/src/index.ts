export * from './log-store.ts';
export * from './router.ts';
export * from './state-machine.ts';
