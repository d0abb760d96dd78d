import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** PEM files made by openssl at test time in a temp dir; no key is ever committed. */
export interface TestCerts {
  /** Reads `name` (e.g. `ca.crt`, `client.key`). */
  pem(name: string): Buffer;
  /** Deletes the directory. */
  remove(): void;
}

/**
 * Makes CAs and leaf certificates (EC P-256, one day, SAN `IP:127.0.0.1, DNS:localhost`):
 * `leaves` maps a leaf name to the CA that signs it.
 */
export function makeCerts(cas: string[], leaves: Record<string, string>): TestCerts {
  const dir = mkdtempSync(join(tmpdir(), 'flotilla-grpc-tls-'));
  const ssl = (...args: string[]) => execFileSync('/usr/bin/openssl', args, { cwd: dir, stdio: 'ignore' });
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes'];
  for (const ca of cas)
    ssl(
      'req',
      '-x509',
      ...ec,
      '-days',
      '1',
      '-subj',
      `/CN=${ca}`,
      '-keyout',
      `${ca}.key`,
      '-out',
      `${ca}.crt`,
    );
  writeFileSync(join(dir, 'san.ext'), 'subjectAltName=IP:127.0.0.1,DNS:localhost\n');
  for (const [name, ca] of Object.entries(leaves)) {
    ssl('req', ...ec, '-subj', `/CN=${name}`, '-keyout', `${name}.key`, '-out', `${name}.csr`);
    ssl(
      'x509',
      '-req',
      '-in',
      `${name}.csr`,
      '-CA',
      `${ca}.crt`,
      '-CAkey',
      `${ca}.key`,
      '-CAcreateserial',
      '-days',
      '1',
      '-extfile',
      'san.ext',
      '-out',
      `${name}.crt`,
    );
  }
  return {
    pem: (name) => readFileSync(join(dir, name)),
    remove: () => rmSync(dir, { recursive: true, force: true }),
  };
}
