import { buildFerrydProgram } from '../daemon/command-line.js';
import { configKeyDocs } from '../daemon/config.js';
import { buildLockdProgram } from '../lockd/command-line.js';
import { CliContext } from '../cli/context.js';
import { VERB_GROUPS } from '../cli/help/verb-groups.js';
import { buildProgram } from '../cli/main.js';
import { optionEntries, verbEntry } from './command-page.js';
import { roffHeader, roffSection, roffTagged, roffText } from './roff.js';

export interface ManPage {
  /** The file name under docs/man/. */
  file: string;
  text: string;
}

const para = (...lines: string[]): string => lines.map((l) => `.PP\n${roffText(l)}\n`).join('');

async function ferryPage(): Promise<ManPage> {
  const program = await buildProgram(new CliContext({ out: () => undefined, err: () => undefined }));
  const byName = new Map(program.commands.map((c) => [c.name(), c]));
  const groups = VERB_GROUPS.map((g) => {
    const verbs = g.verbs.flatMap((v) => {
      const cmd = byName.get(v);
      return cmd ? [verbEntry(cmd)] : [];
    });
    return verbs.length > 0 ? `.SS "${g.title} (help keyword '${g.keyword}')"\n${verbs.join('')}` : '';
  }).join('');
  const text = [
    roffHeader('ferry', 1, program.description()),
    roffSection('SYNOPSIS', '.B ferry\n[\\fIoptions\\fR] \\fIcommand\\fR [\\fIargs\\fR]\n'),
    roffSection(
      'DESCRIPTION',
      para(
        'ferry is a virsh-compatible command line for ferryd(8): the same verbs, options, output and exit status as virsh, against the ferryd of this host or of another one.',
        'Domains can be named by name, id or uuid. "ferry help" lists the verbs by group as virsh does, "ferry help KEYWORD" one group and "ferry help COMMAND" (or "ferry COMMAND --help") one verb.',
      ),
    ),
    roffSection('OPTIONS', optionEntries(program)),
    roffSection('COMMANDS', groups),
    roffSection(
      'CONNECTION URI',
      para(
        "The daemon is named by a URI, as virsh names libvirtd: ferry:///system (the system ferryd, /run/ferry/ferryd.sock), ferry:///session (the user's own), ferry:///system?socket=PATH, ferry+ssh://[USER@]HOST/system, ferry+tls://HOST[:PORT]/system; qemu:// spellings work too.",
        'The URI is, first found: -c/--connect, $FERRY_DEFAULT_URI, uri_default in the user\'s client configuration, then in the system\'s, and last the built-in default: ferry:///system for root and for a user who may use the system socket (a member of its group, "ferry"; with -r, every user, on the read-only socket), ferry:///session for any other user. A name that is an alias in uri_aliases is replaced by its URI. "ferry uri" prints the URI in use.',
      ),
    ),
    roffSection(
      'ENVIRONMENT',
      [
        roffTagged('\\fBFERRY_DEFAULT_URI\\fR', 'the connection URI when -c is not given'),
        roffTagged('\\fBLIBVIRT_DEFAULT_URI\\fR', 'not read: it names libvirtd, which may run beside ferryd'),
        roffTagged(
          '\\fBFERRY_CLI_FAST_PATH\\fR',
          '0 turns off the fast path of list, dominfo, domstate, domid, domname and domuuid (one request over the unix socket, without loading the other commands); the output is the same either way',
        ),
        roffTagged('\\fBXDG_CONFIG_HOME\\fR', "where the user's client configuration is (default ~/.config)"),
      ].join(''),
    ),
    roffSection(
      'FILES',
      [
        roffTagged(
          '\\fI/etc/ferry/ferry.conf\\fR',
          'the system\'s client configuration: uri_default = "URI" and uri_aliases = [ "NAME=URI", ... ], in libvirt.conf\'s format',
        ),
        roffTagged(
          '\\fI$XDG_CONFIG_HOME/ferry/ferry.conf\\fR',
          "the user's client configuration (default ~/.config/ferry/ferry.conf); its settings win over the system's",
        ),
      ].join(''),
    ),
    roffSection('EXIT STATUS', para('0 on success, 1 on failure, as virsh. A failure prints "error:" lines, then a hint and the error code (docs/errors.md).')),
    roffSection('SEE ALSO', '.BR ferryd (8),\n.BR ferryd.conf (5),\n.BR ferry\\-lockd (8),\n.BR virsh (1)\n'),
  ].join('');
  return { file: 'ferry.1', text };
}

function ferrydPage(): ManPage {
  const program = buildFerrydProgram();
  const text = [
    roffHeader('ferryd', 8, program.description()),
    roffSection('SYNOPSIS', '.B ferryd\n[\\fIoptions\\fR]\n'),
    roffSection(
      'DESCRIPTION',
      para(
        "ferryd runs on each host: it starts and watches the QEMU processes of the host's domains over QMP, moves them to and from other hosts, and serves ferry(1) on a unix socket (and, with --listen, on a mutual-TLS listener).",
        'It runs in the foreground. Running VMs survive a ferryd restart: a new ferryd with the same state directory reattaches to them. SIGTERM or SIGINT stop it and leave every VM running.',
        'Settings come from the defaults, then ferryd.conf(5), then the command line.',
      ),
    ),
    roffSection('OPTIONS', optionEntries(program)),
    roffSection(
      'FILES',
      [
        roffTagged('\\fI/etc/ferry/ferryd.conf\\fR', 'the configuration, ferryd.conf(5)'),
        roffTagged(
          '\\fI/run/ferry/ferryd.sock\\fR, \\fI/run/ferry/ferryd\\-ro.sock\\fR',
          'the read-write socket (root and the ferry group) and the read-only one',
        ),
        roffTagged('\\fI/var/lib/ferry\\fR', 'the state directory: definitions (SQLite), domain logs, QEMU sockets'),
      ].join(''),
    ),
    roffSection('SEE ALSO', '.BR ferry (1),\n.BR ferryd.conf (5),\n.BR ferry\\-lockd (8)\n'),
  ].join('');
  return { file: 'ferryd.8', text };
}

function lockdPage(): ManPage {
  const program = buildLockdProgram('the host name');
  const text = [
    roffHeader('ferry-lockd', 8, program.description()),
    roffSection('SYNOPSIS', '.B ferry\\-lockd\n[\\fIoptions\\fR]\n'),
    roffSection(
      'DESCRIPTION',
      para(
        "ferry-lockd holds the disk leases of one host's domains, apart from ferryd(8) so that leases outlive ferryd's restarts, as virtlockd does for libvirtd. ferryd talks to it over a unix socket (lockd_socket in ferryd.conf(5)).",
        "With the fcntl backend a lease is an OFD lock on the disk image (or on a file in a lockspace directory), dropped by the kernel when the process dies; with the etcd backend it is a key attached to an etcd lease that expires lease-ttl seconds after a dead lockd's last keepalive.",
      ),
    ),
    roffSection('OPTIONS', optionEntries(program)),
    roffSection('SEE ALSO', '.BR ferryd (8),\n.BR ferryd.conf (5)\n'),
  ].join('');
  return { file: 'ferry-lockd.8', text };
}

function ferrydConfPage(): ManPage {
  const keys = configKeyDocs()
    .map((k) => roffTagged(`\\fB${k.key}\\fR (\\fI${roffText(k.type)}\\fR; default: ${roffText(k.default)})`, k.doc))
    .join('');
  const text = [
    roffHeader('ferryd.conf', 5, 'configuration file of ferryd(8)'),
    roffSection('SYNOPSIS', '.I /etc/ferry/ferryd.conf\n'),
    roffSection(
      'DESCRIPTION',
      para(
        'ferryd reads /etc/ferry/ferryd.conf when it exists, or the file given with --config, in libvirt\'s syntax (as qemu.conf and libvirtd.conf): key = "string", key = 123, key = [ "a", "b" ]. A string has no escapes and ends on its line (use single quotes for one holding ", triple quotes for one spanning lines); lists may span lines and end with a comma; # starts a comment outside a string; a key set twice keeps the last value.',
        'An unknown key or a bad value stops ferryd with the file, the line and what was expected (error CONFIG_INVALID). Command-line options override the file.',
      ),
    ),
    roffSection('KEYS', keys),
    roffSection(
      'EXAMPLE',
      '.EX\nlisten = "10.0.0.11:16520"\nmigration_address = "10.0.1.11"\ntls_allowed_dn_list = [\n  "O=ferry,OU=ferry\\-host,CN=*",\n  "O=ferry,OU=ferry\\-admin,CN=*",\n]\n.EE\n',
    ),
    roffSection('SEE ALSO', '.BR ferryd (8),\n.BR ferry\\-lockd (8),\n.BR ferry (1)\n'),
  ].join('');
  return { file: 'ferryd.conf.5', text };
}

/** The four pages, as scripts/gen-man.sh writes them into docs/man/. */
export async function manPages(): Promise<ManPage[]> {
  return [await ferryPage(), ferrydPage(), lockdPage(), ferrydConfPage()];
}
