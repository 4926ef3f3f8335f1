import { FerryError } from '../errors/ferry-error.js';

/** "XML error: ..." as libvirt words it, naming the element at fault. */
export function xmlInvalid(element: string, problem: string): FerryError {
  return new FerryError('XML_INVALID', `XML error: ${problem} in <${element}>`, { details: { element } });
}

export function xmlUnsupported(element: string, why = 'is not supported by ferry'): FerryError {
  return new FerryError('XML_UNSUPPORTED', `unsupported configuration: <${element}> ${why}`, {
    details: { element },
  });
}
