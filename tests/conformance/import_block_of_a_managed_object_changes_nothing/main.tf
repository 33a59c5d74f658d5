# An import block left in the configuration after its apply: the target is in
# state already, so the plan has nothing to import.
resource "null_resource" "one" {}

import {
  to = null_resource.one
  id = "1234"
}
