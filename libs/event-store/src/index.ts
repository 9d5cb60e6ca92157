export * from './command-problems';
export * from './decide-and-append';
export * from './event-store.port';
export * from './kurrentdb-encoding';
export * from './kurrentdb-event-store';
export * from './postgres-event-store';
