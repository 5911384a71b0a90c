# What an operator's own identity needs for the ops CLI from a laptop (docs/operations.md): read the settings'
# secrets with application-default credentials, open the state database through the Cloud SQL Auth Proxy, and
# read the functions and their logs.
locals {
  operator_roles = concat(
    ["roles/run.viewer", "roles/logging.viewer", "roles/cloudscheduler.viewer"],
    var.cloudsql == null ? [] : ["roles/cloudsql.client", "roles/cloudsql.instanceUser"],
  )
  operator_grants = { for pair in setproduct(var.operators, local.operator_roles) : "${pair[0]} ${pair[1]}" => {
    member = pair[0]
    role   = pair[1]
  } }
  operator_secrets = { for pair in setproduct(var.operators, keys(var.secrets)) : "${pair[0]} ${pair[1]}" => {
    member  = pair[0]
    setting = pair[1]
  } }
}

resource "google_project_iam_member" "operator" {
  for_each = local.operator_grants
  project  = var.project_id
  role     = each.value.role
  member   = each.value.member
}

resource "google_secret_manager_secret_iam_member" "operator" {
  for_each  = local.operator_secrets
  secret_id = google_secret_manager_secret.setting[each.value.setting].id
  role      = "roles/secretmanager.secretAccessor"
  member    = each.value.member
}
