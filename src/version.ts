/** Version numbers reported by --version and INFO. */

/** tessera's own version. */
export const TESSERA_VERSION = "0.1.0";
/** The Redis version whose behaviour tessera matches (INFO redis_version, HELLO). */
export const REDIS_VERSION = "7.0.15";
