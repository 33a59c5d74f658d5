# Two sites' servers move into the module that now makes one per site; a third
# site is new. The moved objects are kept, not replaced.
module "site" {
  source   = "./site"
  for_each = toset(["a", "b", "c"])
  name     = each.key
}

moved {
  from = terraform_data.web["a"]
  to   = module.site["a"].terraform_data.web
}

moved {
  from = terraform_data.web["b"]
  to   = module.site["b"].terraform_data.web
}
