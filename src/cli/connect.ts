/** The CLI's store over the driver (placeholder until src/driver lands). */

import { CliError } from './errors.ts';
import type { CliStore } from './store.ts';

export async function openStore(_url: string): Promise<CliStore> {
  throw new CliError('the driver is not available yet');
}
