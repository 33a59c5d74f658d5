locals {
  doc = yamldecode("replicas: 3\nenabled: yes\n")
}

output "results" {
  value = {
    formatted = formatdate("YYYY-MM-DD", "2026-12-01T10:00:00Z")
    later     = timeadd("2026-12-01T10:00:00Z", "90m")
    yaml      = yamlencode({ replicas = local.doc.replicas })
    subnets   = cidrsubnets("10.0.0.0/16", 4, 4, 8)
    enabled   = local.doc.enabled
  }
}

resource "terraform_data" "stamp" {
  input = uuid()
}
