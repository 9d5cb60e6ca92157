export * from './consortium';
