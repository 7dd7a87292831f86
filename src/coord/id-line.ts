/**
 * A first-in-first-out line of ids with O(1) push, shift and push-to-front (an array with a moving
 * head, compacted now and then): draining a queue of n jobs costs O(n), not O(n²) as with
 * Array#shift.
 */
export class IdLine {
  private items: string[] = [];
  private head = 0;

  get length(): number {
    return this.items.length - this.head;
  }

  push(id: string): void {
    this.items.push(id);
  }

  /** Puts `id` first in line (a job taken over from a dead process runs next). */
  pushFront(id: string): void {
    if (this.head > 0) this.items[--this.head] = id;
    else this.items.unshift(id);
  }

  shift(): string | undefined {
    if (this.head >= this.items.length) return undefined;
    const id = this.items[this.head++];
    if (this.head > 1_024 && this.head * 2 > this.items.length) {
      this.items = this.items.slice(this.head);
      this.head = 0;
    }
    return id;
  }

  remove(id: string): void {
    const at = this.items.indexOf(id, this.head);
    if (at >= 0) this.items.splice(at, 1);
  }
}
