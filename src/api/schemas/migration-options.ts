/** virsh migrate's flags as the API takes them (MigrationOptions, any subset); migrate and migrate-check share it. Declared with the type in shared/. */
export { migrationOptionsRequestSchema as migrationOptionsSchema } from '../../shared/migration-options-schema.js';
