resource "random_id" "suffix" {
  byte_length = 4
}

resource "terraform_data" "named" {
  for_each = toset(["fixed", random_id.suffix.hex])
  input    = each.key
}
