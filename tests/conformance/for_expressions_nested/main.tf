variable "rules" {
  default = [
    { port = 80, cidrs = ["10.0.0.0/8"] },
    { port = 443, cidrs = ["10.0.0.0/8", "192.168.0.0/16"] },
  ]
}

locals {
  rendered = [for r in var.rules : { port = r.port, sources = [for c in r.cidrs : { cidr = c }] }]
}

resource "terraform_data" "firewall" {
  input = local.rendered
}
