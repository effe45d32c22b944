/** Seeded random numbers for the workloads: every run draws the same keys and payloads. */

/** mulberry32: a small, fast 32-bit generator; good enough to pick keys, fixed by its seed. */
export function makeRng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** An integer in [lo, hi] inclusive. */
export function randInt(rng: () => number, lo: number, hi: number): number {
  return lo + Math.floor(rng() * (hi - lo + 1));
}

/** FNV-1a over the 4 bytes of a 32-bit integer: spreads zipfian ranks over the key space. */
function fnv1a32(x: number): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < 4; i++) {
    h ^= (x >>> (i * 8)) & 0xff;
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h;
}

/**
 * Zipfian keys over [0, n) as YCSB draws them (theta 0.99, Gray et al.'s method), with ranks scrambled
 * by a hash so the hot keys are spread over the table instead of packed into its first pages.
 */
export function makeZipfian(n: number, rng: () => number, theta = 0.99): () => number {
  let zetan = 0;
  for (let i = 1; i <= n; i++) zetan += 1 / Math.pow(i, theta);
  const zeta2 = 1 + Math.pow(0.5, theta);
  const alpha = 1 / (1 - theta);
  const eta = (1 - Math.pow(2 / n, 1 - theta)) / (1 - zeta2 / zetan);
  const rank = (): number => {
    const u = rng();
    const uz = u * zetan;
    if (uz < 1) return 0;
    if (uz < zeta2) return 1;
    return Math.min(n - 1, Math.floor(n * Math.pow(eta * u - eta + 1, alpha)));
  };
  return () => fnv1a32(rank()) % n;
}

/** `count` random lowercase strings of `length` characters, drawn once so timed loops do not pay for them. */
export function makeStrings(rng: () => number, count: number, length: number): string[] {
  const out: string[] = [];
  for (let i = 0; i < count; i++) {
    let s = '';
    for (let j = 0; j < length; j++) s += String.fromCharCode(97 + Math.floor(rng() * 26));
    out.push(s);
  }
  return out;
}
