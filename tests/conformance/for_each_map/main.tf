variable "buckets" {
  default = { logs = "30", assets = "90" }
}

resource "terraform_data" "bucket" {
  for_each = var.buckets
  input    = "${each.key} keeps ${each.value} days"
}
