# graph2kafka's Google Cloud infrastructure, as infra/gcp/deploy.sh bootstrap and alerts make it by hand: the APIs,
# a runtime and a scheduler service account, the Secret Manager secrets and who reads them, the renewal job,
# the alert policies, and optionally Cloud SQL for the state. The functions themselves are built and deployed by
# infra/gcp/deploy.sh deploy (gcloud builds the source bundle), reading the deploy.env this module outputs.

data "google_project" "this" {
  project_id = var.project_id
}

locals {
  apis = toset([
    "cloudfunctions.googleapis.com", "run.googleapis.com", "cloudbuild.googleapis.com",
    "artifactregistry.googleapis.com", "secretmanager.googleapis.com", "cloudscheduler.googleapis.com",
    "monitoring.googleapis.com", "telemetry.googleapis.com", "sqladmin.googleapis.com",
  ])
  # A Cloud Run service's deterministic address (SERVICE-PROJECT_NUMBER.REGION.run.app), known before the first
  # deploy, as deploy.sh computes it.
  url = { for fn in ["notifications", "lifecycle", "renewal"] :
  fn => "https://${var.prefix}-${fn}-${data.google_project.this.number}.${var.region}.run.app" }
  runtime_roles = toset(concat(
    # Metrics to Cloud Monitoring through the Telemetry (OTLP) API (G2K_METRICS_EXPORTER=google-cloud).
    ["roles/telemetry.metricsWriter", "roles/monitoring.metricWriter"],
    var.cloudsql == null ? [] : ["roles/cloudsql.client", "roles/cloudsql.instanceUser"],
    var.runtime_roles,
  ))
}

resource "google_project_service" "api" {
  for_each = local.apis
  service  = each.value
  # Other workloads of the project may use them too.
  disable_on_destroy = false
}

resource "google_service_account" "runtime" {
  account_id   = "${var.prefix}-runtime"
  display_name = "graph2kafka functions"
}

resource "google_service_account" "scheduler" {
  account_id   = "${var.prefix}-scheduler"
  display_name = "graph2kafka renewal caller"
}

resource "google_project_iam_member" "runtime" {
  for_each = local.runtime_roles
  project  = var.project_id
  role     = each.value
  member   = google_service_account.runtime.member
}

resource "google_secret_manager_secret" "setting" {
  for_each  = var.secrets
  secret_id = each.value
  replication {
    auto {}
  }
  depends_on = [google_project_service.api]
}

resource "google_secret_manager_secret_iam_member" "runtime" {
  for_each  = google_secret_manager_secret.setting
  secret_id = each.value.id
  role      = "roles/secretmanager.secretAccessor"
  member    = google_service_account.runtime.member
}

# The renewal function is private: Cloud Run admits only this job's OIDC token (deploy.sh deploy grants the
# scheduler account run.invoker on the function once it exists), and the function checks the token again.
resource "google_cloud_scheduler_job" "renewal" {
  name             = "${var.prefix}-renewal"
  region           = var.region
  schedule         = var.renewal_schedule
  time_zone        = "Etc/UTC"
  attempt_deadline = "540s"
  http_target {
    uri         = local.url.renewal
    http_method = "POST"
    oidc_token {
      service_account_email = google_service_account.scheduler.email
      audience              = local.url.renewal
    }
  }
  depends_on = [google_project_service.api]
}
