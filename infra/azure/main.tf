# graph2kafka on Azure Functions Flex Consumption (Linux, Node 24 or 22): one Function App holding the notification
# and lifecycle HTTP functions and the renewal timer, a user-assigned identity for everything it reaches
# (storage, Key Vault, Table Storage state, Event Hubs), Application Insights, and a Key Vault whose secrets
# reach the app through Key Vault references. Code is published separately: infra/azure/deploy.sh publish.

data "azurerm_client_config" "current" {}

locals {
  app_name = "${var.name}-fn"
  # Key Vault references resolve at app start with the identity below; the value never sits in app settings.
  kv_ref = { for setting, secret in merge({ AZURE_CLIENT_SECRET = "azure-client-secret" }, var.kafka_secret_settings, var.rich_secret_settings) :
  setting => "@Microsoft.KeyVault(VaultName=${azurerm_key_vault.main.name};SecretName=${secret})" }
  base_url = "https://${local.app_name}.azurewebsites.net/api"
}

resource "azurerm_resource_group" "main" {
  name     = var.resource_group_name
  location = var.location
}

resource "azurerm_user_assigned_identity" "fn" {
  name                = "${var.name}-fn-id"
  resource_group_name = azurerm_resource_group.main.name
  location            = azurerm_resource_group.main.location
}

resource "azurerm_storage_account" "main" {
  name                            = "${var.name}st"
  resource_group_name             = azurerm_resource_group.main.name
  location                        = azurerm_resource_group.main.location
  account_tier                    = "Standard"
  account_replication_type        = "LRS"
  min_tls_version                 = "TLS1_2"
  allow_nested_items_to_be_public = false
  # Everything reaches storage by identity: no account keys in settings.
  shared_access_key_enabled = false
}

resource "azurerm_storage_container" "deployments" {
  name                  = "deployments"
  storage_account_id    = azurerm_storage_account.main.id
  container_access_type = "private"
}

resource "azurerm_role_assignment" "storage" {
  # Blob: host state and the deployment package. Table: graph2kafka's subscription state (G2K_STATE_STORE).
  for_each             = toset(["Storage Blob Data Owner", "Storage Table Data Contributor", "Storage Queue Data Contributor"])
  scope                = azurerm_storage_account.main.id
  role_definition_name = each.value
  principal_id         = azurerm_user_assigned_identity.fn.principal_id
}

resource "azurerm_log_analytics_workspace" "main" {
  name                = "${var.name}-logs"
  resource_group_name = azurerm_resource_group.main.name
  location            = azurerm_resource_group.main.location
  sku                 = "PerGB2018"
  retention_in_days   = 30
}

resource "azurerm_application_insights" "main" {
  name                = "${var.name}-ai"
  resource_group_name = azurerm_resource_group.main.name
  location            = azurerm_resource_group.main.location
  workspace_id        = azurerm_log_analytics_workspace.main.id
  application_type    = "Node.JS"
}

resource "azurerm_key_vault" "main" {
  name                       = "${var.name}-kv"
  resource_group_name        = azurerm_resource_group.main.name
  location                   = azurerm_resource_group.main.location
  tenant_id                  = data.azurerm_client_config.current.tenant_id
  sku_name                   = "standard"
  enable_rbac_authorization  = true
  purge_protection_enabled   = true
  soft_delete_retention_days = 30
}

resource "azurerm_role_assignment" "kv_reader" {
  scope                = azurerm_key_vault.main.id
  role_definition_name = "Key Vault Secrets User"
  principal_id         = azurerm_user_assigned_identity.fn.principal_id
}

resource "azurerm_role_assignment" "kv_operator" {
  # Whoever runs Terraform sets the secret values (deploy.sh secret), never Terraform itself: no secret in state.
  scope                = azurerm_key_vault.main.id
  role_definition_name = "Key Vault Secrets Officer"
  principal_id         = data.azurerm_client_config.current.object_id
}

resource "azurerm_service_plan" "main" {
  name                = "${var.name}-plan"
  resource_group_name = azurerm_resource_group.main.name
  location            = azurerm_resource_group.main.location
  os_type             = "Linux"
  sku_name            = "FC1"
}

resource "azurerm_function_app_flex_consumption" "main" {
  name                = local.app_name
  resource_group_name = azurerm_resource_group.main.name
  location            = azurerm_resource_group.main.location
  service_plan_id     = azurerm_service_plan.main.id
  https_only          = true

  runtime_name           = "node"
  runtime_version        = var.node_version
  maximum_instance_count = var.maximum_instance_count
  instance_memory_in_mb  = 2048

  storage_container_type            = "blobContainer"
  storage_container_endpoint        = "${azurerm_storage_account.main.primary_blob_endpoint}${azurerm_storage_container.deployments.name}"
  storage_authentication_type       = "UserAssignedIdentity"
  storage_user_assigned_identity_id = azurerm_user_assigned_identity.fn.id

  identity {
    type         = "UserAssigned"
    identity_ids = [azurerm_user_assigned_identity.fn.id]
  }
  key_vault_reference_identity_id = azurerm_user_assigned_identity.fn.id

  dynamic "always_ready" {
    for_each = var.always_ready_instances > 0 ? [1] : []
    content {
      name           = "http"
      instance_count = var.always_ready_instances
    }
  }

  site_config {
    application_insights_connection_string = azurerm_application_insights.main.connection_string
  }

  app_settings = merge(
    var.kafka_settings,
    var.extra_settings,
    local.kv_ref,
    {
      AzureWebJobsStorage__accountName = azurerm_storage_account.main.name
      AzureWebJobsStorage__credential  = "managedidentity"
      AzureWebJobsStorage__clientId    = azurerm_user_assigned_identity.fn.client_id

      AZURE_TENANT_ID                = var.graph_tenant_id
      AZURE_CLIENT_ID                = var.graph_client_id
      G2K_STATE_STORE                = "azure-table:${azurerm_storage_account.main.primary_table_endpoint}"
      G2K_MANAGED_IDENTITY_CLIENT_ID = azurerm_user_assigned_identity.fn.client_id
      # The app's own identity, said outright rather than detected (operators' CLIs use their own sign-in).
      G2K_AZURE_CREDENTIAL = "managed"
      G2K_NOTIFICATION_URL           = "${local.base_url}/notifications"
      G2K_LIFECYCLE_URL              = "${local.base_url}/lifecycle"
      G2K_SUBSCRIBE_USERS            = var.subscribe_users
      G2K_SUBSCRIBE_GROUPS           = var.subscribe_groups
      G2K_RENEWAL_SCHEDULE           = var.renewal_schedule
      # To Application Insights (the connection string is the platform's, from site_config); alerts.tf reads them.
      G2K_METRICS_EXPORTER = "azure-monitor"
    },
    # The exporter's own usage telemetry to Microsoft and SDK statistics, off unless asked (docs/operations.md).
    var.microsoft_sdk_telemetry ? {} : {
      APPLICATION_INSIGHTS_NO_STATSBEAT      = "true"
      APPLICATIONINSIGHTS_STATSBEAT_DISABLED = "true"
      APPLICATIONINSIGHTS_SDKSTATS_DISABLED  = "true"
    },
  )

  depends_on = [azurerm_role_assignment.storage, azurerm_role_assignment.kv_reader]
}
