# A VPC laid out over availability zones: one public and one private subnet per
# zone, carved from the VPC's CIDR with cidrsubnet, and a route to the internet
# for the public ones.

variable "name" {
  type        = string
  description = "Prefix for every Name tag."
}

variable "cidr" {
  type        = string
  description = "The VPC's address range, e.g. 10.0.0.0/16."

  validation {
    condition     = can(cidrnetmask(var.cidr))
    error_message = "cidr must be an IPv4 CIDR block such as 10.0.0.0/16."
  }
}

variable "availability_zones" {
  type        = list(string)
  description = "Zones to spread subnets over, one public and one private subnet in each."

  validation {
    condition     = length(var.availability_zones) > 0
    error_message = "availability_zones needs at least one zone."
  }
}

variable "subnet_newbits" {
  type        = number
  default     = 4
  description = "Bits added to the VPC's prefix for each subnet (4 makes /20s out of a /16)."
}

variable "tags" {
  type    = map(string)
  default = {}
}

locals {
  # Zone name -> position, so each zone keeps its subnets when others are added.
  zones = { for i, az in var.availability_zones : az => i }
}

resource "aws_vpc" "this" {
  cidr_block           = var.cidr
  enable_dns_hostnames = true
  tags                 = merge(var.tags, { Name = var.name })
}

resource "aws_subnet" "public" {
  for_each = local.zones

  vpc_id                  = aws_vpc.this.id
  availability_zone       = each.key
  cidr_block              = cidrsubnet(var.cidr, var.subnet_newbits, each.value)
  map_public_ip_on_launch = true
  tags                    = merge(var.tags, { Name = "${var.name}-public-${each.key}" })
}

resource "aws_subnet" "private" {
  for_each = local.zones

  vpc_id            = aws_vpc.this.id
  availability_zone = each.key
  cidr_block        = cidrsubnet(var.cidr, var.subnet_newbits, each.value + length(var.availability_zones))
  tags              = merge(var.tags, { Name = "${var.name}-private-${each.key}" })
}

resource "aws_internet_gateway" "this" {
  vpc_id = aws_vpc.this.id
  tags   = merge(var.tags, { Name = var.name })
}

resource "aws_route_table" "public" {
  vpc_id = aws_vpc.this.id
  tags   = merge(var.tags, { Name = "${var.name}-public" })
}

resource "aws_route" "internet" {
  route_table_id         = aws_route_table.public.id
  destination_cidr_block = "0.0.0.0/0"
  gateway_id             = aws_internet_gateway.this.id
}

resource "aws_route_table_association" "public" {
  for_each = aws_subnet.public

  subnet_id      = each.value.id
  route_table_id = aws_route_table.public.id
}

output "vpc_id" {
  value = aws_vpc.this.id
}

output "cidr" {
  value = aws_vpc.this.cidr_block
}

output "public_subnet_ids" {
  description = "Zone -> subnet id."
  value       = { for az, s in aws_subnet.public : az => s.id }
}

output "private_subnet_ids" {
  description = "Zone -> subnet id."
  value       = { for az, s in aws_subnet.private : az => s.id }
}
