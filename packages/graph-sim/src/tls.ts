import { generate } from 'selfsigned';

export interface TlsMaterial {
  keyPem: string;
  certPem: string;
}

/** A fresh self-signed certificate for localhost and 127.0.0.1; clients trust it through `caCertPem`. */
export async function makeTlsMaterial(): Promise<TlsMaterial> {
  const pems = await generate([{ name: 'commonName', value: 'graph-sim.localhost' }], {
    keyType: 'ec',
    curve: 'P-256',
    notAfterDate: new Date(Date.now() + 30 * 24 * 3600 * 1000),
    algorithm: 'sha256',
    extensions: [
      { name: 'basicConstraints', cA: true },
      {
        name: 'subjectAltName',
        altNames: [
          { type: 2, value: 'localhost' },
          { type: 7, ip: '127.0.0.1' },
          { type: 7, ip: '::1' },
        ],
      },
    ],
  });
  return { keyPem: pems.private, certPem: pems.cert };
}
