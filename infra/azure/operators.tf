# Operators run graph2kafka's CLI (status, subscriptions, dead letters, repair) from their own machine, signed in
# with az login; off the platform graph2kafka takes their sign-in instead of the managed identity
# (G2K_AZURE_CREDENTIAL, docs/operations.md "Reaching production state from your machine"). The CLI writes the
# state as the functions do (subscriptions create and delete, repair, a replay's key fence): Contributor, not
# Reader. Key Vault references in the settings are read with the same sign-in: Secrets User, never Officer.
locals {
  operator_data_roles = concat(
    [
      { key = "table", scope = azurerm_storage_account.main.id, role = "Storage Table Data Contributor" },
      { key = "secrets", scope = azurerm_key_vault.main.id, role = "Key Vault Secrets User" },
    ],
    var.event_hubs_namespace_id == "" ? [] : [
      { key = "eh-send", scope = var.event_hubs_namespace_id, role = "Azure Event Hubs Data Sender" },
      { key = "eh-receive", scope = var.event_hubs_namespace_id, role = "Azure Event Hubs Data Receiver" },
    ],
  )
  operator_assignments = {
    for pair in setproduct(var.operator_principal_ids, local.operator_data_roles) :
    "${pair[1].key}-${pair[0]}" => { principal = pair[0], scope = pair[1].scope, role = pair[1].role }
  }
}

resource "azurerm_role_assignment" "operator" {
  for_each             = local.operator_assignments
  scope                = each.value.scope
  role_definition_name = each.value.role
  principal_id         = each.value.principal
}

resource "azurerm_role_assignment" "fn_event_hubs" {
  # The function produces to Event Hubs with its managed identity (KAFKA_OAUTH_IDENTITY=managed).
  count                = var.event_hubs_namespace_id == "" ? 0 : 1
  scope                = var.event_hubs_namespace_id
  role_definition_name = "Azure Event Hubs Data Sender"
  principal_id         = azurerm_user_assigned_identity.fn.principal_id
}
