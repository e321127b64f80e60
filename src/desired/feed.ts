// Things the desired states tell as they happen (corrections, health
// transitions), to whoever listens: the server's WatchEvents streams.
export class Feed<T> {
  private readonly listeners = new Set<(v: T) => void>();

  /** Calls `f` with everything told from now on; returns the function that stops it. */
  on(f: (v: T) => void): () => void {
    this.listeners.add(f);
    return () => this.listeners.delete(f);
  }

  emit(v: T): void {
    for (const f of this.listeners) f(v);
  }
}
