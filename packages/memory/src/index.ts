export * from './log-store.ts';
export * from './state-machine.ts';
