export * from './clock';
export * from './database';
export * from './errors';
export * from './http';
export * from './migrations';
