variable "name" {
  type = string
}

resource "terraform_data" "web" {
  input = "web-${var.name}"
}
