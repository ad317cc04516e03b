/**
 * Copies of small typed arrays, carved out of shared 64 KiB buffers (not the
 * kernel's slab allocator, though the idea is the same).
 *
 * V8 keeps a typed array of at most 64 bytes inside its heap; a larger one
 * gets a backing store of its own, allocated outside the heap and released
 * by a finalizer the collector runs. On this machine a copy of a 256-byte
 * Int32Array with slice() took about 1 µs, against 0.3 µs for a view into
 * a buffer already allocated (`node bench/typed-copy.mjs`; docs/performance.md,
 * "Copies of small arrays"). The explorer copies a few memmap arrays and page tables for
 * every state it makes, so each copy between 65 bytes and 8 KiB takes the
 * next bytes of the current buffer, and a new buffer when it is full. A
 * buffer is collected once no array in it is reachable; states made
 * together tend to die together (breadth-first), so little is held for
 * long.
 *
 * A copy shares its ArrayBuffer: nothing may transfer or detach `.buffer`,
 * and a structured clone of one array would carry the whole buffer
 * (scenario/wire.ts sends compact copies, compactTyped()).
 */

const SLAB_BYTES = 1 << 16;
/** Up to this many bytes V8 keeps a typed array in its heap: slice() is cheaper there. */
const IN_HEAP_BYTES = 64;
/** From this size on, a copy of its own costs about the same. */
const OWN_BYTES = 8192;

let slab = new ArrayBuffer(SLAB_BYTES);
let used = 0;

/** Byte offset for `bytes` more in the current buffer (8-byte aligned), starting a new one when full. */
function take(bytes: number): number {
  const size = (bytes + 7) & ~7;
  if (used + size > SLAB_BYTES) {
    slab = new ArrayBuffer(SLAB_BYTES);
    used = 0;
  }
  const at = used;
  used += size;
  return at;
}

type View = Uint32Array | Int32Array | Uint8Array;

/** A copy of `a`, of the same type: a view into the current buffer when it is of the middle size. */
export function copyTyped<T extends View>(a: T): T {
  const bytes = a.byteLength;
  if (bytes <= IN_HEAP_BYTES || bytes >= OWN_BYTES) return a.slice() as T;
  const at = take(bytes); // first: it may start a new buffer
  const Make = a.constructor as new (buffer: ArrayBuffer, offset: number, length: number) => T;
  const c = new Make(slab, at, a.length);
  c.set(a);
  return c;
}

/** `a` itself when it has its buffer to itself, else a copy that has (to send it to another thread). */
export function compactTyped<T extends View>(a: T): T {
  return a.byteLength === a.buffer.byteLength ? a : (a.slice() as T);
}
