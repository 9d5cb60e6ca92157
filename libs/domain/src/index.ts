export * from './catalogue';
export * from './consent/consent';
export * from './people/person';
export * from './referrals/referral';
export * from './shared/aggregate';
export * from './shared/domain-error';
export * from './wellbeing/swemwbs';
