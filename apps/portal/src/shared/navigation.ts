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
  steward: {
    home: '/steward',
    nav: [
      { href: '/steward', text: 'The place' },
      { href: '/steward/learning', text: 'Learning cycles' },
      { href: '/steward/issues', text: 'Issue log' },
      { href: '/steward/packs', text: 'Evidence packs' },
    ],
  },
  'statutory-reader': {
    home: '/statutory',
    nav: [
      { href: '/statutory', text: 'Evidence published to you' },
      { href: '/statutory/feed', text: 'Feed and webhook' },
    ],
  },
  'consortium-admin': { home: '/home', nav: [] },
};
