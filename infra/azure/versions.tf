terraform {
  required_version = ">= 1.6"
  required_providers {
    azurerm = {
      source = "hashicorp/azurerm"
      # 4.x has azurerm_function_app_flex_consumption with Node 22 and 24.
      version = "~> 4.30"
    }
  }
}

provider "azurerm" {
  features {
    key_vault {
      # Keep soft-deleted secrets recoverable after a destroy.
      purge_soft_delete_on_destroy = false
    }
  }
}
