resource "terraform_data" "config" { input = "a" }
resource "terraform_data" "worker" {
  input = "w"
  lifecycle {
    replace_triggered_by = [terraform_data.config]
  }
}
