resource "terraform_data" "database" {
  input = "db"
}

resource "terraform_data" "app" {
  input      = "app"
  depends_on = [terraform_data.database]
}
