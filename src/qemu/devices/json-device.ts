/**
 * A -device in QEMU's JSON form, for a device with a list property (iothread-vq-mapping) that the
 * key=value form cannot say. Props are ferry's key=value strings: on/off become booleans, decimal
 * numbers integers (addr=0x1 stays a string, as QEMU wants it); `lists` are added between them and the `tail` (bus, addr).
 */
/** Properties QEMU types as strings, whatever their value looks like (write-cache is OnOffAuto: "on"). */
const STRING_PROPS = new Set([
  'serial',
  'write-cache',
  'vendor',
  'model',
  'product',
  'drive',
  'id',
  'bus',
  'addr',
  'port',
  'netdev',
  'chardev',
  'werror',
  'rerror',
  'bios-chs-trans',
]);

export function jsonDevice(driver: string, props: ReadonlyArray<string | undefined>, lists: Record<string, unknown>, tail: readonly string[] = []): string {
  const obj: Record<string, unknown> = { driver };
  const put = (p: string | undefined): void => {
    if (p === undefined || p === '') return;
    const eq = p.indexOf('=');
    const key = p.slice(0, eq);
    const value = p.slice(eq + 1).replace(/,,/g, ',');
    obj[key] = STRING_PROPS.has(key) ? value : value === 'on' ? true : value === 'off' ? false : /^(0|[1-9]\d*)$/.test(value) ? Number(value) : value;
  };
  props.forEach(put);
  Object.assign(obj, lists);
  tail.forEach(put);
  return JSON.stringify(obj);
}
