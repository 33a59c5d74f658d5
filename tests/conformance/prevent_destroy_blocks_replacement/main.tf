resource "null_resource" "precious" {
  triggers = { v = "2" }
  lifecycle {
    prevent_destroy = true
  }
}
