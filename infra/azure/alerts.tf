# Alert rules on graph2kafka's OpenTelemetry metrics (G2K_METRICS_EXPORTER=azure-monitor), which Application
# Insights keeps in customMetrics: one log-search rule per condition of docs/operations.md, each query returning a
# row only while its condition holds, each description linking its runbook section.

locals {
  # Counters arrive as deltas per export; valueSum adds them up over the window.
  alerts = {
    subscription-expiring = {
      summary  = "A Graph subscription expires within 24 h: the timer's renewals are failing."
      runbook  = "subscriptions-expire-or-disappear"
      severity = 1
      window   = "PT1H"
      query    = <<-KQL
        customMetrics
        | where name == "g2k.subscriptions.next_expiry"
        | summarize seconds = min(value)
        | where seconds < 86400
      KQL
    }
    renewal-failing = {
      summary  = "The renewal timer failed, or did not succeed once in 2 h."
      runbook  = "timer-runs-fail"
      severity = 1
      window   = "PT2H"
      query    = <<-KQL
        customMetrics
        | where name == "g2k.timer.runs"
        | summarize failed = sumif(valueSum, tostring(customDimensions.result) == "failed"), ok = sumif(valueSum, tostring(customDimensions.result) == "ok")
        | where failed > 0 or ok == 0
      KQL
    }
    server-errors = {
      summary  = "More than 5% of Graph's notification POSTs were answered 5xx in 10 minutes (Graph redelivers them)."
      runbook  = "notification-posts-answered-5xx"
      severity = 2
      window   = "PT10M"
      query    = <<-KQL
        customMetrics
        | where name == "g2k.posts"
        | summarize posts = sum(valueSum), errors = sumif(valueSum, tostring(customDimensions.status) startswith "5")
        | where posts > 0 and errors / posts > 0.05
      KQL
    }
    unenriched = {
      summary  = "More than 10% of the records in 15 minutes went out without their item (they are repaired later)."
      runbook  = "records-arrive-without-the-event-enriched-false"
      severity = 3
      window   = "PT15M"
      query    = <<-KQL
        customMetrics
        | where name in ("g2k.unenriched", "g2k.notifications")
        | summarize unenriched = sumif(valueSum, name == "g2k.unenriched"), produced = sumif(valueSum, name == "g2k.notifications" and tostring(customDimensions.outcome) == "produced")
        | where produced > 0 and unenriched / produced > 0.1
      KQL
    }
    dead-letters = {
      summary  = "A change was written to the dead-letter topic."
      runbook  = "records-in-the-dead-letter-topic"
      severity = 2
      window   = "PT15M"
      query    = <<-KQL
        customMetrics
        | where name == "g2k.dead_letters"
        | summarize letters = sum(valueSum)
        | where letters > 0
      KQL
    }
    endpoint-slow = {
      summary  = "More than 10% of the POSTs in 10 minutes took over 2.9 s: Graph marks the endpoint slow and delays, then drops, notifications."
      runbook  = "graph-marks-the-endpoint-slow"
      severity = 1
      window   = "PT10M"
      query    = <<-KQL
        customMetrics
        | where name in ("g2k.posts", "g2k.posts.slow")
        | summarize posts = sumif(valueSum, name == "g2k.posts"), slow = sumif(valueSum, name == "g2k.posts.slow")
        | where posts > 0 and slow / posts > 0.1
      KQL
    }
  }
}

resource "azurerm_monitor_action_group" "main" {
  count               = var.alert_email == "" ? 0 : 1
  name                = "${var.name}-alerts"
  resource_group_name = azurerm_resource_group.main.name
  short_name          = "g2k"

  email_receiver {
    name          = "operator"
    email_address = var.alert_email
  }
}

resource "azurerm_monitor_scheduled_query_rules_alert_v2" "g2k" {
  for_each             = local.alerts
  name                 = "${var.name}-${each.key}"
  display_name         = "graph2kafka ${each.key}"
  description          = "${each.value.summary} Runbook: ${var.runbook_url}#${each.value.runbook}"
  resource_group_name  = azurerm_resource_group.main.name
  location             = azurerm_resource_group.main.location
  scopes               = [azurerm_application_insights.main.id]
  severity             = each.value.severity
  evaluation_frequency = "PT5M"
  window_duration      = each.value.window

  criteria {
    query                   = each.value.query
    time_aggregation_method = "Count"
    operator                = "GreaterThan"
    threshold               = 0
    failing_periods {
      minimum_failing_periods_to_trigger_alert = 1
      number_of_evaluation_periods             = 1
    }
  }

  action {
    action_groups = azurerm_monitor_action_group.main[*].id
  }
  auto_mitigation_enabled = true
}
