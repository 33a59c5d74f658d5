variable "service" {
  type = object({
    name     = string
    replicas = optional(number, 2)
    ports    = optional(list(number), [80])
    labels   = optional(map(string))
  })
  default = { name = "web", replicas = "3" }
}

output "service" {
  value = var.service
}
