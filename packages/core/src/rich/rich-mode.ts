import type { RichSettings } from '../config/rich-config.ts';
import type { SubscriptionMode } from '../model/subscription-mode.ts';

/**
 * Rich subscriptions: Graph sends each item inside its notification, encrypted for our current certificate.
 * Their resource names the `$select` (Graph requires one there), reads add the properties Graph leaves out
 * (`richRead`), their lifetime is the kind's rich maximum, and a renewal moves an older certificate's ones to the
 * current certificate without waiting for the renewal margin.
 */
export function richMode(rich: RichSettings): SubscriptionMode {
  const richSelect = (kind: { rich?: { defaultSelect: string } }, select: string | undefined): string =>
    select ?? kind.rich!.defaultSelect;
  return {
    name: 'rich',
    // Teams sends whole items and takes no `$select` (its kinds' default is empty).
    resource: (kind, target, entry) => {
      const select = richSelect(kind, entry.select);
      return select ? `${kind.subscriptionResource(target)}?$select=${select}` : kind.subscriptionResource(target);
    },
    readSelect: (kind, entry) => [richSelect(kind, entry.select), entry.richRead].filter(Boolean).join(','),
    maxLifetimeMinutes: (kind) => kind.rich?.maxLifetimeMinutes ?? kind.maxLifetimeMinutes,
    createFields: () => ({
      body: {
        includeResourceData: true,
        encryptionCertificate: rich.current.certificate,
        encryptionCertificateId: rich.current.id,
      },
      record: { mode: 'rich', encryptionCertificateId: rich.current.id },
    }),
    rotation: (record) =>
      record.mode !== 'rich' || record.encryptionCertificateId === rich.current.id
        ? undefined
        : { encryptionCertificate: rich.current.certificate, encryptionCertificateId: rich.current.id },
  };
}
