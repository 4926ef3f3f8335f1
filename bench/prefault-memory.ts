import { execFileSync } from 'node:child_process';

/**
 * Touches `gib` GiB of memory in a short-lived process and frees it again.
 *
 * On a nested virtual machine (like the CI machines) the outer hypervisor
 * backs this machine's memory only when it is first touched, and that first
 * touch costs ~10 µs per page. A destination QEMU that lands on never-used
 * memory pays it for every page it receives, which makes the first migration
 * after boot 3–5× slower than the next ones. Prefaulting first measures
 * ferry and QEMU instead of the outer hypervisor.
 */
export function prefaultMemory(gib: number): number {
  if (gib <= 0) return 0;
  const t0 = Date.now();
  const script = `const chunks=[];for(let i=0;i<${gib * 4};i++){const b=Buffer.allocUnsafeSlow(256<<20);for(let o=0;o<b.length;o+=4096)b[o]=1;chunks.push(b)}`;
  execFileSync(process.execPath, ['--max-old-space-size=256', '-e', script], { stdio: 'ignore' });
  return Date.now() - t0;
}
