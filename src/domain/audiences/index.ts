export { AudienceSyntaxError, type AudienceSyntaxErrorDetails } from './audience-syntax.error.js';
export { formatAudience } from './audience.format.js';
export { matchAudience, type AudienceMatchContext, type CustomerFacts } from './audience.matcher.js';
export { MAX_AUDIENCE_DEPTH, MAX_AUDIENCE_LENGTH, MAX_AUDIENCE_TERMS, parseAudience } from './audience.parser.js';
export * from './audience.types.js';
export { audienceTagValues, resolveAudienceTags, type AudienceTagIds, type AudienceTagLookup } from './audience.tags.js';
