variable "name" {
  description = "Base name of every resource (letters and digits, 3-16 characters); the Function App is NAME-fn."
  type        = string
  validation {
    condition     = can(regex("^[a-z][a-z0-9]{2,15}$", var.name))
    error_message = "name must be 3-16 lowercase letters and digits, starting with a letter (it names the storage account too)."
  }
}

variable "location" {
  description = "Azure region with Flex Consumption, e.g. westeurope."
  type        = string
}

variable "resource_group_name" {
  description = "Resource group to create."
  type        = string
}

variable "graph_tenant_id" {
  description = "Entra tenant of the app registration that reads calendars (AZURE_TENANT_ID)."
  type        = string
}

variable "graph_client_id" {
  description = "Application (client) id of that app registration (AZURE_CLIENT_ID)."
  type        = string
}

variable "kafka_settings" {
  description = "KAFKA_* settings of the function (README: Configuration; docs/kafka-targets.md); no secrets here."
  type        = map(string)
}

variable "kafka_secret_settings" {
  description = "KAFKA_* settings kept in Key Vault: setting name => secret name (e.g. KAFKA_SASL_PASSWORD => kafka-password)."
  type        = map(string)
  default     = {}
}

variable "rich_secret_settings" {
  description = "Rich notifications: private keys kept in Key Vault, setting name => secret name (G2K_RICH_PRIVATE_KEY => rich-private-key; during a rotation also G2K_RICH_PREVIOUS_PRIVATE_KEY). The certificate and its id go in extra_settings."
  type        = map(string)
  default     = {}
}

variable "subscribe_users" {
  description = "G2K_SUBSCRIBE_USERS: mailbox object ids, comma-separated."
  type        = string
  default     = ""
}

variable "subscribe_groups" {
  description = "G2K_SUBSCRIBE_GROUPS: group object ids whose user members are subscribed, comma-separated."
  type        = string
  default     = ""
}

variable "renewal_schedule" {
  description = "NCRONTAB of the renewal timer (G2K_RENEWAL_SCHEDULE)."
  type        = string
  default     = "0 */30 * * * *"
}

variable "extra_settings" {
  description = "Further G2K_* settings, e.g. G2K_TOPIC."
  type        = map(string)
  default     = {}
}

variable "maximum_instance_count" {
  description = "Flex Consumption scale-out limit."
  type        = number
  default     = 40
}

variable "always_ready_instances" {
  description = "Instances kept warm for the HTTP functions (0: pay per use; cold starts stay well inside Graph's 10 s)."
  type        = number
  default     = 0
}

variable "node_version" {
  description = "Node.js version of the Function App: 24 (the newest GA) or 22."
  type        = string
  default     = "24"
  validation {
    condition     = contains(["22", "24"], var.node_version)
    error_message = "node_version must be \"22\" or \"24\", the Node.js versions graph2kafka supports."
  }
}

variable "runbook_url" {
  description = "Where operators read docs/runbook.md (your fork or mirror); each alert links its section."
  type        = string
}

variable "alert_email" {
  description = "Who the alert rules notify by email; empty: the rules fire without notifying anyone."
  type        = string
  default     = ""
}

variable "microsoft_sdk_telemetry" {
  description = "Let the Azure Monitor exporter send Microsoft its usage telemetry (Statsbeat) and SDK statistics; off by default."
  type        = bool
  default     = false
}

variable "operator_principal_ids" {
  description = "Entra object ids (users, groups or service principals) of the operators who run graph2kafka's CLI from their own machine with az login (docs/operations.md): each gets Storage Table Data Contributor on the state, Key Vault Secrets User on the vault and, with event_hubs_namespace_id, the Event Hubs data roles."
  type        = list(string)
  default     = []
}

variable "event_hubs_namespace_id" {
  description = "Resource id of the Event Hubs namespace when Kafka is Event Hubs over OAUTHBEARER with KAFKA_OAUTH_IDENTITY=managed: the function's identity gets Azure Event Hubs Data Sender on it, operators Data Sender and Data Receiver (dead-letter list and replay). Empty: Kafka is something else."
  type        = string
  default     = ""
}
