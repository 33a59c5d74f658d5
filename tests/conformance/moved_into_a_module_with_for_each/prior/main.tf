resource "terraform_data" "web" {
  for_each = toset(["a", "b"])
  input    = "web-${each.key}"
}
