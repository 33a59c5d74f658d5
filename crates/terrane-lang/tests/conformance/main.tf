# The names the conformance cases use: an unknown string (terraform_data's
# output is known only after apply) and a sensitive one.
resource "terraform_data" "unknown" {
  input = "x"
}

locals {
  unknown = terraform_data.unknown.output
  secret  = sensitive("hunter2")
}
