/** Database names: 1..128 of [A-Za-z0-9._-]. A name is only ever a key suffix, never a prefix of data. */

import { InvalidNameError } from './errors.ts';

/** Also the form of a tag name. */
export const NAME = /^[A-Za-z0-9._-]{1,128}$/;

export function validateName(name: unknown): string {
  if (typeof name !== 'string' || !NAME.test(name)) throw new InvalidNameError(name);
  return name;
}
