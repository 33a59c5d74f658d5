variable "version_tag" { default = "v2" }
resource "null_resource" "image" {
  triggers = { version = var.version_tag }
  lifecycle {
    create_before_destroy = true
  }
}
resource "null_resource" "server" {
  triggers = { image = null_resource.image.id }
}
