/** Every workload, in report order. */
import type { Workload } from '../lib/types.ts';
import { bulkInsert } from './bulk-insert.ts';
import { autocommitInsert } from './autocommit-insert.ts';
import { pointSelect } from './point-select.ts';
import { rangeScan } from './range-scan.ts';
import { updateRandom } from './update-random.ts';
import { ycsbA, ycsbB } from './ycsb.ts';
import { agentAudit } from './agent-audit.ts';
import { versions } from './versions.ts';
import { coldOpen } from './cold-open.ts';
import { writers } from './writers.ts';
import { manyDbs } from './many-dbs.ts';

export const WORKLOADS: Workload[] = [
  bulkInsert,
  autocommitInsert,
  pointSelect,
  rangeScan,
  updateRandom,
  ycsbA,
  ycsbB,
  agentAudit,
  versions,
  coldOpen,
  writers,
  manyDbs,
];
