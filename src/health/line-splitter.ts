// The prober's pipes carry one JSON object a line: this cuts their bytes back
// into lines, whatever the chunks, and bounds what one line may take.

/** Longer lines are dropped unread: a runaway peer must not grow a buffer without end. */
export const MAX_LINE_BYTES = 1 << 20;

/**
 * Cuts a byte stream into lines, whatever its chunks. A line over
 * MAX_LINE_BYTES is dropped whole and counted in `overlong`, so that the
 * next one still arrives.
 */
export class LineSplitter {
  private parts: Buffer[] = [];
  private size = 0;
  private skipping = false;
  overlong = 0;

  push(chunk: Buffer): string[] {
    const lines: string[] = [];
    let from = 0;
    for (let nl = chunk.indexOf(10); nl >= 0; nl = chunk.indexOf(10, from)) {
      this.take(chunk.subarray(from, nl));
      if (!this.skipping) lines.push(Buffer.concat(this.parts).toString('utf8'));
      this.parts = [];
      this.size = 0;
      this.skipping = false;
      from = nl + 1;
    }
    this.take(chunk.subarray(from));
    return lines;
  }

  private take(piece: Buffer): void {
    if (this.skipping || piece.length === 0) return;
    this.size += piece.length;
    if (this.size > MAX_LINE_BYTES) {
      this.skipping = true;
      this.overlong++;
      this.parts = [];
      return;
    }
    // A copy: the stream may reuse its chunk's memory.
    this.parts.push(Buffer.from(piece));
  }
}
