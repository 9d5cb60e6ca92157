export * from './key-store.port';
export * from './personal-data';
export * from './postgres-key-store';
export * from './sealing';
