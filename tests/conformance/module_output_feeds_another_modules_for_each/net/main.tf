variable "zones" { type = list(string) }
output "subnets" {
  value = { for i, z in var.zones : z => cidrsubnet("10.0.0.0/16", 8, i) }
}
