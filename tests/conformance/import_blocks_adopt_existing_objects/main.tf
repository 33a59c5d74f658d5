# import blocks bring existing objects under management: a fixed target, one
# instance per for_each element, and one whose configuration differs from the
# imported object (so it is replaced, as Terraform would).
variable "ids" {
  type    = map(string)
  default = { a = "id-a", b = "id-b" }
}

locals {
  code = "abc123"
}

resource "null_resource" "one" {}

resource "null_resource" "many" {
  for_each = var.ids
}

resource "random_string" "code" {
  length = 6
}

resource "null_resource" "pinned" {
  triggers = {
    version = "2"
  }
}

import {
  to = null_resource.one
  id = "1234"
}

import {
  for_each = var.ids
  to       = null_resource.many[each.key]
  id       = each.value
}

import {
  to = random_string.code
  id = local.code
}

import {
  to = null_resource.pinned
  id = "5678"
}
