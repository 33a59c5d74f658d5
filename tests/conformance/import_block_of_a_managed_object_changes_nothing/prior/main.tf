resource "null_resource" "one" {}
