variable "subnet" { type = string }
resource "terraform_data" "instance" {
  input = var.subnet
}
