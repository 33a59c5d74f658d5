# The quickstart: a small environment made only of local resources, so it runs
# anywhere with no cloud account. Apply it, change `environment`, apply again.

terraform {
  required_providers {
    null   = { source = "hashicorp/null" }
    random = { source = "hashicorp/random" }
    local  = { source = "hashicorp/local" }
  }
}

variable "environment" {
  type        = string
  description = "Name of the environment; it appears in the rendered config file."
  default     = "dev"

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]*$", var.environment))
    error_message = "environment must be lower-case letters, digits and dashes."
  }
}

variable "replicas" {
  type    = number
  default = 2
}

locals {
  name = "quickstart-${var.environment}"
  labels = {
    environment = var.environment
    managed_by  = "terrane"
  }
}

resource "random_id" "suffix" {
  byte_length = 4
}

resource "random_password" "db" {
  length  = 20
  special = false
}

resource "null_resource" "replica" {
  count = var.replicas

  triggers = {
    name  = "${local.name}-${count.index}"
    group = random_id.suffix.hex
  }
}

resource "local_file" "config" {
  filename        = "${path.module}/out/${local.name}.json"
  file_permission = "0644"
  content = jsonencode({
    name     = local.name
    suffix   = random_id.suffix.hex
    replicas = [for r in null_resource.replica : r.id]
    labels   = local.labels
  })
}

output "config_file" {
  value = local_file.config.filename
}

output "replica_ids" {
  value = null_resource.replica[*].id
}

output "db_password" {
  value     = random_password.db.result
  sensitive = true
}
