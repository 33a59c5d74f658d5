resource "random_id" "token" {
  byte_length = 8
  lifecycle {
    postcondition {
      condition     = length(self.hex) == 16
      error_message = "eight bytes are sixteen hex digits."
    }
  }
}
