import { NotFoundException } from '@nestjs/common';

const PERSON_REF = /^[A-Z]{2,4}-[0-9A-HJKMNP-TV-Z]{10}$/;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** A consortium reference from the address; anything else is a page that does not exist. */
export function refParam(ref: string): string {
  if (!PERSON_REF.test(ref)) throw new NotFoundException();
  return ref;
}

/** A referral's or consent's id from the address. */
export function idParam(id: string): string {
  if (!UUID.test(id)) throw new NotFoundException();
  return id;
}

export const journeyPath = (personRef: string) => `/worker/people/${encodeURIComponent(personRef)}`;
