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
  // Logic ferryd and the CLI both run, which may throw a FerryError: ferryd.conf's syntax (common/config-file.ts, the
  // CLI's client.conf too), --graphicsuri's parser (common/), CPU model descriptions, comparison and baselines (cpu/).
  { name: 'common', folders: ['common', 'cpu'] },
  // Pure models and wire protocols: the domain definition (vm), the QMP client (qmp), the guest-agent client (agent).
  { name: 'models', folders: ['vm', 'qmp', 'agent'] },
  // The operating system (koffi calls, setpriv, cgroups, systemd, ports) and ferryd's SQLite store.
  { name: 'os', folders: ['system', 'store'] },
  // Starting and driving QEMU (argv, process, monitor); the client end of a connection to a ferryd (transport: URIs, TLS, SSH, HTTP,
  // and the cluster CA that issues the TLS files: ferryd's cert bootstrap and the CLI's cert-* verbs).
  { name: 'qemu', folders: ['qemu', 'transport'] },
  // Host resources next to a VM: pools and volumes, networks, secrets, the peer client.
  { name: 'resources', folders: ['storage', 'network', 'secrets', 'peer'] },
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
  // Docs tooling, never run by the CLI: the man pages (scripts/gen-man.sh) read the three programs' option tables.
  { name: 'docs', folders: ['man'] },
];

/**
 * What the CLI may import besides itself: shared types and protocol frames, the error registry (a FerryError carries
 * the code, hint and exit status the CLI prints), the logic it runs on the client (common/: the client config's
 * syntax, --graphicsuri; cpu/: cpu-compare and cpu-baseline compute from CPU descriptions as virsh's do), and
 * transport/ (the client end of a connection: the connection URI, TLS files and the cluster CA of cert-*, the SSH
 * tunnel, the HTTP call). Never a server module: a CLI import of any other folder fails the lint and the unit test.
 */
const cliMayImport = ['shared', 'errors', 'common', 'cpu', 'transport'];

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
  },
};
