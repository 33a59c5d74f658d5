resource "terraform_data" "web" {}

moved {
  from = terraform_data.server
  to   = terraform_data.web
}
