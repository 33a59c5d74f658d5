resource "terraform_data" "config" { input = "b" }
resource "terraform_data" "worker" {
  input = "w"
  lifecycle {
    replace_triggered_by = [terraform_data.config]
  }
}
