/** The growth, in percent of the live heap, that the bot allows between full collections. */
export declare const HEAP_GROWING_PERCENT: number;
/** Set V8's heap growing factor unless `execArgv` has one; answers the flag set, or null. See heap-growth.js. */
export declare function limitHeapGrowth(execArgv?: readonly string[], setFlags?: (flags: string) => void): string | null;
