resource "null_resource" "kept" {
  count = 3
  lifecycle {
    prevent_destroy = true
  }
}

resource "null_resource" "free" {
  count = 2
}
