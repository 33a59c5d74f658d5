resource "null_resource" "kept" {
  count = 1
  lifecycle {
    prevent_destroy = true
  }
}

resource "null_resource" "free" {
  count = 1
}
