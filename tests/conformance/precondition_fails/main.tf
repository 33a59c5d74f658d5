variable "size" { default = 3 }

resource "terraform_data" "disk" {
  input = var.size
  lifecycle {
    precondition {
      condition     = var.size >= 10
      error_message = "disks are at least 10 GB."
    }
  }
}
