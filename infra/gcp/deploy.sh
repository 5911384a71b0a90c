#!/usr/bin/env bash
# graph2kafka on Cloud Run functions (Google Cloud), with gcloud. Every command this script runs is printed first;
# with --dry-run it only prints them. Settings come from infra/gcp/deploy.env (copy deploy.env.example).
#
#   infra/gcp/deploy.sh [--dry-run] [--config FILE] infra          bootstrap and alerts by Terraform (infra/gcp/terraform),
#                                                                 then writes FILE (deploy.env) from its outputs
#   infra/gcp/deploy.sh [--dry-run] [--config FILE] bootstrap      APIs, service accounts, secrets and their access
#   infra/gcp/deploy.sh [--dry-run] [--config FILE] secret NAME    add a secret version from standard input
#   infra/gcp/deploy.sh [--dry-run] [--config FILE] deploy         build, deploy the 3 functions, the scheduler job
#   infra/gcp/deploy.sh [--dry-run] [--config FILE] alerts         create or update the alert policies (Cloud Monitoring)
#   infra/gcp/deploy.sh [--dry-run] [--config FILE] subscribe      run the renewal job now (creates subscriptions)
#   infra/gcp/deploy.sh [--dry-run] [--config FILE] verify         answer a handshake on both public functions
#   infra/gcp/deploy.sh [--dry-run] [--config FILE] revisions FN   list a function's revisions (newest first)
#   infra/gcp/deploy.sh [--dry-run] [--config FILE] rollback FN REVISION   send all traffic to an older revision
#   infra/gcp/deploy.sh [--dry-run] [--config FILE] operator-env   print an operator's environment file (no secrets)
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
dry_run=false
config="$repo/infra/gcp/deploy.env"

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

run() {
  printf '+'
  printf ' %q' "$@"
  printf '\n'
  if [ "$dry_run" = false ]; then "$@"; fi
}

# `infra`: the same infrastructure as bootstrap and alerts, by Terraform (infra/gcp/terraform), which then
# writes the deploy.env that deploy reads; so it runs before any deploy.env exists.
if [ "$command" = infra ]; then
  tf="$repo/infra/gcp/terraform"
  tfvars=${TFVARS:-$tf/terraform.tfvars}
  if [ ! -f "$tfvars" ]; then
    echo "No Terraform settings at $tfvars: copy infra/gcp/terraform/terraform.tfvars.example and fill it in." >&2
    exit 2
  fi
  run terraform -chdir="$tf" init -input=false
  run terraform -chdir="$tf" apply -input=false -var-file="$tfvars"
  if [ -f "$config" ]; then
    echo "Kept $config; Terraform's version of it: terraform -chdir=infra/gcp/terraform output -raw deploy_env" >&2
  else
    printf '+ terraform -chdir=%q output -raw deploy_env > %q\n' "$tf" "$config"
    [ "$dry_run" = true ] || terraform -chdir="$tf" output -raw deploy_env >"$config"
  fi
  echo "Next: give each secret a value (infra/gcp/deploy.sh secret NAME < value), then infra/gcp/deploy.sh deploy." >&2
  exit 0
fi

if [ ! -f "$config" ]; then
  echo "No settings file at $config: copy infra/gcp/deploy.env.example there and fill it in." >&2
  exit 2
fi
# shellcheck source-path=SCRIPTDIR source=deploy.env.example
. "$config"

missing=()
for name in PROJECT_ID REGION FUNCTION_ENV_FILE; do
  [ -n "${!name:-}" ] || missing+=("$name")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "Set ${missing[*]} in $config (see deploy.env.example)." >&2
  exit 2
fi
PREFIX=${PREFIX:-g2k}
RUNTIME_SA=${RUNTIME_SA:-$PREFIX-runtime}@$PROJECT_ID.iam.gserviceaccount.com
SCHEDULER_SA=${SCHEDULER_SA:-$PREFIX-scheduler}@$PROJECT_ID.iam.gserviceaccount.com
RENEWAL_SCHEDULE=${RENEWAL_SCHEDULE:-*/30 * * * *}
# The Node.js runtime of the functions: 24 (the newest GA) or 22 (Google deprecates nodejs22 on 2027-04-30).
NODE_VERSION=${NODE_VERSION:-24}
case "$NODE_VERSION" in
  22 | 24) ;;
  *) echo "NODE_VERSION must be 22 or 24 (the Node.js runtimes graph2kafka supports), got '$NODE_VERSION'." >&2; exit 2 ;;
esac
# How the functions are deployed: run (gcloud run deploy --function, Google's current command for Cloud Run
# functions) or functions (gcloud functions deploy --gen2, which Google still documents).
DEPLOY_WITH=${DEPLOY_WITH:-run}
case "$DEPLOY_WITH" in
  run | functions) ;;
  *) echo "DEPLOY_WITH must be run or functions, got '$DEPLOY_WITH'." >&2; exit 2 ;;
esac
# ENV_VAR=secret-name pairs, mounted by Cloud Functions from Secret Manager (latest version at instance start).
SECRETS=${SECRETS:-AZURE_CLIENT_SECRET=$PREFIX-azure-client-secret}
# Each instance has 512 MiB. V8 sizes its heap from the memory it sees and collects lazily below that, so the
# heap is set for the instance: old space at half of it (the live heap under load is ~25 MB, docs/benchmarks.md)
# and a small young generation. pnpm bench measures with the same options.
FUNCTION_NODE_OPTIONS=${FUNCTION_NODE_OPTIONS:---max-old-space-size=256 --max-semi-space-size=4}
case "$FUNCTION_ENV_FILE" in /*) ;; *) FUNCTION_ENV_FILE="$repo/$FUNCTION_ENV_FILE" ;; esac

# Set by the deploy.env that infra/gcp/terraform outputs: Terraform owns the accounts, secrets, scheduler job and
# alert policies, so this script deploys the functions only and refuses the verbs that would make them twice.
by_terraform=${INFRA_BY_TERRAFORM:-false}

fn_notifications=$PREFIX-notifications
fn_lifecycle=$PREFIX-lifecycle
fn_renewal=$PREFIX-renewal
job=$PREFIX-renewal
# Both addresses are known before the first deploy: a Cloud Run service's deterministic URL
# (SERVICE-PROJECT_NUMBER.REGION.run.app), or a function's cloudfunctions.net one.
url() {
  if [ "$DEPLOY_WITH" = run ]; then
    printf 'https://%s-%s.%s.run.app' "$1" "$(project_number)" "$REGION"
  else
    printf 'https://%s-%s.cloudfunctions.net/%s' "$REGION" "$PROJECT_ID" "$1"
  fi
}
project_number() {
  if [ -z "${PROJECT_NUMBER:-}" ]; then
    if [ "$dry_run" = true ]; then
      echo "Set PROJECT_NUMBER in $config for a dry run (gcloud projects describe $PROJECT_ID --format='value(projectNumber)')." >&2
      exit 2
    fi
    PROJECT_NUMBER=$(gcloud projects describe "$PROJECT_ID" --format='value(projectNumber)')
  fi
  printf '%s' "$PROJECT_NUMBER"
}

# Succeeds when the thing exists; in a dry run nothing exists, so the create branch is what gets printed.
exists() {
  [ "$dry_run" = false ] && "$@" >/dev/null 2>&1
}

secret_names() {
  local pair
  for pair in ${SECRETS//,/ }; do printf '%s\n' "${pair#*=}"; done
}

bootstrap() {
  run gcloud services enable cloudfunctions.googleapis.com run.googleapis.com cloudbuild.googleapis.com \
    artifactregistry.googleapis.com secretmanager.googleapis.com cloudscheduler.googleapis.com \
    monitoring.googleapis.com telemetry.googleapis.com --project="$PROJECT_ID"
  local sa
  for sa in "$RUNTIME_SA" "$SCHEDULER_SA"; do
    if ! exists gcloud iam service-accounts describe "$sa" --project="$PROJECT_ID"; then
      run gcloud iam service-accounts create "${sa%%@*}" --project="$PROJECT_ID" \
        --display-name="graph2kafka ${sa%%@*}"
    fi
  done
  local role roles
  read -r -a roles <<<"${RUNTIME_ROLES:-}"
  # Metrics go to Cloud Monitoring through the Telemetry (OTLP) API (G2K_METRICS_EXPORTER=google-cloud).
  roles+=(roles/telemetry.metricsWriter roles/monitoring.metricWriter)
  [ -z "${CLOUDSQL_INSTANCE:-}" ] || roles+=(roles/cloudsql.client)
  for role in "${roles[@]}"; do
    run gcloud projects add-iam-policy-binding "$PROJECT_ID" --member="serviceAccount:$RUNTIME_SA" --role="$role" \
      --condition=None
  done
  # Operators run graph2kafka's CLI from their own machine (docs/operations.md): the Cloud SQL Auth Proxy
  # (cloudsql.client; instanceUser for IAM database login), the functions' settings (operator-env: run.viewer),
  # OPERATOR_ROLES (e.g. roles/managedkafka.client for dead letters), and below, each secret.
  local operators operator operator_roles members=${OPERATORS:-}
  read -r -a operators <<<"${members//,/ }"
  read -r -a operator_roles <<<"${OPERATOR_ROLES:-}"
  operator_roles+=(roles/run.viewer)
  [ -z "${CLOUDSQL_INSTANCE:-}" ] || operator_roles+=(roles/cloudsql.client roles/cloudsql.instanceUser)
  for operator in "${operators[@]}"; do
    for role in "${operator_roles[@]}"; do
      run gcloud projects add-iam-policy-binding "$PROJECT_ID" --member="$operator" --role="$role" --condition=None
    done
  done
  local secret member
  for secret in $(secret_names); do
    if ! exists gcloud secrets describe "$secret" --project="$PROJECT_ID"; then
      run gcloud secrets create "$secret" --project="$PROJECT_ID" --replication-policy=automatic
    fi
    for member in "serviceAccount:$RUNTIME_SA" "${operators[@]}"; do
      run gcloud secrets add-iam-policy-binding "$secret" --project="$PROJECT_ID" \
        --member="$member" --role=roles/secretmanager.secretAccessor
    done
  done
  echo "Next: give each secret a value, e.g. infra/gcp/deploy.sh secret $PREFIX-azure-client-secret < secret.txt" >&2
}

add_secret() {
  local name=${1:?usage: deploy.sh secret NAME < value}
  run gcloud secrets versions add "$name" --project="$PROJECT_ID" --data-file=-
}

# A dry run prints what a generated file holds under the command that reads it: the file itself is gone once
# the script exits.
show_file() {
  [ "$dry_run" = true ] || return 0
  sed 's/^/  | /' "$1"
}

# gcloud takes one source of plain settings, so the shared file and this function's own lines are merged.
env_file_for() {
  local name=$1 pair file
  file="$work/$name.env.yaml"
  cat "$FUNCTION_ENV_FILE" >"$file"
  shift
  for pair in "$@"; do printf '\n%s: "%s"' "${pair%%=*}" "${pair#*=}" >>"$file"; done
  printf '\n' >>"$file"
  printf '%s' "$file"
}

deploy_function() {
  local name=$1 entry=$2 access=$3 timeout=$4 env_file
  shift 4
  # Metrics to Cloud Monitoring; the region is the `location` Google's OTLP endpoint files them under.
  env_file=$(env_file_for "$name" "NODE_OPTIONS=$FUNCTION_NODE_OPTIONS" "G2K_METRICS_EXPORTER=google-cloud" \
    "G2K_GCP_PROJECT=$PROJECT_ID" "OTEL_RESOURCE_ATTRIBUTES=cloud.region=$REGION" "$@")
  if [ "$DEPLOY_WITH" = run ]; then
    local cloudsql=()
    [ -z "${CLOUDSQL_INSTANCE:-}" ] || cloudsql=(--add-cloudsql-instances="$CLOUDSQL_INSTANCE")
    run gcloud run deploy "$name" --function="$entry" --base-image="nodejs$NODE_VERSION" --project="$PROJECT_ID" \
      --region="$REGION" --source="$repo/packages/gcp-fn/bundle" "$access" \
      --service-account="$RUNTIME_SA" --env-vars-file="$env_file" \
      --set-secrets="$(secret_refs)" --memory=512Mi --timeout="$timeout" --min-instances="${MIN_INSTANCES:-0}" \
      --max-instances="${MAX_INSTANCES:-20}" --concurrency=80 --cpu=1 "${cloudsql[@]}"
    show_file "$env_file"
    return
  fi
  run gcloud functions deploy "$name" --gen2 --runtime="nodejs$NODE_VERSION" --project="$PROJECT_ID" --region="$REGION" \
    --source="$repo/packages/gcp-fn/bundle" --entry-point="$entry" --trigger-http "$access" \
    --service-account="$RUNTIME_SA" --env-vars-file="$env_file" \
    --set-secrets="$(secret_refs)" --memory=512Mi --timeout="$timeout" --min-instances="${MIN_INSTANCES:-0}" \
    --max-instances="${MAX_INSTANCES:-20}" --concurrency=80 --cpu=1
  show_file "$env_file"
  if [ -n "${CLOUDSQL_INSTANCE:-}" ]; then
    run gcloud run services update "$name" --project="$PROJECT_ID" --region="$REGION" \
      --add-cloudsql-instances="$CLOUDSQL_INSTANCE"
  fi
}

secret_refs() {
  local pair refs=()
  for pair in ${SECRETS//,/ }; do refs+=("${pair%%=*}=${pair#*=}:latest"); done
  local IFS=,
  printf '%s' "${refs[*]}"
}

deploy() {
  if [ ! -f "$FUNCTION_ENV_FILE" ]; then
    echo "No function settings at $FUNCTION_ENV_FILE: copy infra/gcp/function-env.example.yaml and fill it in." >&2
    exit 2
  fi
  run pnpm --dir "$repo" build gcp
  local urls=("G2K_NOTIFICATION_URL=$(url "$fn_notifications")" "G2K_LIFECYCLE_URL=$(url "$fn_lifecycle")")
  deploy_function "$fn_notifications" graphNotifications --allow-unauthenticated 60s "${urls[@]}"
  deploy_function "$fn_lifecycle" graphLifecycle --allow-unauthenticated 60s "${urls[@]}"
  # Renewal is private: Cloud Run admits only the scheduler's identity, and the function checks the token again.
  deploy_function "$fn_renewal" subscriptionRenewal --no-allow-unauthenticated 540s "${urls[@]}" \
    "G2K_RENEWAL_AUDIENCE=$(url "$fn_renewal")" "G2K_RENEWAL_INVOKER=$SCHEDULER_SA"
  if [ "$DEPLOY_WITH" = run ]; then
    run gcloud run services add-iam-policy-binding "$fn_renewal" --project="$PROJECT_ID" --region="$REGION" \
      --member="serviceAccount:$SCHEDULER_SA" --role=roles/run.invoker
  else
    run gcloud functions add-invoker-policy-binding "$fn_renewal" --project="$PROJECT_ID" --region="$REGION" \
      --member="serviceAccount:$SCHEDULER_SA"
  fi
  if [ "$by_terraform" = false ]; then
    local verb=create
    if exists gcloud scheduler jobs describe "$job" --project="$PROJECT_ID" --location="$REGION"; then verb=update; fi
    run gcloud scheduler jobs "$verb" http "$job" --project="$PROJECT_ID" --location="$REGION" \
      --schedule="$RENEWAL_SCHEDULE" --time-zone=Etc/UTC --uri="$(url "$fn_renewal")" --http-method=POST \
      --oidc-service-account-email="$SCHEDULER_SA" --oidc-token-audience="$(url "$fn_renewal")" \
      --attempt-deadline=540s
  fi
  echo "Deployed. Next: infra/gcp/deploy.sh verify, infra/gcp/deploy.sh subscribe, infra/gcp/deploy.sh alerts." >&2
}

# One policy per file of infra/gcp/alerts, its runbook link pointing at RUNBOOK_URL; a policy of the same
# display name is updated in place, so the command can run again after every change.
alerts() {
  if [ -z "${RUNBOOK_URL:-}" ]; then
    echo "Set RUNBOOK_URL in $config: where operators read docs/runbook.md (each alert links its section)." >&2
    exit 2
  fi
  local file policy name existing channels=()
  [ -z "${NOTIFICATION_CHANNELS:-}" ] || channels=(--notification-channels="$NOTIFICATION_CHANNELS")
  for file in "$repo"/infra/gcp/alerts/*.yaml; do
    policy="$work/$(basename "$file")"
    sed "s|RUNBOOK_URL|$RUNBOOK_URL|g" "$file" >"$policy"
    name=$(sed -n 's/^displayName: *//p' "$file")
    existing=""
    if [ "$dry_run" = false ]; then
      existing=$(gcloud monitoring policies list --project="$PROJECT_ID" --filter="displayName=\"$name\"" \
        --format='value(name)' | head -n 1)
    fi
    if [ -n "$existing" ]; then
      run gcloud monitoring policies update "$existing" --project="$PROJECT_ID" --policy-from-file="$policy" \
        "${channels[@]}"
    else
      run gcloud monitoring policies create --project="$PROJECT_ID" --policy-from-file="$policy" "${channels[@]}"
    fi
    show_file "$policy"
  done
}

subscribe() {
  run gcloud scheduler jobs run "$job" --project="$PROJECT_ID" --location="$REGION"
  echo "The renewal run's report is in the logs: gcloud run services logs read $fn_renewal --region=$REGION" >&2
}

verify() {
  local fn token=graph2kafka-verify-$RANDOM answer
  for fn in "$fn_notifications" "$fn_lifecycle"; do
    printf '+ curl -fsS -X POST %q\n' "$(url "$fn")?validationToken=$token"
    [ "$dry_run" = true ] && continue
    answer=$(curl -fsS -X POST --max-time 10 "$(url "$fn")?validationToken=$token")
    if [ "$answer" != "$token" ]; then
      echo "$fn did not echo the validation token (got: ${answer:0:200}); see docs/runbook.md#handshake-fails" >&2
      exit 1
    fi
    echo "$fn answers the Graph handshake" >&2
  done
}

revisions() {
  local fn=${1:?usage: deploy.sh revisions FUNCTION}
  run gcloud run revisions list --service="$fn" --project="$PROJECT_ID" --region="$REGION" \
    --sort-by=~metadata.creationTimestamp --limit=10
}

rollback() {
  local fn=${1:?usage: deploy.sh rollback FUNCTION REVISION} revision=${2:?usage: deploy.sh rollback FUNCTION REVISION}
  run gcloud run services update-traffic "$fn" --project="$PROJECT_ID" --region="$REGION" \
    --to-revisions="$revision=100"
}

# Like run, for a command whose output is needed: the line goes to stderr, and a dry run yields nothing.
capture() {
  {
    printf '+'
    printf ' %q' "$@"
    printf '\n'
  } >&2
  if [ "$dry_run" = false ]; then "$@"; fi
}

# The notification function's settings as an operator's environment file on standard output
# (infra/operator-env.mjs): graph2kafka's own settings, each mounted secret as an sm: reference (graph2kafka reads
# it with the operator's application-default credentials), no secret value; gen2 functions are Cloud Run services
# too, so one command serves both DEPLOY_WITH values.
operator_env() {
  local service
  service=$(capture gcloud run services describe "$fn_notifications" --project="$PROJECT_ID" --region="$REGION" \
    --format=json)
  [ "$dry_run" = true ] && return
  node "$repo/infra/operator-env.mjs" gcp "$fn_notifications" "$PROJECT_ID" "${CLOUDSQL_INSTANCE:-}" <<<"$service"
}

# The functions' merged settings and the alert policies are written here for gcloud, and removed however the
# script ends: they are the deployment's configuration, and no run, dry or not, should leave copies in /tmp.
work=$(mktemp -d "${TMPDIR:-/tmp}/g2k-deploy.XXXXXX")
trap 'rm -rf "$work"' EXIT

if [ "$by_terraform" = true ] && { [ "$command" = bootstrap ] || [ "$command" = alerts ]; }; then
  echo "$command is Terraform's here (INFRA_BY_TERRAFORM=true in $config): run terraform apply in infra/gcp/terraform." >&2
  exit 2
fi

case "$command" in
  bootstrap) bootstrap ;;
  secret) add_secret "$@" ;;
  deploy) deploy ;;
  alerts) alerts ;;
  subscribe) subscribe ;;
  verify) verify ;;
  revisions) revisions "$@" ;;
  rollback) rollback "$@" ;;
  operator-env) operator_env ;;
  *) echo "unknown command $command" >&2; usage_error ;;
esac
