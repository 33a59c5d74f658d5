resource "terraform_data" "name" {
  input = "UPPER"
  lifecycle {
    postcondition {
      condition     = lower(self.input) == self.input
      error_message = "names are lower case."
    }
  }
}
