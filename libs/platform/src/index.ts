export * from './clock';
export * from './database';
export * from './errors';
export * from './migrations';
