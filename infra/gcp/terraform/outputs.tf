output "notification_url" {
  value = local.url.notifications
}

output "lifecycle_url" {
  value = local.url.lifecycle
}

output "runtime_service_account" {
  value = google_service_account.runtime.email
}

output "cloudsql_connection_name" {
  description = "PROJECT:REGION:INSTANCE, for the Cloud SQL Auth Proxy and CLOUDSQL_INSTANCE."
  value       = local.cloudsql_connection
}

output "deploy_env" {
  description = "infra/gcp/deploy.env for deploy.sh deploy: terraform output -raw deploy_env > infra/gcp/deploy.env"
  value       = <<-EOT
    # Written by terraform output -raw deploy_env (infra/gcp/terraform); deploy.sh deploy reads it.
    PROJECT_ID=${var.project_id}
    REGION=${var.region}
    PROJECT_NUMBER=${data.google_project.this.number}
    PREFIX=${var.prefix}
    FUNCTION_ENV_FILE=infra/gcp/function-env.yaml
    SECRETS=${join(",", [for setting, secret in var.secrets : "${setting}=${secret}"])}
    CLOUDSQL_INSTANCE=${local.cloudsql_connection}
    RUNBOOK_URL=${var.runbook_url}
    # Terraform owns the scheduler job, the service accounts, secrets and alert policies: deploy.sh deploy leaves them.
    INFRA_BY_TERRAFORM=true
  EOT
}
