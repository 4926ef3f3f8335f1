// ferry's layers, checked by dependency-cruiser (`npm run lint`, and src/layers.test.ts in the unit tests).
// docs/architecture.md explains them; ../shared/STYLE.md (section 9) is where they come from.
//
// Each folder of src/ sits in one layer. A module may import its own folder and folders of LOWER layers only:
// not a higher layer, and not another folder of its own layer. There are no import cycles, between folders or
// inside one at run time. Type-only imports count for the layers (a type still ties the importer to the module that
// declares it); inside one folder, types may refer to each other (definition.ts <-> devices/*.ts).
// Unit tests (*.test.ts) sit beside the code but may import anything: they are never imported themselves.
//
// ferry differs from STYLE.md's sketch in three places, all of them "where a thing lives", not the direction:
// vm/ holds the domain definition (pure data: parse/render XML), so it sits low and qemu/ builds argv from it;
// the running domain (STYLE's vm runtime, registry and jobs) is host/; peer/ is only the daemon-to-daemon client
// (its routes belong in api/), so migration/ may call it; preflight/ checks a migration's plan, so it sits above
// migration/ (issue 14 lists migration -> preflight and peer -> migration as the upward imports).

/** Bottom to top. Folders on one line are siblings: neither imports the other. */
const layers = [
  // Branded ids, protocol frames shared with the CLI, API types (JobInfo), XML helpers; no I/O.
  { name: 'shared', folders: ['shared'] },
  // codes.ts (the one registry), FerryError.
  { name: 'errors', folders: ['errors'] },
  // Pure models and wire protocols: the domain definition (vm), the QMP client (qmp), the guest-agent client (agent).
  { name: 'models', folders: ['vm', 'qmp', 'agent'] },
  // The operating system (koffi calls, setpriv, cgroups, systemd, ports) and ferryd's SQLite store.
  { name: 'os', folders: ['system', 'store'] },
  // Starting and driving QEMU (argv, process, monitor); the client end of a connection to a ferryd (transport: URIs, TLS, SSH, HTTP).
  { name: 'qemu', folders: ['qemu', 'transport'] },
  // Host resources next to a VM: pools and volumes, networks, secrets, CPU models, the cluster CA, the peer client.
  { name: 'resources', folders: ['storage', 'network', 'secrets', 'cpu', 'pki', 'peer'] },
  // Disk leases: lock drivers, the VM-level adapter, the lockd client and its wire protocol.
  { name: 'locking', folders: ['locking'] },
  // The running domains: HostService, lifecycle, reattach, stats, lease keeper, lock service.
  { name: 'host', folders: ['host'] },
  // Read-only views over host/: serial consoles, Prometheus metrics.
  { name: 'views', folders: ['console', 'metrics'] },
  // Live and offline migration: phases, source, destination, recovery.
  { name: 'migration', folders: ['migration'] },
  // Pre-flight checks (before a migration, and the API's preflight route).
  { name: 'preflight', folders: ['preflight'] },
  // The HTTP API: buildApp(deps), routes, schemas (the peer routes too).
  { name: 'api', folders: ['api'] },
  // Composition roots of the two daemons: ferryd (daemon/) and ferry-lockd (lockd/).
  { name: 'daemons', folders: ['daemon', 'lockd'] },
  // The CLI: talks to ferryd's HTTP API only; see cliMayImport.
  { name: 'cli', folders: ['cli'] },
];

/**
 * What the CLI may import besides itself: shared types and protocol frames, the error registry (a FerryError carries
 * the code, hint and exit status the CLI prints), and transport/ (the client end of a connection: the connection
 * URI, TLS files, the SSH tunnel, the HTTP call). Never a server module.
 */
const cliMayImport = ['shared', 'errors', 'transport'];

/**
 * The CLI's imports of server modules that remain, as [CLI file, [server modules]]: none is a reply type any more
 * (those are in shared/api-types.ts, shared/domain-events.ts, shared/migration-options-schema.ts); each of these runs
 * logic on the client that lives in a server folder: the client config reuses ferryd.conf's parser, cert-* creates
 * the cluster CA locally (as virt-pki-setup would), cpu-baseline/cpu-compare compute from CPU descriptions as
 * virsh's do, migrate checks --graphicsuri before sending, and the man pages (docs tooling, not the CLI at run time)
 * read the daemons' option tables. Moving each needs a home the CLI may import (a parser that throws FerryError
 * cannot live in shared/, below errors/). A CLI import of a server module NOT listed here fails the lint and the
 * unit test.
 */
const cliPending = [
  ['src/cli/client-config.ts', ['daemon/config-file']],
  ['src/cli/commands/cert.ts', ['pki/cluster-ca']],
  ['src/cli/commands/cpu-models.ts', ['cpu/cpu-baseline', 'cpu/cpu-compare', 'cpu/cpu-descriptions', 'qemu/cpu-catalog']],
  ['src/cli/commands/migrate.ts', ['migration/graphics-uri']],
  ['src/cli/man/pages.ts', ['daemon/command-line', 'daemon/config', 'lockd/command-line']],
];

const folderRe = (folders) => `^src/(${folders.join('|')})/`;
const allFolders = layers.flatMap((l) => l.folders);
const notTests = '\\.test\\.ts$';

const layerRules = layers.flatMap((layer, i) => {
  const above = layers.slice(i + 1).flatMap((l) => l.folders);
  return layer.folders
    .filter((folder) => folder !== 'cli')
    .map((folder) => {
      const forbidden = [...above, ...layer.folders.filter((f) => f !== folder)];
      return {
        name: `layer-${folder}`,
        comment: `${folder}/ (layer ${layer.name}) imports only its own and lower layers: not ${forbidden.join(', ')}`,
        severity: 'error',
        from: { path: folderRe([folder]), pathNot: notTests },
        to: { path: folderRe(forbidden) },
      };
    });
});

/** @type {import('dependency-cruiser').IConfiguration} */
module.exports = {
  forbidden: [
    {
      name: 'no-circular',
      comment: 'No import cycles at run time. (Cycles of types between folders are upward imports: the layer rules catch them.)',
      severity: 'error',
      from: { path: '^src/' },
      to: { circular: true, viaOnly: { dependencyTypesNot: ['type-only', 'type-import'] } },
    },
    ...layerRules,
    {
      name: 'cli-client-only',
      comment: `The CLI talks to ferryd over HTTP: it imports only ${cliMayImport.join(', ')}, never a server module.`,
      severity: 'error',
      from: { path: '^src/cli/', pathNot: notTests },
      to: { path: '^src/', pathNot: [folderRe(['cli', ...cliMayImport])] },
    },
    {
      name: 'folder-in-a-layer',
      comment: 'Every folder of src/ has a place in the layer map of .dependency-cruiser.cjs.',
      severity: 'error',
      from: { path: '^src/' },
      to: { path: '^src/', pathNot: folderRe(allFolders) },
    },
    {
      name: 'folder-in-a-layer-from',
      comment: 'Every folder of src/ has a place in the layer map of .dependency-cruiser.cjs (its modules import something).',
      severity: 'error',
      from: { path: '^src/[^/]+/', pathNot: folderRe(allFolders) },
      to: {},
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    exclude: { path: '^(dist|node_modules)/' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: { exportsFields: ['exports'], conditionNames: ['import', 'require', 'node', 'default'], extensions: ['.ts', '.js'] },
    knownViolations: [
      ...cliPending.flatMap(([from, targets]) =>
        targets.map((t) => ({ type: 'dependency', from, to: `src/${t}.ts`, rule: { name: 'cli-client-only', severity: 'error' } })),
      ),
    ],
  },
};
