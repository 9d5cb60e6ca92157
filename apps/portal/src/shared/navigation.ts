import { Role } from '@app/platform';

export interface NavItem {
  href: string;
  text: string;
}

/**
 * Where each role lands after signing in, and the links in its header. A capability adds its pages here (the
 * steward's and the statutory body's pages replace the placeholder home of their roles).
 */
export const ROLE_PAGES: Record<Role, { home: string; nav: NavItem[] }> = {
  worker: {
    home: '/worker',
    nav: [
      { href: '/worker', text: 'Find a person' },
      { href: '/worker/referrals', text: 'Referral inbox' },
    ],
  },
  steward: { home: '/home', nav: [] },
  'statutory-reader': { home: '/home', nav: [] },
  'consortium-admin': { home: '/home', nav: [] },
};
