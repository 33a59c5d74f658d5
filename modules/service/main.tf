# A service's environment: its own network, a security group that admits its
# port, and a bucket for its artifacts. Developers call this module; they never
# need to know how the network is laid out.

variable "name" {
  type        = string
  description = "Service and environment, e.g. shop-staging. Lower-case letters, digits and dashes."

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{2,40}$", var.name))
    error_message = "name must be 3 to 41 lower-case letters, digits and dashes, starting with a letter."
  }
}

variable "cidr" {
  type        = string
  description = "Address range of the service's VPC."
}

variable "availability_zones" {
  type    = list(string)
  default = ["us-east-1a", "us-east-1b"]
}

variable "port" {
  type        = number
  default     = 443
  description = "The port clients reach the service on."
}

variable "tags" {
  type    = map(string)
  default = {}
}

locals {
  tags = merge(var.tags, { service = var.name, managed_by = "terrane" })
}

module "network" {
  source = "../network"

  name               = var.name
  cidr               = var.cidr
  availability_zones = var.availability_zones
  tags               = local.tags
}

resource "aws_security_group" "service" {
  name        = "${var.name}-service"
  description = "Clients of ${var.name}"
  vpc_id      = module.network.vpc_id
  tags        = local.tags

  ingress {
    description = "service port"
    from_port   = var.port
    to_port     = var.port
    protocol    = "tcp"
    cidr_blocks = ["0.0.0.0/0"]
  }

  egress {
    from_port   = 0
    to_port     = 0
    protocol    = "-1"
    cidr_blocks = ["0.0.0.0/0"]
  }
}

resource "aws_s3_bucket" "artifacts" {
  bucket = "${var.name}-artifacts"
  tags   = local.tags
}

output "vpc_id" {
  value = module.network.vpc_id
}

output "public_subnet_ids" {
  value = module.network.public_subnet_ids
}

output "private_subnet_ids" {
  value = module.network.private_subnet_ids
}

output "security_group_id" {
  value = aws_security_group.service.id
}

output "artifact_bucket" {
  value = aws_s3_bucket.artifacts.bucket
}
