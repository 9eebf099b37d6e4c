import { InMemorySessionStore } from 'nest-session-kit';

/**
 * Stand-in for a store of your own, so that the README's conformance example runs as written. A real store
 * extends `SessionStore` and implements every method as one atomic operation on its backend.
 */
export class MyStore extends InMemorySessionStore {}
