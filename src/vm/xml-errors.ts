import { FerryError } from '../errors/ferry-error.js';
import { parseXml, XmlRefusedError, XmlSyntaxError, type XmlElement } from '../shared/xml.js';
import { type DefineProblem, describeProblem } from './schema/element-rule.js';

/** "XML error: ..." as libvirt words it, naming the element at fault. */
export function xmlInvalid(element: string, problem: string): FerryError {
  return new FerryError('XML_INVALID', `XML error: ${problem} in <${element}>`, { details: { element } });
}

export function xmlUnsupported(element: string, why = 'is not supported by ferry'): FerryError {
  return new FerryError('XML_UNSUPPORTED', `unsupported configuration: <${element}> ${why}`, {
    details: { element },
  });
}

/**
 * Parses a domain, network or pool document for the API: a document over the
 * limits (XML_TOO_LARGE), with a DTD (XML_DOCTYPE_REFUSED) or not well-formed
 * (XML_MALFORMED) is refused with its own code; nothing else escapes.
 */
export function parseXmlDocument(source: string): XmlElement {
  try {
    return parseXml(source);
  } catch (err) {
    if (err instanceof XmlRefusedError) {
      const r = err.refusal;
      if (r.kind === 'doctype') throw new FerryError('XML_DOCTYPE_REFUSED', `XML error: ${err.message}`, { cause: err, details: { line: r.line } });
      throw new FerryError('XML_TOO_LARGE', `XML error: ${err.message}`, { cause: err, details: { [r.what]: r.found, limit: r.limit } });
    }
    if (err instanceof XmlSyntaxError) {
      throw new FerryError('XML_MALFORMED', `XML error: ${err.message}`, { cause: err, details: { line: err.line, column: err.column } });
    }
    // The parser library throws plain errors for some malformed input: still the document's fault, not ferry's.
    throw new FerryError('XML_MALFORMED', `XML error: ${(err as Error).message}`, { cause: err });
  }
}

/**
 * Everything of a definition ferry would not apply, in one error: each line
 * names the device and the element or attribute ("<disk> 'hda': bus 'ide' is
 * not supported on machine q35; use 'sata'"); details.problems has the paths.
 */
export function unsupportedConfiguration(problems: DefineProblem[], code: 'XML_UNSUPPORTED' | 'XML_INVALID' = 'XML_UNSUPPORTED'): FerryError {
  const lines = problems.map(describeProblem);
  const prefix = code === 'XML_INVALID' ? '' : 'unsupported configuration: ';
  const message =
    lines.length === 1
      ? `${prefix}${lines[0]}`
      : `${prefix}${lines.length} parts of this definition cannot be run as defined:\n${lines.map((l) => `  - ${l}`).join('\n')}`;
  return new FerryError(code, message, {
    details: { problems: problems.map((p) => ({ path: p.path, ...(p.device ? { device: p.device } : {}), message: p.message })) },
  });
}
