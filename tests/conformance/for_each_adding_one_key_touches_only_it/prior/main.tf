resource "terraform_data" "site" {
  for_each = toset(["a", "b"])
  input    = each.key
}
