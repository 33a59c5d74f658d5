module "net" {
  source = "./net"
  zones  = ["eu-west-1a", "eu-west-1b"]
}

module "app" {
  source   = "./app"
  for_each = module.net.subnets
  subnet   = each.value
}
