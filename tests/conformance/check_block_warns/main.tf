variable "replicas" { default = 1 }

check "high_availability" {
  assert {
    condition     = var.replicas > 1
    error_message = "one replica is not highly available."
  }
}

resource "terraform_data" "app" {
  input = var.replicas
}
