export * from './access';
export * from './app';
export * from './auth';
export * from './identity';
export * from './openapi';
export * from './problem';
