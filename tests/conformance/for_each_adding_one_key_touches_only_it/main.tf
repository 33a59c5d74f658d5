resource "terraform_data" "site" {
  for_each = toset(["a", "b", "c"])
  input    = each.key
}
