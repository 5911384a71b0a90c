# Cloud SQL for PostgreSQL for the subscription state, when var.cloudsql names an instance. The functions reach
# it through Cloud Run's /cloudsql socket with the built-in user whose URL is the G2K_POSTGRES_URL secret
# (docs/deploy-gcp.md makes the user; its password never passes through Terraform). Operators log in with
# their own Google identity (IAM database authentication) through the Cloud SQL Auth Proxy: docs/operations.md.

locals {
  # PROJECT:REGION:INSTANCE, or empty when the state lives elsewhere.
  cloudsql_connection = var.cloudsql == null ? "" : google_sql_database_instance.state[0].connection_name
}

resource "google_sql_database_instance" "state" {
  count            = var.cloudsql == null ? 0 : 1
  name             = var.cloudsql.instance
  region           = var.region
  database_version = var.cloudsql.version
  settings {
    tier              = var.cloudsql.tier
    availability_type = "ZONAL"
    database_flags {
      name  = "cloudsql.iam_authentication"
      value = "on"
    }
    ip_configuration {
      # Reached only through Cloud SQL connectors (Cloud Run, the Auth Proxy), which authorize by IAM: no
      # authorized networks, TLS required.
      ipv4_enabled = true
      ssl_mode     = "ENCRYPTED_ONLY"
    }
    backup_configuration {
      enabled                        = true
      point_in_time_recovery_enabled = true
    }
  }
  deletion_protection = true
  depends_on          = [google_project_service.api]
}

resource "google_sql_database" "state" {
  count    = var.cloudsql == null ? 0 : 1
  name     = var.cloudsql.database
  instance = google_sql_database_instance.state[0].name
}

# IAM database users: an operator's Google account logs in as itself (no shared password).
resource "google_sql_user" "operator" {
  for_each = var.cloudsql == null ? toset([]) : toset([for m in var.operators : m if startswith(m, "user:")])
  instance = google_sql_database_instance.state[0].name
  name     = trimprefix(each.value, "user:")
  type     = "CLOUD_IAM_USER"
}
