# The alert policies of infra/gcp/alerts (the same files deploy.sh alerts sends to gcloud), one per file, each
# linking its runbook section at var.runbook_url.
locals {
  alert_files = fileset("${path.module}/../alerts", "*.yaml")
  alerts = { for f in local.alert_files : trimsuffix(f, ".yaml") =>
  yamldecode(replace(file("${path.module}/../alerts/${f}"), "RUNBOOK_URL", var.runbook_url)) }
}

resource "google_monitoring_alert_policy" "g2k" {
  for_each              = local.alerts
  display_name          = each.value.displayName
  severity              = each.value.severity
  combiner              = each.value.combiner
  notification_channels = var.notification_channels

  documentation {
    mime_type = each.value.documentation.mimeType
    content   = each.value.documentation.content
    dynamic "links" {
      for_each = try(each.value.documentation.links, [])
      content {
        display_name = links.value.displayName
        url          = links.value.url
      }
    }
  }

  dynamic "conditions" {
    for_each = each.value.conditions
    content {
      display_name = conditions.value.displayName
      condition_prometheus_query_language {
        query               = conditions.value.conditionPrometheusQueryLanguage.query
        duration            = conditions.value.conditionPrometheusQueryLanguage.duration
        evaluation_interval = conditions.value.conditionPrometheusQueryLanguage.evaluationInterval
      }
    }
  }

  alert_strategy {
    auto_close = each.value.alertStrategy.autoClose
  }
  depends_on = [google_project_service.api]
}
