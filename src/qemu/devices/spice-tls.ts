import { FerryError } from '../../errors/ferry-error.js';
import { type GraphicsDefinition, SPICE_CHANNELS } from '../../vm/definition.js';
import { escapeOpt } from './device-props.js';

function tlsUnavailable(message: string): FerryError {
  return new FerryError('DISPLAY_TLS_UNAVAILABLE', `unsupported configuration: ${message}`, { details: { element: 'graphics' } });
}

/**
 * The TLS part of a -spice argument, as libvirt builds it: the x509 directory
 * when the display has a TLS port, then defaultMode and each <channel> as
 * tls-channel= / plaintext-channel= (in libvirt's channel order). A mode that
 * needs a port the display does not have is refused with libvirt's words;
 * a TLS port on a host without SPICE TLS too. `x509Dir`: where this QEMU
 * reads ca-cert.pem, server-cert.pem and server-key.pem (absent: spice_tls is off).
 */
export function spiceTlsOptions(g: GraphicsDefinition, x509Dir: string | undefined): string[] {
  const l = g.listens[0];
  const hasSecure = g.tlsPort !== undefined && g.tlsPort > 0 && l?.type !== 'socket' && l?.type !== 'none';
  const hasInsecure = l?.type === 'socket' || (g.port !== undefined && g.port > 0 && l?.type !== 'none');
  const out: string[] = [];
  if (hasSecure) {
    if (x509Dir === undefined) throw tlsUnavailable(`spice TLS port set in XML configuration, but TLS is disabled in ferryd.conf (spice_tls)`);
    out.push(`x509-dir=${escapeOpt(x509Dir)}`);
  }
  const mode = (m: string | undefined, name: string): string | undefined => {
    if (m === 'secure') {
      if (!hasSecure)
        throw tlsUnavailable(
          name === 'default'
            ? 'spice defaultMode secure requested in XML configuration, but TLS connection is not available'
            : 'spice secure channels set in XML configuration, but TLS connection is not available',
        );
      return `tls-channel=${name}`;
    }
    if (m === 'insecure') {
      if (!hasInsecure) {
        throw new FerryError(
          'XML_UNSUPPORTED',
          `unsupported configuration: ${name === 'default' ? 'spice defaultMode insecure requested in XML configuration, but plaintext connection is not available' : 'spice insecure channels set in XML configuration, but plain connection is not available'}`,
          { details: { element: 'graphics' } },
        );
      }
      return `plaintext-channel=${name}`;
    }
    return undefined;
  };
  const opts = [mode(g.defaultMode, 'default'), ...SPICE_CHANNELS.map((n) => mode(g.channels?.[n], n))];
  return [...out, ...opts.filter((o): o is string => o !== undefined)];
}

/**
 * Does an autoport SPICE display get a TLS port? libvirt's rule: when a
 * channel or the default mode is secure, or when the host has SPICE TLS and
 * a channel may use either port (mode any, the default for every channel
 * not listed).
 */
export function spiceNeedsTlsPort(g: GraphicsDefinition, spiceTls: boolean): boolean {
  const modes = [g.defaultMode ?? 'any', ...SPICE_CHANNELS.map((n) => g.channels?.[n] ?? 'any')];
  return modes.includes('secure') || (spiceTls && modes.includes('any'));
}
