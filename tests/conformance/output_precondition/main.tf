variable "port" { default = 22 }

output "endpoint" {
  value = "host:${var.port}"
  precondition {
    condition     = var.port != 22
    error_message = "do not publish the SSH port."
  }
}
