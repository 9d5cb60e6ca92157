export * from './event-store.port';
export * from './postgres-event-store';
