export { AudienceSyntaxError, type AudienceSyntaxErrorDetails } from './audience-syntax.error.js';
export { formatAudience } from './audience.format.js';
export { matchAudience, type AudienceMatchContext, type CustomerFacts } from './audience.matcher.js';
export { parseAudience } from './audience.parser.js';
export * from './audience.types.js';
