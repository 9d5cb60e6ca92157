export * from './cloud-event';
export * from './dead-letters';
export * from './decode';
export * from './in-process-bus';
export * from './kafka-bus';
export * from './message-bus.port';
export * from './relay';
export * from './topics';
