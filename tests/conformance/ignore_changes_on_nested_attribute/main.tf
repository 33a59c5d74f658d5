resource "null_resource" "tagged" {
  triggers = { owner = "bob", env = "dev" }
  lifecycle {
    ignore_changes = [triggers["owner"]]
  }
}
