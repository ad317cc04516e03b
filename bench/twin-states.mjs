// Every state of bench/promela/cow-same-page.pml's own transitions, without
// reduction, found by a breadth-first search written out here (no spin, no
// cowherd): how many states the program has at its granularity, to read
// cowherd's and SPIN's counts against (docs/performance.md, eighth session).
//
// Usage: node bench/twin-states.mjs [K ...]   (default 4 5 6 7 8)
//
// A state is what the twin's state vector keeps once spin hides the
// variables nothing reads: the PTE, whether it is writable, each PFN's
// reference count and value, the next free PFN, `copies`, and each
// thread's position (0 before its write, 1 between the two steps of a
// copy, 2 done) with the PFN its fault holds. Dead threads are not
// distinguished from done ones (cowherd ends a thread with its last
// statement; spin's separate exit steps are left out).

function states(k) {
  const init = { pte: 2, rw: false, ref: [0, 0, 2], val: [0, 0, 1], next: 3, copies: 0 };
  init.th = Array.from({ length: k }, () => [0, 0]);
  const key = (s) => JSON.stringify([s.pte, s.rw, s.ref, s.val, s.next, s.copies, s.th]);
  const seen = new Set([key(init)]);
  const queue = [init];
  while (queue.length > 0) {
    const s = queue.pop();
    s.th.forEach(([pc, old], i) => {
      if (pc === 2) return;
      const t = structuredClone(s);
      t.th[i] = [2, 0];
      if (pc === 0 && s.rw) t.val[s.pte] = i + 2;
      else if (pc === 0) {
        // do_wp_page(): decides to copy, takes a reference on the old page.
        t.ref[s.pte] += 1;
        t.copies += 1;
        t.th[i] = [1, s.pte];
      } else if (s.pte === old && !s.rw) {
        // wp_page_copy(): the PTE is the one it saw; map the copy, store.
        t.ref[s.next] = 1;
        t.val[s.next] = i + 2;
        t.pte = s.next;
        t.rw = true;
        t.next += 1;
        t.ref[old] -= 2;
      } else {
        // pte_same() failed: drop the copy and the reference, store.
        t.ref[old] -= 1;
        t.val[s.pte] = i + 2;
      }
      for (const a of [t.ref, t.val]) for (let j = 0; j < t.next; j++) a[j] ??= 0;
      const kt = key(t);
      if (!seen.has(kt)) {
        seen.add(kt);
        queue.push(t);
      }
    });
  }
  return seen.size;
}

const ks = process.argv.slice(2).map(Number);
for (const k of ks.length > 0 ? ks : [4, 5, 6, 7, 8])
  console.log(`cow-same-page K=${k}: ${states(k).toLocaleString('en-US')} states`);
