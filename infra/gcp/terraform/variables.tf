variable "project_id" {
  description = "Google Cloud project that runs graph2kafka."
  type        = string
}

variable "region" {
  description = "Region of the functions, the scheduler job and the Cloud SQL instance, e.g. europe-west1."
  type        = string
}

variable "prefix" {
  description = "Name prefix of the functions (PREFIX-notifications, -lifecycle, -renewal), service accounts, secrets and the job; as PREFIX in deploy.env."
  type        = string
  default     = "g2k"
  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{1,19}$", var.prefix))
    error_message = "prefix must be 2-20 lowercase letters, digits and dashes, starting with a letter (service account ids are at most 30 characters)."
  }
}

variable "secrets" {
  description = "Settings read from Secret Manager: setting name => secret name. Terraform makes the secrets and their access, never their values (deploy.sh secret NAME sets them): no secret in the state."
  type        = map(string)
  default = {
    AZURE_CLIENT_SECRET = "g2k-azure-client-secret"
  }
}

variable "runtime_roles" {
  description = "Extra project roles of the runtime service account, e.g. roles/managedkafka.client for Managed Service for Apache Kafka."
  type        = list(string)
  default     = []
}

variable "renewal_schedule" {
  description = "Cloud Scheduler cron (UTC) of the renewal run; subscriptions are renewed 2 days ahead, so every 30 minutes leaves a wide margin."
  type        = string
  default     = "*/30 * * * *"
}

variable "cloudsql" {
  description = "A Cloud SQL for PostgreSQL instance for the subscription state (G2K_POSTGRES_URL); null when the state lives elsewhere."
  type = object({
    instance = string
    tier     = optional(string, "db-custom-1-3840")
    version  = optional(string, "POSTGRES_16")
    database = optional(string, "graph2kafka")
  })
  default = null
}

variable "operators" {
  description = "Who runs the ops CLI against production (docs/operations.md), as IAM members (user:alice@contoso.com, group:...): Cloud SQL client and IAM database login, read access to the secrets, viewer of the functions and their logs."
  type        = list(string)
  default     = []
  validation {
    condition     = alltrue([for m in var.operators : can(regex("^(user|group|serviceAccount):", m))])
    error_message = "operators are IAM members: user:EMAIL, group:EMAIL or serviceAccount:EMAIL."
  }
}

variable "runbook_url" {
  description = "Where operators read docs/runbook.md; every alert links its section."
  type        = string
}

variable "notification_channels" {
  description = "Cloud Monitoring notification channels (projects/PROJECT/notificationChannels/ID) the alerts notify; empty: incidents only."
  type        = list(string)
  default     = []
}
