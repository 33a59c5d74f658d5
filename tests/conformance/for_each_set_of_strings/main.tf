resource "terraform_data" "zone" {
  for_each = toset(["b", "a", "a", "c"])
  input    = each.value == each.key
}
