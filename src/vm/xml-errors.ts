import { FerryError } from '../errors/ferry-error.js';
import { parseXml, XmlRefusedError, XmlSyntaxError, type XmlElement } from '../shared/xml.js';

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
