export * from './node-handle';
export * from './http-server';
export * from './gateway';
export * from './ids';
export * from './client';
