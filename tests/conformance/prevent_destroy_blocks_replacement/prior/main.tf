resource "null_resource" "precious" {
  triggers = { v = "1" }
  lifecycle {
    prevent_destroy = true
  }
}
