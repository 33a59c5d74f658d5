module "app" {
  source = "./inner"
}
