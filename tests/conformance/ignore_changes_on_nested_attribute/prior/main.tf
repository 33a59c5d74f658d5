resource "null_resource" "tagged" {
  triggers = { owner = "alice", env = "dev" }
  lifecycle {
    ignore_changes = [triggers["owner"]]
  }
}
