output "function_app_name" {
  value = azurerm_function_app_flex_consumption.main.name
}

output "notification_url" {
  value = "${local.base_url}/notifications"
}

output "lifecycle_url" {
  value = "${local.base_url}/lifecycle"
}

output "key_vault_name" {
  value = azurerm_key_vault.main.name
}

output "managed_identity_client_id" {
  description = "The function's identity; it gets \"Azure Event Hubs Data Sender\" with event_hubs_namespace_id (KAFKA_OAUTH_IDENTITY=managed)."
  value       = azurerm_user_assigned_identity.fn.client_id
}

output "resource_group_name" {
  value = azurerm_resource_group.main.name
}

output "state_store" {
  description = "G2K_STATE_STORE of the functions, and of an operator's CLI (infra/azure/deploy.sh operator-env writes it)."
  value       = "azure-table:${azurerm_storage_account.main.primary_table_endpoint}"
}

output "key_vault_uri" {
  description = "Where the settings' Key Vault references point; operators read them with Key Vault Secrets User."
  value       = azurerm_key_vault.main.vault_uri
}

output "operator_roles" {
  description = "What each operator of operator_principal_ids was granted, role => scope."
  value       = { for k, a in local.operator_assignments : k => "${a.role} on ${a.scope}" }
}
