# The golden path: a developer lists the environments a service needs, and the
# platform's modules (../../modules) build each one: network, security group,
# artifact bucket. Adding or removing an environment touches only that one.
#
# Against moto (no AWS account needed): AWS_ENDPOINT_URL=http://127.0.0.1:PORT with
# test credentials, as tests/tests/aws.rs does.
# Against a real account: set AWS credentials and AWS_REGION, then `terrane apply`.

terraform {
  required_providers {
    aws = { source = "hashicorp/aws" }
  }
}

variable "service" {
  type    = string
  default = "shop"
}

variable "environments" {
  type = map(object({
    cidr = string
    port = optional(number, 443)
  }))
  default = {
    staging    = { cidr = "10.10.0.0/16" }
    production = { cidr = "10.20.0.0/16", port = 8443 }
  }
}

provider "aws" {
  default_tags {
    tags = { platform = "terrane" }
  }
}

# The first two zones of whatever region the provider is pointed at.
data "aws_availability_zones" "available" {
  state = "available"
}

module "service" {
  for_each = var.environments
  source   = "../../modules/service"

  name               = "${var.service}-${each.key}"
  cidr               = each.value.cidr
  port               = each.value.port
  availability_zones = slice(sort(data.aws_availability_zones.available.names), 0, 2)
  tags               = { environment = each.key }
}

output "environments" {
  value = {
    for env, svc in module.service : env => {
      vpc_id          = svc.vpc_id
      public_subnets  = svc.public_subnet_ids
      security_group  = svc.security_group_id
      artifact_bucket = svc.artifact_bucket
    }
  }
}
