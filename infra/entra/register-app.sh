#!/usr/bin/env bash
# Registers graph2kafka's Entra app (needed on either cloud) with az: the app and its service principal, the
# Graph application permission Calendars.Read (and GroupMember.Read.All with --groups, for G2K_SUBSCRIBE_GROUPS),
# admin consent, and a client secret. The secret alone goes to standard output, to pipe straight into a vault:
#
#   infra/entra/register-app.sh [--dry-run] [--groups] [--years N] DISPLAY_NAME | infra/azure/deploy.sh secret azure-client-secret
#   infra/entra/register-app.sh [--dry-run] [--groups] [--years N] DISPLAY_NAME | infra/gcp/deploy.sh secret g2k-azure-client-secret
#
# The tenant and client ids to configure (AZURE_TENANT_ID, AZURE_CLIENT_ID) are printed on standard error.
# Run it as a Global Administrator or Privileged Role Administrator (admin consent needs one).
set -euo pipefail

dry_run=false
groups=false
years=1
usage() {
  sed -n '2,10p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//' >&2
  exit 2
}
while [ $# -gt 0 ]; do
  case "$1" in
    --dry-run) dry_run=true; shift ;;
    --groups) groups=true; shift ;;
    --years) years=${2:?--years needs a number}; shift 2 ;;
    -h | --help) usage ;;
    -*) echo "unknown option $1" >&2; usage ;;
    *) break ;;
  esac
done
[ $# -eq 1 ] || usage
name=$1

GRAPH=00000003-0000-0000-c000-000000000000
CALENDARS_READ=798ee544-9d2d-430c-a058-570e29e34338
GROUP_MEMBER_READ_ALL=98830695-27a2-44f7-8c18-0c3ebc9698f6

# Commands go to standard error: standard output carries the secret only.
run() {
  {
    printf '+'
    printf ' %q' "$@"
    printf '\n'
  } >&2
  if [ "$dry_run" = false ]; then "$@"; fi
}
capture() {
  {
    printf '+'
    printf ' %q' "$@"
    printf '\n'
  } >&2
  if [ "$dry_run" = true ]; then printf '<%s>' "${placeholder:-output}"; else "$@"; fi
}

placeholder=tenant-id tenant=$(capture az account show --query tenantId --output tsv)
placeholder=app-id app_id=$(capture az ad app create --display-name "$name" --sign-in-audience AzureADMyOrg \
  --query appId --output tsv)
run az ad sp create --id "$app_id" --output none
permissions=("$CALENDARS_READ=Role")
[ "$groups" = false ] || permissions+=("$GROUP_MEMBER_READ_ALL=Role")
run az ad app permission add --id "$app_id" --api "$GRAPH" --api-permissions "${permissions[@]}"
run az ad app permission admin-consent --id "$app_id"
echo "AZURE_TENANT_ID=$tenant" >&2
echo "AZURE_CLIENT_ID=$app_id" >&2
# The secret's expiry is your rotation date: put it in the calendar (docs/runbook.md#client-secret-expires).
placeholder=client-secret secret=$(capture az ad app credential reset --id "$app_id" --display-name graph2kafka \
  --years "$years" --append --query password --output tsv)
printf '%s\n' "$secret"
