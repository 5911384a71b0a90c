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
  description = "Grant this identity \"Azure Event Hubs Data Sender\" when Kafka is Event Hubs with KAFKA_OAUTH_IDENTITY=managed."
  value       = azurerm_user_assigned_identity.fn.client_id
}
