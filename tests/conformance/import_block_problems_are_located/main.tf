# Every problem with import blocks at once, each at its source.
resource "null_resource" "one" {}

resource "null_resource" "counted" {
  count = 2
}

import {
  to = null_resource.missing
  id = "1"
}

import {
  to = null_resource.one
  id = null_resource.counted[0].id
}

import {
  to = null_resource.counted[0]
  id = "2"
}

import {
  to = null_resource.counted[0]
  id = "3"
}

import {
  to = null_resource.counted["a"]
  id = "4"
}
