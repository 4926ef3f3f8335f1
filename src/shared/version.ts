/** ferry's own version: package.json's, which the Debian package's version is too (version.test.ts checks they agree). */
export const FERRY_VERSION = '0.1.0';
