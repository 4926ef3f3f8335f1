/** ferry's own version (kept in step with package.json). */
export const FERRY_VERSION = '0.1.0';
