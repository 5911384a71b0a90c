#!/usr/bin/env bash
# graph2kafka on Azure Functions (Flex Consumption), with terraform, az and func. Every command this script runs
# is printed first; with --dry-run it only prints them. Infrastructure settings: infra/azure/terraform.tfvars
# (copy terraform.tfvars.example); the names used below come from infra/azure/deploy.env (copy deploy.env.example).
#
#   infra/azure/deploy.sh [--dry-run] [--config FILE] infra          create or update the resources (terraform)
#   infra/azure/deploy.sh [--dry-run] [--config FILE] secret NAME    set a Key Vault secret from standard input
#   infra/azure/deploy.sh [--dry-run] [--config FILE] publish        build and publish the code (func)
#   infra/azure/deploy.sh [--dry-run] [--config FILE] subscribe      run the renewal timer now (creates subscriptions)
#   infra/azure/deploy.sh [--dry-run] [--config FILE] verify         answer a handshake on both HTTP functions
#   infra/azure/deploy.sh [--dry-run] [--config FILE] releases       list the bundles published from here
#   infra/azure/deploy.sh [--dry-run] [--config FILE] rollback RELEASE   publish an earlier bundle again
#   infra/azure/deploy.sh [--dry-run] [--config FILE] operator-env   print an operator's environment file (no secrets)
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
here="$repo/infra/azure"
dry_run=false
config="$here/deploy.env"

# The comment block at the top of this file, without its '#'s: what --help prints, and a wrong call on stderr.
usage() {
  sed -n '2,/^[^#]/s/^# \{0,1\}//p' "${BASH_SOURCE[0]}"
}
usage_error() {
  usage >&2
  exit 2
}

while [ $# -gt 0 ]; do
  case "$1" in
    --dry-run) dry_run=true; shift ;;
    --config) config=${2:?--config needs a file}; shift 2 ;;
    -h | --help) usage; exit 0 ;;
    -*) echo "unknown option $1" >&2; usage_error ;;
    *) break ;;
  esac
done
[ $# -ge 1 ] || usage_error
command=$1
shift

if [ ! -f "$config" ]; then
  echo "No settings file at $config: copy infra/azure/deploy.env.example there and fill it in." >&2
  exit 2
fi
# shellcheck source-path=SCRIPTDIR source=deploy.env.example
. "$config"

missing=()
for name in NAME RESOURCE_GROUP; do
  [ -n "${!name:-}" ] || missing+=("$name")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "Set ${missing[*]} in $config (the same values as name and resource_group_name in terraform.tfvars)." >&2
  exit 2
fi
APP=$NAME-fn
VAULT=$NAME-kv
BASE_URL=https://$APP.azurewebsites.net
TFVARS=${TFVARS:-$here/terraform.tfvars}
RELEASES=${RELEASES:-$here/releases}

run() {
  printf '+'
  printf ' %q' "$@"
  printf '\n'
  if [ "$dry_run" = false ]; then "$@"; fi
}

infra() {
  if [ ! -f "$TFVARS" ]; then
    echo "No Terraform settings at $TFVARS: copy infra/azure/terraform.tfvars.example and fill it in." >&2
    exit 2
  fi
  run terraform -chdir="$here" init -input=false
  run terraform -chdir="$here" apply -input=false -var-file="$TFVARS"
  echo "Next: infra/azure/deploy.sh secret azure-client-secret < secret.txt, then infra/azure/deploy.sh publish." >&2
}

set_secret() {
  local name=${1:?usage: deploy.sh secret NAME < value}
  # From standard input, so the value appears in no command line and no shell history.
  run az keyvault secret set --vault-name "$VAULT" --name "$name" --file /dev/stdin --encoding utf-8 --output none
  echo "Key Vault references pick up a new version within a day, or at once after a restart:" >&2
  run az functionapp restart --name "$APP" --resource-group "$RESOURCE_GROUP"
}

publish_dir() {
  local dir=$1
  # Remote build: the platform installs the bundle's pinned dependencies from its package-lock.json.
  printf '+ cd %q\n' "$dir"
  (
    if [ "$dry_run" = false ]; then cd "$dir"; fi
    run func azure functionapp publish "$APP" --javascript --build remote
  )
}

publish() {
  run pnpm --dir "$repo" build azure
  local release
  release="$(date -u +%Y%m%dT%H%M%SZ)-$(git -C "$repo" rev-parse --short HEAD 2>/dev/null || echo unknown)"
  run mkdir -p "$RELEASES"
  run cp -R "$repo/packages/azure-fn/bundle" "$RELEASES/$release"
  publish_dir "$RELEASES/$release"
  echo "Published release $release. Next: infra/azure/deploy.sh verify, then infra/azure/deploy.sh subscribe." >&2
}

# Like run, for a command whose output is needed: the line goes to stderr, and a dry run yields a placeholder.
capture() {
  {
    printf '+'
    printf ' %q' "$@"
    printf '\n'
  } >&2
  if [ "$dry_run" = true ]; then printf '<output>'; else "$@"; fi
}

subscribe() {
  local key url="$BASE_URL/admin/functions/subscriptionRenewal"
  # The admin endpoint runs a non-HTTP function once, now; it takes the host's master key (never printed).
  key=$(capture az functionapp keys list --name "$APP" --resource-group "$RESOURCE_GROUP" --query masterKey --output tsv)
  printf "+ curl -fsS -X POST %q -H 'x-functions-key: <master key>' -H 'Content-Type: application/json' -d '{}'\n" \
    "$url"
  [ "$dry_run" = true ] && return
  curl -fsS -X POST "$url" -H "x-functions-key: $key" -H 'Content-Type: application/json' -d '{}'
  echo "Renewal started; its report is in Application Insights (traces of subscriptionRenewal)." >&2
}

verify() {
  local route token=graph2kafka-verify-$RANDOM answer
  for route in notifications lifecycle; do
    printf '+ curl -fsS -X POST %q\n' "$BASE_URL/api/$route?validationToken=$token"
    [ "$dry_run" = true ] && continue
    answer=$(curl -fsS -X POST --max-time 10 "$BASE_URL/api/$route?validationToken=$token")
    if [ "$answer" != "$token" ]; then
      echo "/api/$route did not echo the validation token (got: ${answer:0:200}); see docs/runbook.md#handshake-fails" >&2
      exit 1
    fi
    echo "/api/$route answers the Graph handshake" >&2
  done
}

releases() {
  run ls -1r "$RELEASES"
}

rollback() {
  local release=${1:?usage: deploy.sh rollback RELEASE (see deploy.sh releases)}
  if [ "$dry_run" = false ] && [ ! -d "$RELEASES/$release" ]; then
    echo "No release $release in $RELEASES; deploy.sh releases lists them." >&2
    exit 2
  fi
  publish_dir "$RELEASES/$release"
}

# The app's settings as an operator's environment file on standard output (infra/operator-env.mjs): graph2kafka's
# own settings, Key Vault references kept as references (graph2kafka reads them with the operator's az login),
# no secret value. Reading app settings takes Microsoft.Web/sites/config/list/action (whoever deploys has it);
# the file holds no secret, so it can be handed to the operators.
operator_env() {
  local settings
  settings=$(capture az functionapp config appsettings list --name "$APP" --resource-group "$RESOURCE_GROUP" --output json)
  [ "$dry_run" = true ] && return
  node "$repo/infra/operator-env.mjs" azure "$APP" <<<"$settings"
}

case "$command" in
  infra) infra ;;
  secret) set_secret "$@" ;;
  publish) publish ;;
  subscribe) subscribe ;;
  verify) verify ;;
  releases) releases ;;
  rollback) rollback "$@" ;;
  operator-env) operator_env ;;
  *) echo "unknown command $command" >&2; usage_error ;;
esac
