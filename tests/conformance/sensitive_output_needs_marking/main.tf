variable "password" {
  default   = "hunter2"
  sensitive = true
}

output "dsn" {
  value = "postgres://app:${var.password}@db"
}
