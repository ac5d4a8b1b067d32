export * from './types';
export * from './bytes';
export * from './commands';
export * from './sessions';
export * from './kv-store';
export * from './lessor';
export * from './lease-keeper';
