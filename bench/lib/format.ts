/** Number formatting shared by the markdown table and the charts. */

/** Three significant digits with a k/M suffix for big numbers: 812, 12.3k, 1.05M; small numbers keep decimals. */
export function formatValue(v: number): string {
  if (!Number.isFinite(v)) return '–';
  const a = Math.abs(v);
  if (a >= 1e6) return `${(v / 1e6).toPrecision(3)}M`;
  if (a >= 1e4) return `${(v / 1e3).toPrecision(3)}k`;
  if (a >= 100) return Math.round(v).toLocaleString('en');
  if (a >= 1) return v.toPrecision(3);
  return v.toFixed(3);
}

export function formatRatio(r: number | undefined): string {
  if (r === undefined || !Number.isFinite(r)) return '';
  return `${r >= 10 ? r.toFixed(0) : r >= 1 ? r.toFixed(2) : r.toPrecision(2)}×`;
}

/** How many times better than the reference: value/ref when higher is better, ref/value when lower is. */
export function speedRatio(value: number, ref: number | undefined, better: 'higher' | 'lower'): number | undefined {
  if (ref === undefined || !(ref > 0) || !(value > 0)) return undefined;
  return better === 'higher' ? value / ref : ref / value;
}
