# Blocks generated from data: a security group's ingress rules from a map
# (with its own iterator name), and lifecycle rules whose transitions come from
# a nested dynamic block iterating over the outer block's value. Planning needs
# no AWS account: nothing is read before apply.
terraform {
  required_providers {
    aws = { source = "hashicorp/aws" }
  }
}

provider "aws" {
  region                      = "eu-west-1"
  access_key                  = "planning-only"
  secret_key                  = "planning-only"
  skip_credentials_validation = true
  skip_requesting_account_id  = true
  skip_metadata_api_check     = true
}

variable "services" {
  type = map(object({ port = number, cidrs = list(string) }))
  default = {
    https = { port = 443, cidrs = ["10.0.0.0/8", "192.168.0.0/16"] }
    ssh   = { port = 22, cidrs = ["10.1.0.0/16"] }
  }
}

variable "tiers" {
  type = list(object({ prefix = string, moves = map(number) }))
  default = [
    { prefix = "logs/", moves = { STANDARD_IA = 30, GLACIER = 90 } },
    { prefix = "tmp/", moves = {} },
  ]
}

resource "aws_security_group" "web" {
  name = "web"

  dynamic "ingress" {
    for_each = var.services
    iterator = svc
    content {
      description = svc.key
      from_port   = svc.value.port
      to_port     = svc.value.port
      protocol    = "tcp"
      cidr_blocks = svc.value.cidrs
    }
  }
}

resource "aws_s3_bucket" "data" {
  bucket = "conformance-data"
}

resource "aws_s3_bucket_lifecycle_configuration" "data" {
  bucket = aws_s3_bucket.data.id

  dynamic "rule" {
    for_each = var.tiers
    content {
      id     = "tier-${rule.key}"
      status = "Enabled"
      filter {
        prefix = rule.value.prefix
      }
      dynamic "transition" {
        for_each = rule.value.moves
        content {
          storage_class = transition.key
          days          = transition.value
        }
      }
    }
  }
}
