resource "terraform_data" "server" {
  count = 3
  input = "server-${count.index}"
}

output "names" {
  value = terraform_data.server[*].input
}
