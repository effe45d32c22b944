import { openMemoryKv } from '../../src/kv/memory.ts';
import { describeKvConformance } from './conformance.ts';

describeKvConformance('memory', async () => {
  const kv = openMemoryKv();
  return { kv, close: () => kv.close() };
});
